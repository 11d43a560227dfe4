"""What every eels_ae unmixing estimator shares: input checks and the
scikit-learn plumbing of ``X ~ abundances @ components_``."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..model_files import ModelFileMixin
from ..streaming import DEFAULT_BLOCK_BYTES, RowStream
from ..validation import (
    NonFiniteDataError,
    SpectraSummary,
    as_2d_array,
    check_finite,
    check_n_features,
    summarize_spectra,
    warn,
)
from .declared import DeclaredParamsMixin

__all__ = [
    "NonFiniteDataError",
    "SpectraSummary",
    "UnmixingEstimator",
    "summarize_spectra",
]


class UnmixingEstimator(
    DeclaredParamsMixin, ModelFileMixin, TransformerMixin, BaseEstimator
):
    """Base class: linear unmixing ``X ~ A @ components_`` with abundances ``A``.

    Subclasses implement ``_fit(X, summary)`` and ``_abundances(stream)``.
    ``components_`` holds the endmembers ``(n_components, n_features)`` in the
    units of the data; ``transform`` gives abundances that are non-negative and
    sum to one for every non-zero spectrum.
    """

    #: Rows per block when X is streamed (None: DEFAULT_BLOCK_BYTES of float32).
    _block_rows = None

    # -- scikit-learn API ------------------------------------------------
    def fit(self, X, y=None, *, energy_axis=None):
        """Learn the endmembers from spectra ``X`` (numpy or dask, 2-D).

        Parameters
        ----------
        X : array-like or dask.array.Array of shape (n_samples, n_features)
            One spectrum per row. A dask array is streamed block by block and
            never loaded whole.
        y : ignored
        energy_axis : dict, optional
            ``offset``, ``scale``, ``size``, ``units``, ``name`` of the energy
            axis of ``X``: kept in ``energy_axis_`` and in model files, so that
            applying the model to data on another axis is refused.

        Returns
        -------
        self
        """
        self._check_parameters()
        X, summary = self._check_fit_input(X)
        self._fit(X, summary)
        self.n_features_in_ = summary.n_features
        self.energy_axis_ = energy_axis
        return self

    def transform(self, X):
        """Abundances of each spectrum, shape ``(n_samples, n_components)``.

        Spectra that are all zero get abundances of zero. The output is held
        in memory even for dask input (it is small).
        """
        check_is_fitted(self, "components_")
        X = as_2d_array(X, type(self).__name__)
        check_n_features(self, X.shape[1])
        summary = check_finite(X, block_rows=self._block_rows)
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
                f"{name}: {n_samples} spectra (n_samples={n_samples}) are too few "
                f"to unmix {R} components; "
                f"at least {max(R, 2)} are needed."
            )
        summary = check_finite(X, block_rows=self._block_rows)
        n_zero = int(summary.zero_rows.sum())
        if n_zero == n_samples:
            raise ValueError(f"{name}: every spectrum is all zeros; nothing to unmix.")
        if n_samples - n_zero < R:
            raise ValueError(
                f"{name}: only {n_samples - n_zero} spectra are not all zeros, "
                f"fewer than n_components={R}."
            )
        if n_zero:
            warn(
                f"{n_zero} spectra are all zeros: they are left out of fitting and "
                "get abundances of 0.",
            )
        return X, summary

    def _init_sample_size(self, n_features):
        """Rows drawn for the geometric initialisation (bounded memory)."""
        by_memory = DEFAULT_BLOCK_BYTES // (4 * n_features)
        return int(max(self.n_components, min(self.max_init_samples, by_memory)))
