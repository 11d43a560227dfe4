"""Windows (patches) around every pixel of a stack of maps, built band by band.

Roccapriore et al. (2024) cuts a ``window x window`` patch around every pixel of a
stack of abundance maps, excluding the pixels closer than half a window to the border,
and stacks the channels. Materialised, the patches of a 512 x 512 map with a
32-pixel window and 3 channels take 2.8 GB (3.2 GB with one at every pixel);
:func:`patch_stream` builds them from one band of map rows at a time (a
:class:`~eels_ae.streaming.BandStream`, numpy or dask), so that only the
patches of one band are ever in memory.

Geometry: the patch of pixel ``(i, j)`` covers rows ``i - window // 2`` to
``i - window // 2 + window - 1`` (and the same for columns). For an odd
window the pixel is the patch centre; for an even one it is the lower-right
pixel of the central 2 x 2. The pixels with a whole patch form the *interior*
grid of :func:`interior_shape`, ``window // 2`` pixels in from the top-left.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .streaming import BandStream

__all__ = ["interior_shape", "patch_stream", "window_patches"]

#: Approximate bytes of the patches of one band.
BAND_BYTES = 64 * 2**20


def interior_shape(shape, window):
    """``(rows, columns)`` of the pixels that have a whole ``window`` patch."""
    return int(shape[0]) - window + 1, int(shape[1]) - window + 1


def window_patches(band, window, centre_rows, keep=None):
    """Patches ``(n, window, window, channels)`` of some rows of a band.

    Parameters
    ----------
    band : ndarray, shape (band_rows, columns, channels)
    window : int
    centre_rows : range
        Band rows of the patch pixels; every one must have a whole patch in
        ``band`` (``window // 2`` rows above it and the rest below).
    keep : ndarray of bool, shape (len(centre_rows), interior columns), optional
        Only these pixels (a random subsample); all by default.

    Returns
    -------
    ndarray of float32
        C-contiguous, one patch per pixel, in C order over (row, column).
    """
    h = window // 2
    # view[a, b] is the patch whose top-left pixel is (a, b): no copy yet.
    view = sliding_window_view(band, (window, window), axis=(0, 1))
    view = view[centre_rows.start - h : centre_rows.stop - h]
    if keep is not None:
        view = view[keep]  # fancy indexing: copies only the kept patches
    else:
        view = view.reshape((-1,) + view.shape[2:])
    # (n, channels, window, window) -> channel-last, one copy.
    return np.ascontiguousarray(np.moveaxis(view, 1, -1), dtype=np.float32)


def patch_stream(maps, window, transform=None, fraction=1.0):
    """A band stream of the patches of every interior pixel of ``maps``.

    Parameters
    ----------
    maps : numpy.ndarray or dask.array.Array, shape (rows, columns, channels)
    window : int
    transform : callable, optional
        Applied to each band of maps (float32) before the patches are cut
        (e.g. normalisation); must return a new array, never modify its input
        (it may be the caller's data).
    fraction : float, default 1.0
        With a random generator (training), each pixel's patch is kept with
        this probability: a random subsample of the patches per epoch. Bands
        are made ``1 / fraction`` times taller, so that a band still holds
        about ``BAND_BYTES`` of patches.

    Returns
    -------
    eels_ae.streaming.BandStream
        ``bands()`` yields ``(first_row, patches)`` where ``first_row`` is the
        first map row of the band (border rows give no patches);
        ``batches()`` shuffled mini-batches. Without a random generator all
        patches come in C order over the interior grid.
    """
    rows, cols, channels = (int(n) for n in maps.shape)
    n_rows, n_cols = interior_shape((rows, cols), window)
    h = window // 2
    row_bytes = 4 * window * window * channels * max(n_cols, 1)
    band_rows = max(1, int(BAND_BYTES / (row_bytes * max(fraction, 1e-6))))

    def make_samples(band, top, centre, rng):
        # Pixel rows of this band that have a whole patch (map coordinates).
        first = max(top + centre.start, h)
        last = min(top + centre.stop, h + n_rows)
        shape = (0, window, window, channels)
        if last <= first:
            return np.zeros(shape, dtype=np.float32)
        if transform is not None:
            band = transform(band)
        keep = None
        if rng is not None and fraction < 1.0:
            keep = rng.random((last - first, n_cols)) < fraction
        return window_patches(band, window, range(first - top, last - top), keep)

    return BandStream(
        maps,
        make_samples,
        halo=h,
        sample_bytes=4 * window * window * channels,
        band_rows=band_rows,
    )
