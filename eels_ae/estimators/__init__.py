"""scikit-learn estimators: usable on numpy/dask arrays, without HyperSpy."""

from .base import UnmixingEstimator
from .classifier import LatentClassifier
from .cnnaeu import CNNAEU
from .daeu import DAEU
from .denoising import DenoisingAE
from .drift import DriftAwareUnmixing
from .ensemble import EnsembleUnmixing
from .mtaeu import MTAEU
from .nfindr import NFINDR
from .rvae import RVAE
from .udas import UDAS
from .vae import VAE
from .vaeu import VAEU
from .vca import VCA

__all__ = [
    "CNNAEU",
    "DAEU",
    "MTAEU",
    "UDAS",
    "VAEU",
    "DenoisingAE",
    "DriftAwareUnmixing",
    "EnsembleUnmixing",
    "LatentClassifier",
    "NFINDR",
    "RVAE",
    "UnmixingEstimator",
    "VAE",
    "VCA",
]
