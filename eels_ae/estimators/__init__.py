"""scikit-learn estimators: usable on numpy/dask arrays, without HyperSpy."""

from .base import UnmixingEstimator
from .daeu import DAEU
from .vca import VCA

__all__ = ["DAEU", "UnmixingEstimator", "VCA"]
