"""The shared training engine: devices, seeding, the training loop."""

from .callbacks import EpochEnd, ProgressBarCallback, StopAfter
from .devices import resolve_device
from .engine import TrainingResult, predict_in_batches, train
from .progress import progress_bar, resolve_show_progressbar
from .seeding import seed_sequence, torch_seeded

__all__ = [
    "EpochEnd",
    "ProgressBarCallback",
    "StopAfter",
    "TrainingResult",
    "predict_in_batches",
    "progress_bar",
    "resolve_device",
    "resolve_show_progressbar",
    "seed_sequence",
    "torch_seeded",
    "train",
]
