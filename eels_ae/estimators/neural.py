"""Parameters and helpers shared by every neural (torch) estimator."""

from __future__ import annotations

import numbers
import warnings

from ..training import resolve_device, train

__all__ = ["NeuralEstimatorMixin", "TRAINING_PARAMS_DOC"]

TRAINING_PARAMS_DOC = """\
    max_epochs : int
        Passes over the data at most.
    batch_size : int
        Spectra per optimisation step. Larger than the data: clipped to the
        number of spectra (with a warning).
    learning_rate : float
        Step size of the optimiser.
    optimizer : {"adam", "rmsprop"}
        The optimiser.
    tol : float or None
        Early stopping: stop when the epoch loss has not improved by ``tol``
        for ``n_iter_no_change`` epochs. ``None`` trains all ``max_epochs``.
    n_iter_no_change : int
    device : {"auto", "cpu", "cuda", "cuda:N"}, default "auto"
        Where to train; ``"auto"`` picks CUDA when PyTorch sees a GPU.
    random_state : int, RandomState instance or None
        Seeds weights, initialisation, shuffling and dropout: the same seed
        gives the same result on the CPU.
    show_progressbar : bool or None
        ``None`` follows ``hs.preferences.General.show_progressbar``.
    callbacks : sequence of callable, optional
        Called at the end of every epoch with an
        :class:`eels_ae.training.EpochEnd` (``epoch``, ``loss``, ``elapsed``,
        ``phase``); ``info.stop()`` ends training cleanly, keeping the best
        weights (see :class:`eels_ae.training.StopAfter`). Not saved in
        model files.
"""


class NeuralEstimatorMixin:
    """Runs the shared training engine with the estimator's parameters.

    Ctrl-C during training stops cleanly and keeps the best weights so far.
    """

    def _check_training_params(self, n_samples):
        for name in ("max_epochs", "batch_size", "n_iter_no_change"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}.")
        batch_size = int(self.batch_size)
        if batch_size > n_samples:
            warnings.warn(
                f"batch_size={batch_size} is larger than the {n_samples} spectra: "
                f"using batches of {n_samples}.",
                UserWarning,
                stacklevel=4,
            )
            batch_size = n_samples
        if batch_size < 2:
            raise ValueError("batch_size must be at least 2 (batch normalisation).")
        return batch_size, resolve_device(self.device)

    def _run_training(
        self,
        model,
        stream,
        loss_fn,
        *,
        batch_size,
        device,
        rng,
        desc,
        max_epochs=None,
        tol="default",
    ):
        return train(
            model,
            stream,
            loss_fn,
            max_epochs=int(self.max_epochs if max_epochs is None else max_epochs),
            batch_size=batch_size,
            learning_rate=float(self.learning_rate),
            optimizer=self.optimizer,
            tol=self.tol if tol == "default" else tol,
            n_iter_no_change=int(self.n_iter_no_change),
            device=device,
            rng=rng,
            show_progressbar=self.show_progressbar,
            desc=desc,
            callbacks=self._callbacks(),
        )

    def _callbacks(self):
        cbs = getattr(self, "callbacks", None)
        if cbs is None:
            return []
        cbs = [cbs] if callable(cbs) else list(cbs)
        bad = [c for c in cbs if not callable(c)]
        if bad:
            raise TypeError(
                f"callbacks must be callables taking an EpochEnd, got {bad[0]!r}."
            )
        return cbs

    def _finalise_training(self, result, device):
        """The fitted attributes every neural estimator has after training."""
        self.device_ = device
        self.loss_curve_ = list(result.loss_curve)
        self.n_epochs_ = int(result.n_epochs)
        self.best_loss_ = float(result.best_loss)
        self.history_ = list(result.history)
