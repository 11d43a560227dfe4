"""Pieces every variational autoencoder of eels_ae shares.

The likelihood is scaled to the data: a Gaussian whose variance is the
data's own noise level (estimated by :func:`estimate_noise_variance`), not
the unit variance that a plain mean-squared error assumes. On data scaled to
[0, 1] with noise of a few percent, a unit-variance likelihood makes the
reconstruction term thousands of times too weak against the KL term and the
posterior collapses onto the prior (every latent sd ~1, latent means nearly
constant); with the right noise level the latents carry the data.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "estimate_noise_variance",
    "gaussian_kl",
    "gaussian_nll",
    "poisson_nll",
    "reparameterize",
]

#: Second differences of white noise of variance s^2 have variance 6 s^2.
_SECOND_DIFF_VAR = 6.0
#: MAD of a standard normal variable.
_MAD_NORMAL = 0.6744897501960817


def reparameterize(mu, logvar):
    """Draw ``mu + sd * eps`` with ``eps ~ N(0, I)`` (differentiable)."""
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def gaussian_kl(mu, logvar):
    """KL divergence of ``N(mu, exp(logvar))`` to ``N(0, I)`` per sample.

    Parameters
    ----------
    mu, logvar : torch.Tensor, shape (batch, latent_dim)

    Returns
    -------
    torch.Tensor, shape (batch,)
        Summed over the latent dimensions.
    """
    return 0.5 * torch.sum(mu**2 + logvar.exp() - 1.0 - logvar, dim=1)


def gaussian_nll(x_hat, x, noise_var):
    """Gaussian negative log-likelihood per sample, without its constant.

    Parameters
    ----------
    x_hat, x : torch.Tensor, shape (batch, ...)
        Reconstruction and data.
    noise_var : float or torch.Tensor
        Noise variance of the data (broadcastable to ``x``).

    Returns
    -------
    torch.Tensor, shape (batch,)
        ``0.5 * sum((x - x_hat)**2 / noise_var)`` over all non-batch axes.
    """
    err = (x - x_hat) ** 2 / noise_var
    return 0.5 * err.flatten(1).sum(dim=1)


def poisson_nll(rate, counts):
    """Poisson negative log-likelihood per sample, without its constant.

    Parameters
    ----------
    rate : torch.Tensor, shape (batch, ...)
        Expected counts (> 0).
    counts : torch.Tensor, shape (batch, ...)
        Observed counts.

    Returns
    -------
    torch.Tensor, shape (batch,)
        ``sum(rate - counts * log(rate))`` over all non-batch axes.
    """
    rate = rate.clamp(min=1e-8)
    return (rate - counts * torch.log(rate)).flatten(1).sum(dim=1)


def estimate_noise_variance(data, axis=-1, floor=1e-4):
    """Noise variance of data whose signal is smooth along ``axis``.

    Robust (median absolute deviation) estimate from second differences
    along ``axis``, which remove a smooth signal (edges, slowly varying
    maps) and keep independent noise: for white noise of variance
    ``s**2`` they have variance ``6 s**2``.

    Parameters
    ----------
    data : array-like
        An in-memory sample of the data (numpy; a dask array is computed).
    axis : int, default -1
        Axis along which the signal is smooth (the energy axis of spectra,
        a spatial axis of maps).
    floor : float, default 1e-4
        The estimate is at least ``floor`` times the variance of the data,
        so that noiseless (synthetic) data do not give a variance of zero
        and an unbounded likelihood.

    With fewer than 3 values along ``axis`` there is no second difference:
    the variance of the data is returned (an upper bound, which counts the
    signal's own spread as noise; callers say so).

    Returns
    -------
    float
    """
    data = np.asarray(data, dtype=np.float64)
    if data.shape[axis] < 3:
        # No second difference: the variance of the data, an upper bound (the
        # signal's spread counted as noise), as the floor's reference.
        total = float(np.nanvar(data))
        return total if math.isfinite(total) and total > 0 else 1.0
    d2 = np.diff(data, n=2, axis=axis).ravel()
    d2 = d2[np.isfinite(d2)]
    mad = np.median(np.abs(d2 - np.median(d2))) if d2.size else 0.0
    var = (mad / _MAD_NORMAL) ** 2 / _SECOND_DIFF_VAR
    total = float(np.nanvar(data))
    lower = floor * total if total > 0 else 1.0
    out = max(float(var), lower)
    if not math.isfinite(out) or out <= 0:
        out = 1.0
    return out
