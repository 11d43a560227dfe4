"""New methods on HyperSpy's 1-D signals (EELS spectra included).

:func:`install` adds them to ``Signal1D`` (and so to ``EELSSpectrum`` and the
lazy classes); :func:`uninstall` removes them. They never modify the signal
they are called on.
"""

from __future__ import annotations

from ..estimators import DenoisingAE
from .apply import apply_model as _apply_model
from .params import fitted_model
from .rvae_method import rvae
from .vae_method import vae

__all__ = ["SIGNAL_METHODS", "denoise_ae", "install_methods", "uninstall_methods"]


def denoise_ae(self, model=None, return_model=False, **params):
    """Denoise this spectrum image with a convolutional autoencoder (RapidEELS).

    Trains an :class:`eels_ae.DenoisingAE` on this signal (or uses a trained
    one) and returns the denoised spectra as a new signal.

    Parameters
    ----------
    model : eels_ae.DenoisingAE, optional
        A trained model (e.g. from an earlier acquisition) to apply without
        training. An untrained one is trained here first.
    return_model : bool, default False
        Also return the trained model, to denoise or classify other signals.
    **params
        Parameters of :class:`eels_ae.DenoisingAE` (``target``,
        ``average_window``, ``background_range``, ``augment_noise``,
        ``neighbourhood``, ``latent_dim``, ``max_epochs``, ``device``,
        ``random_state``, ``show_progressbar``, ...) for a new model.

    Returns
    -------
    denoised : same class as this signal
        Same axes and metadata; lazy if this signal is lazy (computed chunk by
        chunk when asked). Background-free if ``background_range`` was given.
    model : eels_ae.DenoisingAE
        Only with ``return_model=True``.

    Examples
    --------
    >>> sd, model = s.denoise_ae(background_range=(500., 525.),
    ...                          random_state=0, return_model=True)
    >>> s2d = s2.denoise_ae(model=model)   # the next acquisition, no training
    """
    model = fitted_model(DenoisingAE, model, params, "s.denoise_ae()", self)
    out = model.denoise(self)
    return (out, model) if return_model else out


def apply_model(self, model, energy_axis="strict", **kwargs):
    """Apply a trained eels_ae model (or model file) to this signal.

    See :func:`eels_ae.apply_model`.
    """
    return _apply_model(self, model, energy_axis=energy_axis, **kwargs)


#: Name -> function of every method eels_ae adds to ``Signal1D``.
SIGNAL_METHODS = {
    "rvae": rvae,
    "vae": vae,
    "denoise_ae": denoise_ae,
    "apply_model": apply_model,
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
