"""Everything that touches HyperSpy: algorithm names in ``decomposition`` and
the methods eels_ae adds to 1-D signals (``s.denoise_ae``)."""

from ..spectrum_image import register_signal_adapter
from ..training import progress
from . import decomposition, signal_methods
from .adapters import signal_to_spectrum_image
from .apply import apply_model, install_save_hook, uninstall_save_hook
from .compare import Comparison, compare
from .compat import show_progressbar_preference
from .decomposition import ALGORITHMS, make_estimator, register_algorithm
from .references import ReferenceFit, fit_references
from .result_figures import plot_uncertainty
from .rvae_results import RVAEResult
from .signal_methods import SIGNAL_METHODS
from .vae_results import VAEResult

#: The generated signal methods, as functions (``s.vae()`` is ``vae(s)``).
vae = SIGNAL_METHODS["vae"]
rvae = SIGNAL_METHODS["rvae"]
denoise_ae = SIGNAL_METHODS["denoise_ae"]

__all__ = [
    "ALGORITHMS",
    "Comparison",
    "compare",
    "RVAEResult",
    "ReferenceFit",
    "SIGNAL_METHODS",
    "VAEResult",
    "apply_model",
    "denoise_ae",
    "fit_references",
    "install",
    "make_estimator",
    "plot_uncertainty",
    "register_algorithm",
    "rvae",
    "uninstall",
    "vae",
]


def install():
    """Wrap HyperSpy's ``decomposition`` and add eels_ae's signal methods (once)."""
    register_signal_adapter(signal_to_spectrum_image)
    progress.set_default(show_progressbar_preference)
    decomposition.install()
    signal_methods.install_methods()
    install_save_hook()


def uninstall():
    """Undo :func:`install`: HyperSpy as it was before ``import eels_ae``."""
    decomposition.uninstall()
    signal_methods.uninstall_methods()
    uninstall_save_hook()
