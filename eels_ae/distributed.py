"""Lazy inference mapped over dask chunks, ready for ``dask.distributed``.

A fitted model reaches the dask workers as its model-file bytes
(:class:`ModelWeights`: safetensors tensors and a JSON document, see
:mod:`eels_ae.model_files`), never as a pickle of the estimator: each worker
process rebuilds the model once (cached by checksum) and applies it to its
chunks. The same block function runs with the single-process schedulers, so a
``LocalCluster`` gives the results of the single-process path.

>>> from dask.distributed import Client
>>> client = Client(n_workers=2, threads_per_worker=1)
>>> s = hs.load("big.dm4", lazy=True)
>>> sd = s.denoise_ae(model=model)   # a lazy signal
>>> sd.save("big_denoised.zspy")     # computed chunk by chunk on the workers
"""

from __future__ import annotations

import functools
import hashlib
import threading

import numpy as np

__all__ = ["ModelWeights", "compute_in_memory", "map_model_blocks"]

_CACHE: dict[str, object] = {}
_CACHE_LOCK = threading.Lock()


class ModelWeights:
    """A fitted model as model-file bytes: what a dask graph carries.

    Pickling a ``ModelWeights`` pickles the bytes only; :attr:`model` builds
    the estimator from them (no code from the bytes is run) once per process.

    Parameters
    ----------
    data : bytes
        :func:`eels_ae.model_files.model_to_bytes` of a fitted estimator.
    """

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.checksum = hashlib.sha256(self.data).hexdigest()

    @classmethod
    def of(cls, model):
        """The weights of a fitted estimator."""
        from .model_files import model_to_bytes

        return cls(model_to_bytes(model))

    def __reduce__(self):
        return (ModelWeights, (self.data,))

    def __repr__(self):
        return f"ModelWeights({len(self.data)} bytes, sha256 {self.checksum[:12]})"

    @property
    def model(self):
        """The estimator, built on first use in this process (on the CPU, or
        the device the file names when it exists here)."""
        with _CACHE_LOCK:
            model = _CACHE.get(self.checksum)
            if model is None:
                from .model_files import model_from_bytes

                model = model_from_bytes(self.data, name="model weights")
                _CACHE.clear()  # one model at a time per worker
                _CACHE[self.checksum] = model
        return model


def _call(block, *rows, weights, method, dtype, kwargs, block_info=None):
    from .validation import NonFiniteDataError

    try:
        # Each per-row array arrives as a (rows, 1) block beside its spectra.
        out = getattr(weights.model, method)(block, *(r[:, 0] for r in rows), **kwargs)
    except NonFiniteDataError as err:
        if block.ndim != 2 or not block_info:
            raise
        raise _on_all_rows(err, block_info[0]) from None
    return np.asarray(out, dtype=dtype)


def _on_all_rows(err, info):
    """``err`` of one chunk of spectra, its rows numbered in the whole array
    (the chunk's own numbering would point at the wrong spectra)."""
    import dataclasses

    from .validation import NonFiniteDataError

    total = int(info["shape"][0])
    start, stop = info["array-location"][0]

    def placed(flags):
        out = np.zeros(total, dtype=bool)
        out[start:stop] = flags
        return out

    summary = dataclasses.replace(
        err.summary,
        n_samples=total,
        nonfinite_rows=placed(err.summary.nonfinite_rows),
        zero_rows=placed(err.summary.zero_rows),
    )
    return NonFiniteDataError(
        summary, unit=f"{err.unit} of one chunk (others may hold more)"
    )


def map_model_blocks(
    model, X, method, chunks=None, depth=None, dtype=np.float32, rows=(), **kwargs
):
    """``model.<method>(block)`` on every chunk of a dask array, lazily.

    Parameters
    ----------
    model : fitted eels_ae estimator
    X : dask.array.Array
        Rows of spectra ``(n, channels)``, or a cube with ``depth``.
    method : str
        A method of the model applied to one chunk (numpy in, numpy out).
    chunks : tuple, optional
        Chunks of the output when they differ from the input's (e.g.
        ``(X.chunks[0], (n_components,))``); with ``depth``, those of the
        grown chunks, before the overlap is trimmed.
    depth : dict, optional
        Overlap between neighbouring chunks (``dask.array.map_overlap``),
        for models that read neighbouring pixels.
    dtype : numpy dtype
        Of the method's output (float32 for spectra, float64 for
        abundances).
    rows : sequence of 1-D arrays, optional
        One value per spectrum of ``X`` (rows of spectra only, not with
        ``depth``): each chunk's share is passed to the method after the
        block, ``model.<method>(block, *shares)`` (e.g. the shifts measured
        in a previous pass).
    **kwargs
        Passed to the method.

    Returns
    -------
    dask.array.Array
    """
    import dask.array as da

    fn = functools.partial(
        _call,
        weights=ModelWeights.of(model),
        method=method,
        dtype=np.dtype(dtype),
        kwargs=kwargs,
    )
    if depth is not None:
        boundary = {axis: ("nearest" if d else "none") for axis, d in depth.items()}
        extra = {} if chunks is None else {"chunks": chunks}
        return da.map_overlap(
            fn, X, depth=depth, boundary=boundary, dtype=dtype, **extra
        )
    extra = [_rows_beside(r, X) for r in rows]
    if extra:
        X = X.rechunk({1: -1})
    if chunks is None:
        return da.map_blocks(fn, X, *extra, dtype=dtype)
    drop = () if len(chunks) == X.ndim else tuple(range(len(chunks), X.ndim))
    return da.map_blocks(fn, X, *extra, dtype=dtype, chunks=chunks, drop_axis=drop)


def _rows_beside(values, X):
    """One value per row of ``X`` as a ``(n, 1)`` dask array chunked as its
    rows, so that every chunk of spectra meets its own values."""
    import dask.array as da

    values = np.asarray(values)
    if X.ndim != 2 or values.shape != (X.shape[0],):
        raise ValueError(
            f"per-row values of shape {values.shape} do not match {X.shape[0]} "
            "rows of spectra"
        )
    return da.from_array(values[:, None], chunks=(X.chunks[0], (1,)))


def compute_in_memory(array):
    """A small lazy result (maps, shifts, latent codes) as numpy.

    On the ``dask.distributed`` cluster when one is dask's active scheduler
    (its workers hold the model as weights); otherwise in this thread, one
    chunk at a time: dask's thread pool would run a torch model per thread
    on top of torch's own threads, and hold a chunk per thread in memory.
    """
    return np.asarray(array.compute(scheduler=_cluster_scheduler() or "synchronous"))


def _cluster_scheduler():
    """The ``dask.distributed`` client dask computes on now, or None."""
    import dask.base

    get = dask.base.get_scheduler()
    owner = getattr(get, "__self__", None)
    try:
        from distributed import Client
    except ImportError:  # distributed is optional: then there is no cluster
        return None
    return owner if isinstance(owner, Client) else None
