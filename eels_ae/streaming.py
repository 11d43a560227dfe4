"""One place where rows of a spectrum image reach the models.

Every estimator sees its data as a 2-D array of spectra ``(n_samples,
n_channels)``, held in memory (numpy) or on disk (dask). :class:`RowStream`
cuts that array into *blocks* of consecutive rows, reads one block at a time
(so a dask array is never held whole) and shuffles within it. The block
partition depends on the shape, not on the storage (unless a dask chunk is
larger than a block), so an eager array and a lazy one with the same values
give the same mini-batches, and the same trained model.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

__all__ = ["BandStream", "RowStream", "batch_bounds", "flatten_image", "is_dask_array"]

#: Size of one block of rows read at a time (bytes of float32): small enough
#: that a few blocks in flight stay far below the size of a large data set.
DEFAULT_BLOCK_BYTES = 16 * 2**20


def is_dask_array(X) -> bool:
    """True if ``X`` is a dask array (without importing dask eagerly)."""
    return type(X).__module__.startswith("dask")


def flatten_image(X):
    """Spectra ``(n, channels)`` and the image shape ``(rows, columns)`` of a
    spectrum-image cube (numpy or dask); flat input as it is, with None."""
    if getattr(X, "ndim", 2) == 3:
        return X.reshape(-1, X.shape[-1]), tuple(X.shape[:2])
    return X, None


def batch_bounds(n, batch_size):
    """``(lo, hi)`` of consecutive mini-batches over ``n`` samples.

    A remainder of a single sample is merged into the batch before it: batch
    normalisation cannot train on one sample.
    """
    bounds = list(range(0, n, batch_size)) + [n]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        del bounds[-2]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def read_rows(X, start, stop) -> np.ndarray:
    """``X[start:stop]`` as float32 numpy; a dask array is read in this thread.

    One block at a time in this thread: dask's thread pool would spread the
    block-sized buffers over per-thread malloc arenas and the resident memory
    would creep up pass after pass. For numpy input this may be a view.
    """
    block = X[start:stop]
    if is_dask_array(X):
        block = block.compute(scheduler="synchronous")
    # Contiguous: torch cannot take views with negative strides (a reversed
    # energy axis); for C-ordered float32 data this is still a view.
    return np.ascontiguousarray(block, dtype=np.float32)


class RowStream:
    """Blocks and mini-batches of rows from a numpy or dask 2-D array.

    Parameters
    ----------
    X : numpy.ndarray or dask.array.Array
        Shape ``(n_samples, n_features)``.
    block_rows : int, optional
        Rows per block. By default as many as fit in 16 MiB of float32 (or one
        dask row chunk, if that is larger).
    scale : float, default 1.0
        Mini-batches and sampled rows are divided by ``scale`` (models train on
        data of order one); blocks are returned unscaled, so that no
        block-sized copy is made.
    row_mask : numpy.ndarray of bool, optional
        Rows to keep (``True``) while streaming batches; others are skipped.
    """

    def __init__(self, X, block_rows=None, scale=1.0, row_mask=None):
        if X.ndim != 2:
            raise ValueError(f"RowStream needs a 2-D array, got shape {X.shape}.")
        self.X = X
        self.n_samples, self.n_features = (int(n) for n in X.shape)
        self.lazy = is_dask_array(X)
        if block_rows is None:
            block_rows = DEFAULT_BLOCK_BYTES // (4 * max(self.n_features, 1))
            if self.lazy and max(X.chunks[0]) > block_rows:
                # Never cut a large dask chunk: it would be read once per piece.
                block_rows = max(X.chunks[0])
        block_rows = int(max(1, min(block_rows, self.n_samples)))
        # A last block of one row would be a mini-batch of one, which batch
        # normalisation cannot train on (e.g. 145 x 113 pixels at 1024
        # channels): widen the blocks until no block holds a single row.
        while self.n_samples > block_rows > 1 and self.n_samples % block_rows == 1:
            block_rows += 1
        self.block_rows = block_rows
        self.scale = float(scale)
        self.row_mask = row_mask

    @property
    def n_blocks(self) -> int:
        return math.ceil(self.n_samples / self.block_rows)

    def read(self, start, stop) -> np.ndarray:
        """Rows ``start:stop`` as float32, NOT divided by ``scale``.

        For in-memory data this may be a view of ``X``: never write to it.
        """
        return read_rows(self.X, start, stop)

    def blocks(self, rng=None, shard=None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(start_row, block)`` pairs (unscaled), in random order if ``rng``.

        ``shard=(rank, world_size)``: only every ``world_size``-th block of
        that order, from ``rank`` (a process of data-parallel training reads
        its own share).
        """
        order = np.arange(self.n_blocks)
        if rng is not None:
            order = rng.permutation(order)
        if shard is not None:
            order = order[shard[0] :: shard[1]]
        for b in order:
            start = int(b) * self.block_rows
            stop = min(start + self.block_rows, self.n_samples)
            yield start, self.read(start, stop)

    def batches(self, batch_size, rng=None, shard=None) -> Iterator[np.ndarray]:
        """Yield shuffled mini-batches (copies, divided by ``scale``), block by block.

        A remainder of a single row is merged into the batch before it:
        batch normalisation cannot train on one sample.

        ``shard=(rank, world_size)`` (data-parallel training): this process's
        share: its own blocks when there are enough of them for every
        process, else rows ``rank::world_size`` of each shuffled block.
        """
        inv = np.float32(1.0 / self.scale)
        by_rows = shard is not None and self.n_blocks < shard[1]
        block_shard = None if by_rows else shard
        for start, block in self.blocks(rng, block_shard):
            rows = np.arange(len(block))
            if self.row_mask is not None:
                rows = rows[self.row_mask[start : start + len(block)]]
            n = len(rows)
            if n == 0 or (n == 1 and self.n_samples > 1):
                # A lone row (after masking) cannot make a batch-norm batch.
                continue
            if rng is not None:
                rows = rows[rng.permutation(n)]
            if by_rows:
                rows = rows[shard[0] :: shard[1]]
                n = len(rows)
            for lo, hi in batch_bounds(n, batch_size):
                batch = block[rows[lo:hi]]  # fancy indexing copies
                if inv != 1.0:
                    batch *= inv
                yield batch

    def map_blocks(self, func) -> np.ndarray:
        """Apply ``func`` to each block in order and stack the results."""
        return np.concatenate([func(block) for _, block in self.blocks()], axis=0)

    def sample_rows(self, n, rng) -> tuple[np.ndarray, np.ndarray]:
        """At most ``n`` rows drawn without replacement (all rows if fewer).

        Returns the sorted row indices and the rows (float32, scaled).
        """
        if self.n_samples <= n:
            idx = np.arange(self.n_samples)
        else:
            idx = np.sort(rng.choice(self.n_samples, size=n, replace=False))
        rows = self.X[idx]  # fancy indexing: a copy, ours to scale in place
        if self.lazy:
            rows = rows.compute(scheduler="synchronous")
        rows = np.asarray(rows, dtype=np.float32)
        if self.scale != 1.0:
            rows /= np.float32(self.scale)
        return idx, rows


class BandStream:
    """Mini-batches of per-pixel samples built band by band from an image cube.

    Models that need a pixel's surroundings (a neighbourhood, a spatially
    averaged target) cannot take rows of a flat ``(pixels, channels)`` array.
    A :class:`BandStream` reads a *band* of image rows of a ``(rows, columns,
    channels)`` cube with ``halo`` extra rows on each side (clipped at the
    image border), lets ``make_samples`` turn it into one sample per pixel of
    the band, and shuffles those into mini-batches. Only one band (and its
    samples) is in memory at a time; a dask cube is read band by band.

    Parameters
    ----------
    cube : numpy.ndarray or dask.array.Array
        Shape ``(n_rows, n_columns, n_channels)``.
    make_samples : callable
        ``make_samples(band, top, rows, rng) -> ndarray`` with ``band`` the
        rows ``top:...`` of the cube (halo included, float32) and ``rows`` the
        ``slice`` of ``band`` whose pixels make samples; returns an array whose
        first axis is those pixels in C order. ``rng`` is ``None`` when the
        order and any randomness must be fixed (inference).
    halo : int, default 0
        Extra rows read above and below each band.
    band_bytes : int, default 64 MiB
        Approximate size of the samples of one band.
    sample_bytes : int, optional
        Bytes of one sample, to size the bands (default: one spectrum).
    band_rows : int, optional
        Rows per band, overriding the size from ``band_bytes`` and the dask
        chunks: for samples much larger than the cube's rows (e.g. image
        patches), where reading a dask chunk once per band costs less than
        holding the samples of a whole chunk.
    repeats : int, default 1
        Passes over the image per call of :meth:`batches` with an ``rng``
        (an epoch of a small image: new random draws each pass).
    fixed_samples : bool, default False
        ``make_samples`` draws nothing at random (ignores ``rng``): when the
        whole image is one band of a numpy cube, its samples are made once
        and reused every epoch (MTAEU's neighbourhood stacks were 13 % of its
        training time on a 64 x 64 image).
    """

    def __init__(
        self,
        cube,
        make_samples,
        halo=0,
        band_bytes=64 * 2**20,
        sample_bytes=None,
        band_rows=None,
        repeats=1,
        fixed_samples=False,
    ):
        if cube.ndim != 3:
            raise ValueError(f"BandStream needs a 3-D cube, got shape {cube.shape}.")
        self.cube = cube
        self.make_samples = make_samples
        self.halo = int(halo)
        n_rows, n_cols, n_channels = (int(n) for n in cube.shape)
        self.n_rows, self.n_cols = n_rows, n_cols
        self.n_samples = n_rows * n_cols
        sample_bytes = sample_bytes or 4 * n_channels
        rows = band_bytes // max(1, sample_bytes * n_cols)
        if band_rows is not None:
            rows = band_rows
        elif is_dask_array(cube):
            # Never cut a dask chunk finer than it is stored.
            rows = max(rows, max(cube.chunks[0]))
        self.band_rows = int(max(1, min(rows, n_rows)))
        self.repeats = int(repeats)
        self._reusable = fixed_samples and self.n_bands == 1 and not is_dask_array(cube)
        self._made = None

    @property
    def n_bands(self) -> int:
        return math.ceil(self.n_rows / self.band_rows)

    def bands(self, rng=None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first_row, samples)`` per band, in random order if ``rng``."""
        if self._reusable:
            if self._made is None:
                band = read_rows(self.cube, 0, self.n_rows)
                self._made = self.make_samples(band, 0, slice(0, self.n_rows), None)
            yield 0, self._made
            return
        order = np.arange(self.n_bands)
        if rng is not None:
            order = rng.permutation(order)
        for b in order:
            start = int(b) * self.band_rows
            stop = min(start + self.band_rows, self.n_rows)
            top = max(0, start - self.halo)
            band = read_rows(self.cube, top, min(self.n_rows, stop + self.halo))
            yield (
                start,
                self.make_samples(band, top, slice(start - top, stop - top), rng),
            )

    def batches(self, batch_size, rng=None, shard=None) -> Iterator[np.ndarray]:
        """Yield shuffled mini-batches of samples, band by band.

        With an ``rng`` (training), the image is gone through ``repeats``
        times, each time with new random draws of ``make_samples``.
        ``shard=(rank, world_size)``: samples ``rank::world_size`` of each
        shuffled band (data-parallel training).
        """
        for _ in range(self.repeats if rng is not None else 1):
            for _, samples in self.bands(rng):
                n = len(samples)
                order = rng.permutation(n) if rng is not None else np.arange(n)
                if shard is not None:
                    order = order[shard[0] :: shard[1]]
                    n = len(order)
                for lo, hi in batch_bounds(n, batch_size):
                    yield samples[order[lo:hi]]
