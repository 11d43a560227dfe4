"""Everything that touches HyperSpy: algorithm names in ``decomposition`` and
the methods eels_ae adds to 1-D signals (``s.denoise_ae``)."""

from . import decomposition, signal_methods
from .decomposition import ALGORITHMS, make_estimator, register_algorithm
from .signal_methods import SIGNAL_METHODS, denoise_ae

__all__ = [
    "ALGORITHMS",
    "SIGNAL_METHODS",
    "denoise_ae",
    "install",
    "make_estimator",
    "register_algorithm",
    "uninstall",
]


def install():
    """Wrap HyperSpy's ``decomposition`` and add eels_ae's signal methods (once)."""
    decomposition.install()
    signal_methods.install_methods()


def uninstall():
    """Undo :func:`install`: HyperSpy as it was before ``import eels_ae``."""
    decomposition.uninstall()
    signal_methods.uninstall_methods()
