"""Spatial operations on bands of a spectrum-image cube ``(rows, columns, channels)``.

They work on a *band* of image rows that carries a halo of extra rows where
the image has them (see :class:`eels_ae.streaming.BandStream`), and give the
same values for the band's own rows as on the whole image: outside the image,
windows are clipped and neighbourhoods repeat the edge pixel.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter

__all__ = [
    "map_coherence",
    "map_noise_sd",
    "matched_neighbour_mean",
    "neighbourhood_offsets",
    "neighbourhood_stack",
    "window_mean",
]


def window_mean(band, window, rows=slice(None)):
    """Mean over a ``(window_rows, window_columns)`` box around each pixel.

    The box is clipped at the image border (the mean of the pixels that
    exist), so border pixels are not biased towards zero.

    Parameters
    ----------
    band : ndarray, shape (n_rows, n_columns, n_channels)
    window : (int, int)
        Box size in rows and columns.
    rows : slice
        Rows of ``band`` to return (the others are its halo).

    Returns
    -------
    ndarray of float32, shape (n_selected_rows, n_columns, n_channels)
    """
    size = (int(window[0]), int(window[1]), 1)
    total = uniform_filter(band.astype(np.float64), size=size, mode="constant")
    ones = np.ones(band.shape[:2] + (1,))
    count = uniform_filter(ones, size=size, mode="constant")
    return (total[rows] / count[rows]).astype(np.float32)


def neighbourhood_offsets(size):
    """``(d_row, d_column)`` offsets of a square neighbourhood, centre first."""
    h = int(size) // 2
    offsets = [(dy, dx) for dy in range(-h, h + 1) for dx in range(-h, h + 1)]
    offsets.remove((0, 0))
    return [(0, 0)] + offsets


def neighbourhood_stack(band, size, rows=slice(None)):
    """Each pixel's ``size`` x ``size`` neighbourhood as a stack of spectra.

    Parameters
    ----------
    band : ndarray, shape (n_rows, n_columns, n_channels)
    size : int
        Odd neighbourhood width; 1 gives the pixel alone.
    rows : slice
        Rows of ``band`` whose pixels are returned.

    Returns
    -------
    ndarray, shape (n_pixels, size * size, n_channels)
        Pixels in C order; the pixel itself first, then its neighbours row by
        row. Outside the band the edge pixel is repeated.
    """
    n_rows, n_cols, n_channels = band.shape
    r = np.arange(n_rows)[rows]
    c = np.arange(n_cols)
    if size == 1:
        return band[r].reshape(-1, 1, n_channels)
    out = np.empty((len(r), n_cols, size * size, n_channels), dtype=band.dtype)
    for k, (dy, dx) in enumerate(neighbourhood_offsets(size)):
        rr = np.clip(r + dy, 0, n_rows - 1)
        cc = np.clip(c + dx, 0, n_cols - 1)
        out[:, :, k] = band[rr][:, cc]
    return out.reshape(-1, size * size, n_channels)


def map_coherence(maps):
    """How much each map looks like its neighbours: the lag-one spatial
    autocorrelation ``1 - mean((a[i] - a[j])**2) / (2 var(a))`` over pairs of
    pixels that touch (rows and columns), averaged over the maps.

    1 for smooth maps, about 0 for maps of independent noise, negative for
    a chequerboard of single pixels. Maps that do not vary are skipped.

    Parameters
    ----------
    maps : ndarray, shape (n_rows, n_columns, n_maps)

    Returns
    -------
    float
        NaN when no map varies or the image is a single pixel wide and high.
    """
    maps = np.asarray(maps, dtype=np.float64)
    values = []
    for k in range(maps.shape[-1]):
        a = maps[..., k]
        var = a.var()
        if not var > 1e-12 * max(1.0, float(np.abs(a).max()) ** 2):
            continue
        steps = [np.diff(a, axis=ax).ravel() for ax in (0, 1) if a.shape[ax] > 1]
        if not steps:
            continue
        values.append(1.0 - np.mean(np.concatenate(steps) ** 2) / (2.0 * var))
    return float(np.mean(values)) if values else float("nan")


def map_noise_sd(maps, lag=1):
    """Noise standard deviation of each map, from differences of pixels
    ``lag`` apart (rows and columns): 1.4826 x their median absolute deviation
    / sqrt(2).

    The median ignores the few large differences across real features
    (boundaries, particles), so the figure is that of the noise where the
    maps are smooth. Use a ``lag`` at least as wide as any averaging that
    made the maps, so that the two pixels of a difference share no noise.

    Parameters
    ----------
    maps : ndarray, shape (n_rows, n_columns, n_maps)
    lag : int, default 1

    Returns
    -------
    ndarray, shape (n_maps,)
        NaN for a map with no pair of pixels ``lag`` apart.
    """
    maps = np.asarray(maps, dtype=np.float64)
    lag = int(lag)
    steps = [
        d.reshape(-1, maps.shape[-1])
        for d in (maps[lag:] - maps[:-lag], maps[:, lag:] - maps[:, :-lag])
        if d.size
    ]
    if not steps:
        return np.full(maps.shape[-1], np.nan)
    d = np.concatenate(steps)
    mad = np.median(np.abs(d - np.median(d, axis=0)), axis=0)
    return 1.4826 * mad / np.sqrt(2.0)


def matched_neighbour_mean(maps, radius, noise_sd):
    """Each inner pixel's maps averaged with those of its neighbours that
    match it within the noise (a bilateral filter whose range is the noise).

    In the ``(2 radius + 1)``-wide box around a pixel, a neighbour ``j`` of
    pixel ``i`` gets the weight ``exp(-max(d2 - 2 k, 0) / (2 k))``, where
    ``d2 = sum(((m_j - m_i) / noise_sd)**2)`` over the ``k`` maps: two pixels
    that differ by noise alone have ``d2`` about ``2 k`` and weigh about one;
    a neighbour across a boundary, or along a gradient steeper than the
    noise, weighs little. The noise falls where the maps are smooth, and
    edges, drifts and boundaries keep their place.

    Parameters
    ----------
    maps : ndarray, shape (n_rows, n_columns, n_maps)
        The pixels to filter and ``radius`` pixels of neighbours around them
        (pad with their edge values where there are none).
    radius : int
        Half-width of the box; 0 returns the maps.
    noise_sd : array-like, shape (n_maps,)
        Noise standard deviation of each map (:func:`map_noise_sd`);
        positive.

    Returns
    -------
    ndarray of float32, shape (n_rows - 2 radius, n_columns - 2 radius, n_maps)
    """
    maps = np.asarray(maps, dtype=np.float64)
    radius = int(radius)
    if radius == 0:
        return maps.astype(np.float32)
    n_rows, n_cols, k = maps.shape
    rows, cols = n_rows - 2 * radius, n_cols - 2 * radius
    sd = np.asarray(noise_sd, dtype=np.float64).reshape(k)
    centre = maps[radius : radius + rows, radius : radius + cols]
    total = np.zeros_like(centre)
    weight = np.zeros(centre.shape[:2])
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            other = maps[dy : dy + rows, dx : dx + cols]
            d2 = (((other - centre) / sd) ** 2).sum(axis=-1)
            w = np.exp(-np.maximum(d2 - 2 * k, 0.0) / (2 * k))
            total += w[..., None] * other
            weight += w
    return (total / weight[..., None]).astype(np.float32)
