"""What every eels_ae unmixing estimator shares: input checks, the
scikit-learn plumbing, and the neural training parameters."""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..model_files import ModelFileMixin
from ..streaming import DEFAULT_BLOCK_BYTES, RowStream, is_dask_array

__all__ = [
    "NonFiniteDataError",
    "SpectraSummary",
    "UnmixingEstimator",
    "summarize_spectra",
]


class NonFiniteDataError(ValueError):
    """The data hold NaN or inf; ``summary`` says how many and in which rows.

    ``where(row)`` names a row in the message (a pixel, say); ``unit`` is
    what a row is called there.
    """

    def __init__(self, summary, where=None, unit="spectra"):
        self.summary = summary
        message = summary.nonfinite_message(where)
        super().__init__(message.replace("spectra", unit))


@dataclass
class SpectraSummary:
    """One pass over the data: what fitting needs to know before it starts."""

    n_samples: int
    n_features: int
    max_abs: float
    n_nonfinite: int
    nonfinite_rows: np.ndarray
    zero_rows: np.ndarray

    def nonfinite_message(self, where=None) -> str:
        """Say how many non-finite values there are, and where."""
        rows = np.flatnonzero(self.nonfinite_rows)
        where = where or (lambda r: f"row {r}")
        shown = ", ".join(where(int(r)) for r in rows[:5])
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        return (
            f"the data contain {self.n_nonfinite} non-finite value(s) (NaN or inf) "
            f"in {len(rows)} spectra: {shown}{more}. Replace or remove them first "
            "(for example s.data = numpy.nan_to_num(s.data), or crop the "
            "affected pixels)."
        )


def _block_summary(block):
    """Largest |value|, non-finite count per row, all-zero rows: one block."""
    finite = np.isfinite(block)
    bad = block.shape[1] - finite.sum(axis=1)
    if bad.any():
        block = np.where(finite, block, 0)
    max_abs = max(float(block.max()), -float(block.min())) if block.size else 0.0
    return max_abs, bad, ~block.any(axis=1)


def summarize_spectra(X, block_rows=None) -> SpectraSummary:
    """Check the values of ``X`` in one pass, block by block (dask-aware).

    Both numpy and dask arrays are scanned in blocks (:class:`RowStream`), so
    that temporary arrays stay small and a dask array is never held whole.
    """
    if is_dask_array(X):
        stream = RowStream(X, block_rows=block_rows)
        parts = [_block_summary(block) for _, block in stream.blocks()]
    else:
        step = block_rows or DEFAULT_BLOCK_BYTES // (4 * max(X.shape[1], 1))
        step = max(1, step)
        parts = [_block_summary(X[i : i + step]) for i in range(0, len(X), step)]
    max_abs = max((p[0] for p in parts), default=0.0)
    bad_rows = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
    zero_rows = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, bool)
    return SpectraSummary(
        n_samples=int(X.shape[0]),
        n_features=int(X.shape[1]),
        max_abs=float(max_abs),
        n_nonfinite=int(bad_rows.sum()),
        nonfinite_rows=bad_rows > 0,
        zero_rows=zero_rows.astype(bool) & ~(bad_rows > 0),
    )


def as_2d_array(X, name):
    """Accept numpy-like or dask 2-D input; return numpy float or dask as is."""
    if not is_dask_array(X):
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise TypeError(f"{name} needs numeric data, got dtype {X.dtype}.")
    if X.ndim != 2:
        raise ValueError(
            f"{name} expects a 2-D array of spectra (n_samples, n_channels), got "
            f"shape {X.shape}. Reshape it, e.g. X.reshape(-1, X.shape[-1])."
        )
    return X


class UnmixingEstimator(ModelFileMixin, TransformerMixin, BaseEstimator):
    """Base class: linear unmixing ``X ~ A @ components_`` with abundances ``A``.

    Subclasses implement ``_fit(X, summary)`` and ``_abundances(stream)``.
    ``components_`` holds the endmembers ``(n_components, n_features)`` in the
    units of the data; ``transform`` gives abundances that are non-negative and
    sum to one for every non-zero spectrum.
    """

    #: Rows per block when X is streamed (None: DEFAULT_BLOCK_BYTES of float32).
    _block_rows = None

    # -- scikit-learn API ------------------------------------------------
    def fit(self, X, y=None):
        """Learn the endmembers from spectra ``X`` (numpy or dask, 2-D).

        Parameters
        ----------
        X : array-like or dask.array.Array of shape (n_samples, n_features)
            One spectrum per row. A dask array is streamed block by block and
            never loaded whole.
        y : ignored

        Returns
        -------
        self
        """
        X, summary = self._check_fit_input(X)
        self._fit(X, summary)
        self.n_features_in_ = summary.n_features
        return self

    def transform(self, X):
        """Abundances of each spectrum, shape ``(n_samples, n_components)``.

        Spectra that are all zero get abundances of zero. The output is held
        in memory even for dask input (it is small).
        """
        check_is_fitted(self, "components_")
        X = as_2d_array(X, type(self).__name__)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} channels, but {type(self).__name__} was "
                f"fitted on {self.n_features_in_}: the energy axes must match "
                "(crop or rebin the new data to the training axis)."
            )
        summary = summarize_spectra(X, self._block_rows)
        if summary.n_nonfinite:
            raise ValueError(summary.nonfinite_message())
        # Neural estimators saw their training data divided by scale_.
        stream = RowStream(
            X, block_rows=self._block_rows, scale=getattr(self, "scale_", 1.0)
        )
        A = self._abundances(stream).astype(np.float64)
        A[summary.zero_rows] = 0.0
        return A

    def fit_transform(self, X, y=None):
        """Fit, then return the abundances of ``X``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X):
        """Spectra reconstructed from abundances ``X``: ``X @ components_``."""
        check_is_fitted(self, "components_")
        return np.asarray(X) @ self.components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    # -- checks ------------------------------------------------------------
    def _check_fit_input(self, X):
        name = type(self).__name__
        X = as_2d_array(X, name)
        n_samples, n_features = X.shape
        R = self.n_components
        if R is None:
            raise ValueError(
                f"{name}: set n_components, the number of endmembers to find "
                "(output_dimension in s.decomposition)."
            )
        if not isinstance(R, numbers.Integral) or isinstance(R, bool) or R < 1:
            raise ValueError(
                f"{name}: n_components must be a positive integer, got {R!r}."
            )
        if R > n_features:
            raise ValueError(
                f"{name}: n_components={R} is larger than the number of channels "
                f"({n_features}); ask for at most {n_features} components."
            )
        if n_samples < max(R, 2):
            raise ValueError(
                f"{name}: {n_samples} spectra are too few to unmix {R} components; "
                f"at least {max(R, 2)} are needed."
            )
        summary = summarize_spectra(X, self._block_rows)
        if summary.n_nonfinite:
            raise NonFiniteDataError(summary)
        n_zero = int(summary.zero_rows.sum())
        if n_zero == n_samples:
            raise ValueError(f"{name}: every spectrum is all zeros; nothing to unmix.")
        if n_samples - n_zero < R:
            raise ValueError(
                f"{name}: only {n_samples - n_zero} spectra are not all zeros, "
                f"fewer than n_components={R}."
            )
        if n_zero:
            warnings.warn(
                f"{n_zero} spectra are all zeros: they are left out of fitting and "
                "get abundances of 0.",
                UserWarning,
                stacklevel=3,
            )
        return X, summary

    def _init_sample_size(self, n_features):
        """Rows drawn for the geometric initialisation (bounded memory)."""
        by_memory = DEFAULT_BLOCK_BYTES // (4 * n_features)
        return int(max(self.n_components, min(self.max_init_samples, by_memory)))
