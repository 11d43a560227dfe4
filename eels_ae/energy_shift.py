"""Energy shifts of spectra: moving them, and measuring how far they moved.

A spectrometer that drifts during a scan moves every spectrum along the
energy axis by its own amount (Pate et al. 2021 saw 1.5 eV across a scan). A
drifted spectrum is not a linear mixture of the endmembers, so linear
unmixing needs the spectra aligned first; these are the two operations that
takes, on arrays of spectra ``(n, channels)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["estimate_shifts", "shift_spectra"]


def shift_spectra(X, channels):
    """Each spectrum moved up the energy axis by its own number of channels.

    Parameters
    ----------
    X : ndarray, shape (..., n_channels)
    channels : float or ndarray, shape X.shape[:-1]
        Fractional channels; positive moves features to higher energy.

    Returns
    -------
    ndarray
        Linear interpolation, float64; beyond the ends the end values.
    """
    X = np.asarray(X, dtype=np.float64)
    B = X.shape[-1]
    channels = np.broadcast_to(np.asarray(channels, dtype=np.float64), X.shape[:-1])
    pos = np.clip(np.arange(B) - channels[..., None], 0, B - 1)
    i0 = np.minimum(np.floor(pos).astype(np.intp), B - 2)
    f = pos - i0
    lo = np.take_along_axis(X, i0, axis=-1)
    hi = np.take_along_axis(X, i0 + 1, axis=-1)
    return (1 - f) * lo + f * hi


def estimate_shifts(
    X, model, start=None, max_shift=10.0, n_steps=4, return_information=False
):
    """How far each spectrum is shifted from its model, in channels.

    Gauss-Newton on ``x ~ shift_spectra(m, d)``: linearised, ``x - m(d) ~
    -delta * m'(d)``, solved per spectrum with Poisson weights ``1 /
    max(m, 1)``, a few times.

    Parameters
    ----------
    X : ndarray, shape (n, n_channels)
        Spectra as measured.
    model : ndarray, shape (n, n_channels)
        Each spectrum's model, unshifted (e.g. abundances @ endmembers).
    start : ndarray, shape (n,), optional
        Starting shifts (channels); zeros by default.
    max_shift : float, default 10
        Shifts are kept within +- this many channels.
    n_steps : int, default 4
    return_information : bool, default False
        Also return each shift's Fisher information (the Gauss-Newton
        curvature ``sum(m'^2 w)``; about 1 / variance for counts): the weight
        of each pixel when shifts are pooled over neighbours.

    Returns
    -------
    shifts : ndarray, shape (n,)
    information : ndarray, shape (n,)
        Only with ``return_information``.
    """
    X = np.asarray(X, dtype=np.float64)
    model = np.asarray(model, dtype=np.float64)
    d = np.zeros(len(X)) if start is None else np.array(start, dtype=np.float64)
    for _ in range(int(n_steps)):
        m = shift_spectra(model, d)
        dm = np.gradient(m, axis=-1)
        w = 1.0 / np.maximum(m, 1.0) if m.min() >= 0 else 1.0
        num = ((X - m) * dm * w).sum(axis=-1)
        den = (dm * dm * w).sum(axis=-1)
        step = np.where(den > 0, -num / np.where(den > 0, den, 1.0), 0.0)
        d = np.clip(d + step, -max_shift, max_shift)
    return (d, den) if return_information else d
