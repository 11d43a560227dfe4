"""``s.vae(...)``: a variational autoencoder over the spectra of a signal."""

from __future__ import annotations

from ..estimators import VAE
from ..spectrum_image import as_spectrum_image
from .params import fitted_model
from .vae_results import VAEResult

__all__ = ["vae"]


def vae(self, model=None, **params):
    """Encode every spectrum into a few latent variables with a VAE (source 000).

    Trains an :class:`eels_ae.VAE` on this signal (or applies a trained one),
    then encodes and reconstructs every spectrum.

    Parameters
    ----------
    model : eels_ae.VAE, optional
        A fitted VAE (e.g. ``result.model`` of an earlier acquisition with the
        same energy axis) to apply without training. An unfitted one is
        fitted here first, with its own parameters.
    **params
        Parameters of a new :class:`eels_ae.VAE`: ``latent_dim``,
        ``likelihood``, ``noise_variance``, ``normalize``, ``beta``, ``hidden_layers``,
        ``max_epochs``, ``batch_size``, ``learning_rate``, ``device``,
        ``random_state``, ``show_progressbar``, ...

    Returns
    -------
    VAEResult
        ``latent`` (one map per latent variable), ``latent_std``,
        ``reconstruction`` (same class, axes and metadata as this signal;
        lazy if it is lazy), ``mse`` (map), ``model``, and the figures
        ``plot_latent_distribution()``, ``plot_reconstruction_summary()``,
        ``plot_pixels()`` and ``plot_latent_grid()``.

    Raises
    ------
    TypeError
        For an unknown keyword (the message lists the valid ones), or
        parameters given together with a ``model``.
    ValueError
        For a signal that is not a line scan or spectrum image of spectra,
        NaN or inf values (with the pixels where they are), or an energy axis
        that differs from the model's.

    Notes
    -----
    The signal is never modified, and ``s.learning_results`` is not touched.

    Examples
    --------
    >>> result = s.vae(latent_dim=2, random_state=0)
    >>> result.latent.plot()                        # z1, z2 maps
    >>> result.plot_latent_distribution()
    >>> result2 = s2.vae(model=result.model)        # next acquisition
    """
    # Shape checks first: a bad signal fails before any training.
    as_spectrum_image(self, "s.vae()")
    model = fitted_model(VAE, model, params, "s.vae()", self)
    return VAEResult.from_signal(self, model)
