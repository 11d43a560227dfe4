"""scikit-learn estimators: usable on numpy/dask arrays, without HyperSpy."""

from .base import UnmixingEstimator
from .classifier import LatentClassifier
from .daeu import DAEU
from .denoising import DenoisingAE
from .drift import DriftAwareUnmixing
from .nfindr import NFINDR
from .rvae import RVAE
from .vae import VAE
from .vca import VCA

__all__ = [
    "DAEU",
    "DenoisingAE",
    "DriftAwareUnmixing",
    "LatentClassifier",
    "NFINDR",
    "RVAE",
    "UnmixingEstimator",
    "VAE",
    "VCA",
]
