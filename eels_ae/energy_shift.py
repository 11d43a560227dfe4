"""Energy shifts of spectra: moving them, and measuring how far they moved.

A spectrometer that drifts during a scan moves every spectrum along the
energy axis by its own amount (Pate et al. 2021 saw 1.5 eV across a scan). A
drifted spectrum is not a linear mixture of the endmembers, so linear
unmixing needs the spectra aligned first; these are the two operations that
takes, on arrays of spectra ``(n, channels)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_shift_map", "estimate_shifts", "shift_spectra"]


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


def _relative_shift(a, b, reach):
    """How many channels spectrum ``a`` sits above spectrum ``b``: the peak
    of their gradients' correlation over whole-channel lags within
    ``reach``, refined between channels by a parabola through the peak and
    its neighbours; ``nan`` when the peak is at the end of the range (no
    shift of that size). The gradients are smoothed first: at a few hundred
    counts per spectrum the channel-to-channel noise would otherwise decide.
    A fit of the whole spectra (Gauss-Newton) was tried and dropped: it
    reads the broader shape that plural scattering gives a thicker region
    as a shift (6.7 channels measured where there was none)."""
    from scipy.ndimage import gaussian_filter1d

    ga = np.gradient(gaussian_filter1d(a, 1.5))
    gb = np.gradient(gaussian_filter1d(b, 1.5))
    lags = np.arange(-int(np.ceil(reach)), int(np.ceil(reach)) + 1)
    scores = np.array([float(np.dot(ga, shift_spectra(gb, lag))) for lag in lags])
    i = int(np.argmax(scores))
    if i in (0, len(scores) - 1):
        return float("nan")
    before, peak, after = scores[i - 1 : i + 2]
    curvature = before - 2 * peak + after
    step = 0.5 * (before - after) / curvature if curvature < 0 else 0.0
    return float(lags[i] + step)


def check_shift_map(X, shifts, fraction=0.1):
    """Whether the raw spectra show the shifts a map claims.

    The pixels with the largest and with the smallest shifts (a ``fraction``
    of them each) are averaged, and the shift between the two mean spectra
    is measured directly (the peak of their gradients' correlation).
    A drift map that follows something else (thickness, composition) claims
    shifts the edges of the raw data do not have.

    Parameters
    ----------
    X : ndarray, shape (n, n_channels)
        The spectra as measured.
    shifts : ndarray, shape (n,)
        The map (channels).
    fraction : float
        Of the pixels in each group (at least 5).

    Returns
    -------
    claimed, measured : float
        The difference of the map between the two groups, and the shift
        between their mean spectra (channels; ``nan`` where the raw spectra
        show no shift within twice the claimed one). ``nan`` for both with
        fewer than 20 spectra.
    """
    X = np.asarray(X, dtype=np.float64)
    shifts = np.asarray(shifts, dtype=np.float64).ravel()
    n = len(shifts)
    k = max(int(fraction * n), 5)
    if n < 20 or 2 * k > n:
        return float("nan"), float("nan")
    order = np.argsort(shifts)
    low, high = order[:k], order[-k:]
    a, b = X[high].mean(axis=0), X[low].mean(axis=0)
    a, b = a / (np.abs(a).sum() or 1.0), b / (np.abs(b).sum() or 1.0)
    claimed = float(shifts[high].mean() - shifts[low].mean())
    reach = min(X.shape[1] / 4.0, max(2.0 * abs(claimed), 3.0))
    return claimed, _relative_shift(a, b, reach)
