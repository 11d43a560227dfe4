"""Epoch-end hooks of the training engine: progress bars, user callbacks, GUIs."""

from __future__ import annotations

from dataclasses import dataclass

from .progress import progress_bar

__all__ = ["EpochEnd", "ProgressBarCallback", "StopAfter", "call_hook"]


@dataclass
class EpochEnd:
    """What a callback learns at the end of an epoch.

    Attributes
    ----------
    epoch : int
        Index of the epoch just finished, from 0 (-1 in ``on_train_begin``).
    loss : float
        Its mean training loss.
    elapsed : float
        Seconds since this training phase started.
    max_epochs : int
        Epochs this phase runs at most.
    warming_up : bool
        True during a model's warm-up epochs (not kept as the best ones).
    phase : str
        Which training this is (e.g. ``"DAEU 1/3 (encoder)"``): an estimator
        may train in several phases (warm-up, restarts).
    """

    epoch: int
    loss: float
    elapsed: float
    max_epochs: int
    warming_up: bool = False
    phase: str = ""
    stop_requested: bool = False

    def stop(self):
        """End training after this epoch; the best weights so far are kept."""
        self.stop_requested = True

    def record(self) -> dict:
        """The epoch as a plain dict (one row of ``history_``)."""
        return {
            "epoch": self.epoch,
            "loss": self.loss,
            "elapsed": self.elapsed,
            "warming_up": self.warming_up,
            "phase": self.phase,
        }


def call_hook(obj, name, arg):
    """Call ``obj.name(arg)`` if the callback has that method."""
    method = getattr(obj, name, None)
    if callable(method):
        method(arg)


class ProgressBarCallback:
    """The tqdm progress bar of a training phase, driven by the epoch hook."""

    def __init__(self, show_progressbar=None):
        self.show = show_progressbar
        self.bar = None

    def on_train_begin(self, info):
        self.bar = progress_bar(total=info.max_epochs, desc=info.phase, show=self.show)

    def __call__(self, info):
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{info.loss:.4g}")

    def on_train_end(self, result):
        if self.bar is None:
            return
        if result.stopped_early or result.stopped:
            # Ended before max_epochs on purpose: the bar says so and closes
            # full, rather than stopping half way as a crash would.
            why = "stopped early" if result.stopped_early else "stopped"
            self.bar.set_postfix_str(f"{why} at epoch {result.n_epochs}", refresh=False)
            self.bar.total = self.bar.n
            self.bar.refresh()
        self.bar.close()


class StopAfter:
    """A callback that stops training after ``seconds`` or at a loss.

    Parameters
    ----------
    seconds : float, optional
        Wall-clock budget of one training phase.
    loss : float, optional
        Stop once the epoch loss is at or below this value.
    """

    def __init__(self, seconds=None, loss=None):
        self.seconds = seconds
        self.loss = loss

    def __call__(self, info):
        if self.seconds is not None and info.elapsed >= self.seconds:
            info.stop()
        if self.loss is not None and info.loss <= self.loss:
            info.stop()
