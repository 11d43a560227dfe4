"""eels_ae: deep-learning spectral analysis of EELS spectrum images in HyperSpy.

``import eels_ae`` once, then use the eels_ae algorithm names in HyperSpy::

    import hyperspy.api as hs
    import eels_ae

    s = hs.load("spectrum_image.dm4")
    s.decomposition(algorithm="daeu", output_dimension=3)
    s.plot_decomposition_results()

The estimators (:class:`DAEU`, :class:`VCA`, :class:`NFINDR`, ...) also work
on numpy and dask arrays without HyperSpy, with the scikit-learn API.
"""

from . import data, metrics
from .estimators import (
    CNNAEU,
    DAEU,
    MTAEU,
    NFINDR,
    RVAE,
    UDAS,
    VAE,
    VAEU,
    VCA,
    DenoisingAE,
    DriftAwareUnmixing,
    EnsembleUnmixing,
    LatentClassifier,
)
from .hyperspy_glue import (
    ALGORITHMS,
    apply_model,
    compare,
    fit_references,
    install,
    plot_uncertainty,
    register_algorithm,
)
from .model_files import ModelFileError, load_model, model_info
from .rank import estimate_n_components

__version__ = "0.1.0"

__all__ = [
    "ALGORITHMS",
    "CNNAEU",
    "DAEU",
    "DenoisingAE",
    "DriftAwareUnmixing",
    "EnsembleUnmixing",
    "LatentClassifier",
    "MTAEU",
    "ModelFileError",
    "NFINDR",
    "RVAE",
    "UDAS",
    "VAE",
    "VAEU",
    "VCA",
    "apply_model",
    "compare",
    "data",
    "estimate_n_components",
    "fit_references",
    "plot_uncertainty",
    "load_model",
    "metrics",
    "model_info",
    "register_algorithm",
]

install()
