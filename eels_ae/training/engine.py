"""The one training loop every neural estimator of eels_ae uses."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..validation import warn
from .callbacks import EpochEnd, ProgressBarCallback, call_hook
from .data_parallel import DataParallel, local_device
from .threads import ThreadGovernor

__all__ = ["TrainingResult", "train"]


@dataclass
class TrainingResult:
    """What a call to :func:`train` did.

    Attributes
    ----------
    loss_curve : list of float
        Mean training loss of each completed epoch.
    n_epochs : int
        Number of completed epochs.
    best_loss : float
        Lowest epoch loss; the model holds the weights of that epoch.
    best_epoch : int
        Index (from 0) of that epoch.
    stopped_early : bool
        True if ``tol`` stopped training before ``max_epochs``.
    interrupted : bool
        True if the user pressed Ctrl-C.
    stopped : bool
        True if a callback asked to stop (:meth:`EpochEnd.stop`).
    history : list of dict
        One record per epoch: ``epoch``, ``loss``, ``elapsed`` (seconds since
        the start of this call), ``warming_up`` and ``phase``.
    samples_seen : int
        Samples this process trained on in the last epoch (its share under
        ``torchrun``: :mod:`eels_ae.training.data_parallel`).
    """

    loss_curve: list = field(default_factory=list)
    n_epochs: int = 0
    best_loss: float = math.inf
    best_epoch: int = -1
    stopped_early: bool = False
    interrupted: bool = False
    stopped: bool = False
    history: list = field(default_factory=list)
    samples_seen: int = 0

    @property
    def ended_by_user(self) -> bool:
        """Ctrl-C or a callback's stop: later phases should not start."""
        return self.interrupted or self.stopped


def train(
    model,
    stream,
    *,
    max_epochs,
    batch_size,
    learning_rate,
    device,
    rng,
    optimizer="adam",
    tol=1e-4,
    n_iter_no_change=5,
    show_progressbar=None,
    desc="Training",
    callbacks=None,
):
    """Train ``model`` on mini-batches from ``stream``; keep the best weights.

    Parameters
    ----------
    model : torch.nn.Module
        It owns its loss: ``model.loss(batch) -> scalar tensor``. If it has a
        ``project_()`` method, it is called after every optimiser step (projected
        gradient: e.g. non-negative decoder weights). If it has
        ``parameter_groups(learning_rate)``, that gives the optimiser's parameter
        groups (per-group learning rates); frozen parameters (``requires_grad=False``)
        are not trained. If it has ``start_epoch(epoch)``, that is called before each
        epoch (a curriculum); while its ``warming_up`` attribute is true, epochs are
        neither kept as the best nor counted for early stopping.
    stream : eels_ae.streaming.RowStream
        Source of the mini-batches (numpy arrays of float32).
    max_epochs, batch_size : int
    learning_rate : float
    device : torch.device
    rng : numpy.random.Generator
        Shuffles blocks and rows; seeded by the estimator.
    optimizer : {"adam", "rmsprop"}
    tol : float or None
        Stop when the epoch loss has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs (scikit-learn's convention).
        ``None`` always trains ``max_epochs`` epochs.
    n_iter_no_change : int
    show_progressbar : bool or None
        ``None`` follows ``hs.preferences.General.show_progressbar``.
    desc : str
        Label of the progress bar (and ``phase`` of the epoch records).
    callbacks : sequence of callable, optional
        Each is called as ``callback(info)`` at the end of every epoch with
        an :class:`~eels_ae.training.EpochEnd` (epoch, loss, elapsed time,
        ``info.stop()`` to end training after this epoch, keeping the best
        weights). Objects may also have ``on_train_begin(info)`` and
        ``on_train_end(result)``. The progress bar is one of them.

    Returns
    -------
    TrainingResult
    """
    device = local_device(device)
    model.to(device)
    # Under torchrun: DDP, each process on its share of the data.
    parallel = DataParallel(model, device)
    if parallel.active and parallel.shard[0] != 0:
        show_progressbar = False  # one progress bar, rank 0's
    # A model may ask for per-group learning rates (e.g. a slower decoder).
    if hasattr(model, "parameter_groups"):
        params = model.parameter_groups(learning_rate)
    else:
        params = [p for p in model.parameters() if p.requires_grad]
    opt = _make_optimizer(optimizer, params, learning_rate)
    result = TrainingResult()
    best_state = None
    no_improvement = 0
    hooks = [ProgressBarCallback(show_progressbar), *(callbacks or ())]
    start = time.perf_counter()
    governor = ThreadGovernor(device)
    begin = EpochEnd(-1, math.nan, 0.0, max_epochs=max_epochs, phase=desc)
    for hook in hooks:
        call_hook(hook, "on_train_begin", begin)
    try:
        for epoch in range(max_epochs):
            if hasattr(model, "start_epoch"):
                model.start_epoch(epoch)
            model.train()
            total, count = 0.0, 0
            with parallel.join():
                for batch in _batches(stream, batch_size, rng, parallel.shard):
                    governor.check()
                    x = torch.from_numpy(batch).to(device, non_blocking=True)
                    loss = parallel.loss(x)
                    if not torch.isfinite(loss):
                        raise FloatingPointError(
                            f"the training loss became {loss.item()} at epoch "
                            f"{epoch}: lower learning_rate, or check the data for "
                            "extreme values."
                        )
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    if hasattr(model, "project_"):
                        model.project_()
                    total += loss.item() * len(batch)
                    count += len(batch)
            result.samples_seen = count
            total, count, _ = parallel.epoch_totals(total, count, False)
            # An epoch that drew no sample has no loss: never a "best" of 0.
            epoch_loss = total / count if count else math.nan
            result.loss_curve.append(epoch_loss)
            result.n_epochs = epoch + 1
            warming = bool(getattr(model, "warming_up", False))
            info = EpochEnd(
                epoch=epoch,
                loss=epoch_loss,
                elapsed=time.perf_counter() - start,
                max_epochs=max_epochs,
                warming_up=warming,
                phase=desc,
            )
            result.history.append(info.record())
            for hook in hooks:
                hook(info)
            # Every process stops when one is asked to (they must agree).
            _, _, stop = parallel.epoch_totals(0.0, 0, info.stop_requested)
            if stop:
                result.stopped = True
            if warming or not count:
                if result.stopped:
                    break
                continue
            if epoch_loss < result.best_loss - (tol or 0.0):
                no_improvement = 0
            else:
                no_improvement += 1
            if epoch_loss < result.best_loss:
                result.best_loss, result.best_epoch = epoch_loss, epoch
                best_state = copy.deepcopy(model.state_dict())
            if result.stopped:
                break
            if tol is not None and no_improvement >= n_iter_no_change:
                result.stopped_early = True
                break
    except KeyboardInterrupt:
        result.interrupted = True
        warn(
            f"Training interrupted after {result.n_epochs} epoch(s); keeping the "
            "best weights so far.",
        )
    finally:
        governor.restore()
        for hook in hooks:
            call_hook(hook, "on_train_end", result)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result


def _batches(stream, batch_size, rng, shard):
    """The stream's mini-batches, or this process's share of them."""
    if shard is None:
        return stream.batches(batch_size, rng)
    return stream.batches(batch_size, rng, shard=shard)


def _make_optimizer(name, params, lr):
    name = str(name).lower()
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"optimizer={name!r} is not known: use 'adam' or 'rmsprop'.")


def predict_in_batches(fn, source, device, batch_rows=65536):
    """Run ``fn`` over the rows of ``source`` in batches, without gradients.

    The one batched inference of eels_ae: every estimator encodes, decodes
    and reconstructs through it.

    Parameters
    ----------
    fn : callable
        Takes one tensor per input array (a batch of rows, on ``device``) and
        returns a tensor, or a tuple or dict of tensors.
    source : eels_ae.streaming.RowStream, array, or tuple of arrays
        A stream is read block by block, each block divided by its
        ``scale``; arrays (numpy, same length) are cut along their first
        axis as they are.
    device : torch.device
    batch_rows : int
        Rows per call of ``fn``.

    Returns
    -------
    numpy.ndarray, or a tuple or dict of them (as ``fn`` returns)
        The outputs of all rows, in order.
    """
    if hasattr(source, "blocks"):
        blocks = ((block, source.scale) for _, block in source.blocks())
    else:
        blocks = [(source, None)]
    outputs = []
    # Inference on large images is long too: the same thread governing as in
    # training, so two processes on one machine do not oversubscribe it.
    governor = ThreadGovernor(device)
    with torch.no_grad(), governor:
        for block, scale in blocks:
            arrays = block if isinstance(block, tuple) else (block,)
            for lo in range(0, len(arrays[0]), batch_rows):
                xs = [
                    torch.from_numpy(np.ascontiguousarray(a[lo : lo + batch_rows])).to(
                        device
                    )
                    for a in arrays
                ]
                if scale is not None:
                    xs = [x / scale for x in xs]
                governor.check()
                outputs.append(_to_numpy(fn(*xs)))
    return _concatenate(outputs)


def _to_numpy(out):
    if isinstance(out, dict):
        return {k: v.cpu().numpy() for k, v in out.items()}
    if isinstance(out, tuple):
        return tuple(v.cpu().numpy() for v in out)
    return out.cpu().numpy()


def _concatenate(outputs):
    if not outputs:
        return np.zeros((0,), np.float32)
    first = outputs[0]
    if isinstance(first, dict):
        return {k: np.concatenate([o[k] for o in outputs]) for k in first}
    if isinstance(first, tuple):
        return tuple(np.concatenate(parts) for parts in zip(*outputs, strict=True))
    return np.concatenate(outputs, axis=0)
