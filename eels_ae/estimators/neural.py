"""The template every neural (torch) estimator of eels_ae follows.

:class:`NeuralEstimator.fit` runs one fixed sequence:

1. check the parameters against their declared constraints (one wording,
   :func:`eels_ae.validation.check_parameters`);
2. ``_prepare(X, ...)``: check the data, set the fitted input attributes
   (``n_features_in_``, ``scale_``, ``energy_axis_``) and return a
   :class:`TrainingData` (the stream of samples and how many there are);
3. for each restart (``_n_restarts()``, seeds from ``random_state``):
   ``_build(data, rng)`` makes the torch module (which owns its loss), an
   optional ``_warm_up(module, run, desc)`` trains part of it, then the
   shared engine (:func:`eels_ae.training.train`) trains it; the lowest
   loss wins;
4. the fitted attributes every neural estimator has (``model_``,
   ``device_``, ``loss_curve_``, ``n_epochs_``, ``best_loss_``,
   ``init_losses_``, ``history_``), then ``_finish(data)`` for what the
   estimator extracts (endmembers, latent usage, ...).

A subclass declares its parameters once (``_model_params``: name ->
default; the training parameters and their docstring are shared) and their
constraints (``_constraints``); its keyword-only ``__init__`` is generated
from them (:class:`~eels_ae.estimators.declared.DeclaredParamsMixin`), as
scikit-learn expects (it only stores the parameters).
"""

from __future__ import annotations

import functools
import inspect
import textwrap
from dataclasses import dataclass, field

from sklearn.base import BaseEstimator, TransformerMixin

from ..model_files import ModelFileMixin
from ..training import resolve_device, seed_sequence, torch_seeded, train
from ..training.threads import single_blas_thread
from ..validation import Callables, Either, Interval, Options, SeedLike, warn
from .declared import DeclaredParamsMixin

__all__ = [
    "NeuralEstimator",
    "TRAINING_CONSTRAINTS",
    "TRAINING_PARAMS",
    "TRAINING_PARAMS_DOC",
    "TrainingData",
]

#: The training parameters every neural estimator has, in constructor order,
#: with the defaults a subclass does not override.
TRAINING_PARAMS = {
    "max_epochs": 100,
    "batch_size": 64,
    "learning_rate": 1e-3,
    "optimizer": "adam",
    "tol": 1e-4,
    "n_iter_no_change": 5,
    "device": "auto",
    "random_state": None,
    "show_progressbar": None,
    "callbacks": None,
}

#: Their constraints (``device`` is checked when it is resolved).
TRAINING_CONSTRAINTS = {
    "max_epochs": Interval("int", 1),
    "batch_size": Interval("int", 1),
    "learning_rate": Interval("real", 0, None, closed="neither"),
    "optimizer": Options(("adam", "rmsprop")),
    "tol": Either((Options((None,)), Interval("real", 0))),
    "n_iter_no_change": Interval("int", 1),
    "random_state": SeedLike(),
    "show_progressbar": Options((None, True, False)),
    "callbacks": Callables(),
}

TRAINING_PARAMS_DOC = """\
    max_epochs : int
        Passes over the data at most.
    batch_size : int
        Samples per optimisation step. Larger than the data: clipped to the
        number of samples (with a warning).
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


@dataclass
class TrainingData:
    """What ``_prepare`` hands to the rest of ``fit``.

    Attributes
    ----------
    stream : RowStream or BandStream
        Mini-batches of samples for the engine.
    n_samples : int
        Samples per epoch (``batch_size`` is clipped to it).
    extra : dict
        Anything the estimator's ``_build`` and ``_finish`` need.
    """

    stream: object
    n_samples: int
    extra: dict = field(default_factory=dict)


#: Documentation of the axis keywords ``fit`` may take (see ``_prepare``).
_AXES_DOC = {
    "energy_axis": """\
    energy_axis : dict, optional
        ``offset``, ``scale``, ``size``, ``units``, ``name`` of the energy axis
        of an array ``X`` (a signal's own axis is used for a signal): kept in
        ``energy_axis_`` and in model files, so that data on another axis are
        refused later.
""",
    "navigation_shape": """\
    navigation_shape : (int, int), optional
        ``(rows, columns)`` of spectra given as ``(pixels, channels)``: pixels
        are then named ``(x, y)`` in messages and, for spatial models, have
        neighbours.
""",
}


def _documented_fit(cls):
    """``NeuralEstimator.fit`` with a docstring saying what this class takes."""
    axes = [
        name for name in inspect.signature(cls._prepare).parameters if name in _AXES_DOC
    ]

    def fit(self, X, y=None, **axes_given):
        return NeuralEstimator.fit(self, X, y, **axes_given)

    fit.__doc__ = (
        f"Train the {cls.__name__} on ``X``.\n\n    Parameters\n    ----------\n"
        + textwrap.indent(cls._fit_input_doc, "    ")
        + "    y : ignored\n"
        + "".join(_AXES_DOC[a] for a in axes)
        + "\n    Returns\n    -------\n    self\n"
    )
    fit.__qualname__ = f"{cls.__name__}.fit"
    fit.__module__ = cls.__module__
    return fit


class NeuralEstimator(
    DeclaredParamsMixin, ModelFileMixin, TransformerMixin, BaseEstimator
):
    """Base class of the neural estimators: the fixed ``fit`` sequence.

    Subclasses set ``_model_params``, ``_constraints``, ``_training_defaults``
    and ``_progress_label``, and implement ``_prepare``, ``_build`` and
    (optionally) ``_warm_up``, ``_n_restarts`` and ``_finish``. Ctrl-C during
    training stops cleanly and keeps the best weights so far.
    """

    #: Training defaults that differ from :data:`TRAINING_PARAMS`.
    _training_defaults: dict = {}
    #: Label of the progress bar and of the epoch records' ``phase``.
    _progress_label = "Training"
    #: What a training sample is called in messages.
    _sample_unit = "spectra"

    #: What ``X`` of ``fit`` is (numpydoc text, indented for a parameter).
    _fit_input_doc = "X : array-like or dask array\n"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_fit_input_doc" in cls.__dict__ or "_prepare" in cls.__dict__:
            cls.fit = _documented_fit(cls)

    @classmethod
    def _all_params(cls) -> dict:
        params = dict(cls._model_params)
        for name, default in TRAINING_PARAMS.items():
            params[name] = cls._training_defaults.get(name, default)
        return params

    @classmethod
    def _all_constraints(cls) -> dict:
        return {**TRAINING_CONSTRAINTS, **cls._constraints}

    # -- the fixed sequence ------------------------------------------------
    @single_blas_thread
    def fit(self, X, y=None, **axes):
        """Train on ``X`` (see the class documentation for what ``X`` is).

        Parameters
        ----------
        X : array-like or dask array
        y : ignored
        **axes
            Axis information the estimator accepts (``energy_axis``,
            ``navigation_shape``), see its ``_prepare``.

        Returns
        -------
        self
        """
        self._check_parameters()
        data = self._prepare(X, **axes)
        batch_size, device = self._training_setup(data.n_samples)
        n = self._n_restarts()
        best = None
        self.init_losses_ = []
        for i, seed in enumerate(seed_sequence(self.random_state, n)):
            desc = self._progress_label + (f" {i + 1}/{n}" if n > 1 else "")
            with torch_seeded(seed, device) as rng:
                module = self._build(data, rng)
                run = functools.partial(
                    self._run_training,
                    module,
                    data.stream,
                    batch_size=batch_size,
                    device=device,
                    rng=rng,
                )
                result = self._train(module, run, desc)
            self.init_losses_.append(float(result.best_loss))
            if best is None or result.best_loss < best[1].best_loss:
                best = (module, result)
            if result.ended_by_user:
                break
        self.model_, result = best
        self._finalise_training(result, device)
        self._finish(data)
        return self

    def _train(self, module, run, desc):
        """Optional warm-up, then the main training; one merged result."""
        warm = self._warm_up(module, run, desc)
        if warm is not None and warm.ended_by_user:
            # Ctrl-C or a callback's stop during the warm-up ends the fit.
            return warm
        result = run(desc=desc)
        if warm is not None:
            result.loss_curve = warm.loss_curve + result.loss_curve
            result.history = warm.history + result.history
            result.n_epochs += warm.n_epochs
        return result

    # -- what subclasses implement --------------------------------------------
    def _prepare(self, X, **axes):  # pragma: no cover - abstract
        raise NotImplementedError

    def _build(self, data, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def _warm_up(self, module, run, desc):
        """Train part of ``module`` first (``run(desc=..., max_epochs=...,
        tol=...)``); return its result, or ``None`` for no warm-up."""
        return None

    def _n_restarts(self):
        return 1

    def _finish(self, data):
        """Fitted attributes extracted after training (``model_`` is set)."""

    # -- shared pieces ---------------------------------------------------------
    def _training_setup(self, n_samples):
        """Batch size (clipped to the samples) and the training device."""
        batch_size = int(self.batch_size)
        if batch_size > n_samples:
            warn(
                f"batch_size={batch_size} is larger than the {n_samples} "
                f"{self._sample_unit}: "
                f"using batches of {n_samples}.",
            )
            batch_size = n_samples
        if batch_size < 2:
            raise ValueError(
                f"{type(self).__name__}: batch_size must be at least 2 (batch "
                f"normalisation), but there are only {n_samples} {self._sample_unit} "
                f"to train on (n_samples={n_samples})."
            )
        return batch_size, resolve_device(self.device)

    def _run_training(
        self,
        model,
        stream,
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
        cbs = self.callbacks
        if cbs is None:
            return []
        return [cbs] if callable(cbs) else list(cbs)

    def _finalise_training(self, result, device):
        """The fitted attributes every neural estimator has after training."""
        self.device_ = device
        self.loss_curve_ = list(result.loss_curve)
        self.n_epochs_ = int(result.n_epochs)
        self.best_loss_ = float(result.best_loss)
        self.history_ = list(result.history)
        # This process's share under torchrun (all the samples alone).
        self.samples_per_epoch_ = int(result.samples_seen)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags
