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
