"""New methods on HyperSpy's 1-D signals (EELS spectra included).

:func:`install_methods` adds them to ``Signal1D`` (and so to ``EELSSpectrum``
and the lazy classes); :func:`uninstall_methods` removes them. The methods of
the algorithms are generated from the registry (:mod:`.methods`);
``apply_model`` and ``eels_ae_gui`` (the training panel) are written by
hand. They never modify the signal they
are called on.
"""

from __future__ import annotations

from .apply import apply_model as _apply_model
from .gui import eels_ae_gui
from .methods import signal_methods

__all__ = ["SIGNAL_METHODS", "install_methods", "uninstall_methods"]


def apply_model(self, model, energy_axis="strict", **kwargs):
    """Apply a trained eels_ae model (or model file) to this signal.

    See :func:`eels_ae.apply_model`.
    """
    return _apply_model(self, model, energy_axis=energy_axis, **kwargs)


#: Name -> function of every method eels_ae adds to ``Signal1D``.
SIGNAL_METHODS = {
    **signal_methods(),
    "apply_model": apply_model,
    "eels_ae_gui": eels_ae_gui,
}


def install_methods():
    """Add the eels_ae methods to HyperSpy's ``Signal1D`` (idempotent)."""
    from hyperspy.signals import Signal1D

    for name, fn in SIGNAL_METHODS.items():
        existing = Signal1D.__dict__.get(name)
        if existing is not None and existing is not fn:
            raise RuntimeError(
                f"Signal1D.{name} exists already: eels_ae will not replace it."
            )
        setattr(Signal1D, name, fn)


def uninstall_methods():
    """Remove the eels_ae methods from ``Signal1D``."""
    from hyperspy.signals import Signal1D

    for name, fn in SIGNAL_METHODS.items():
        if Signal1D.__dict__.get(name) is fn:
            delattr(Signal1D, name)
