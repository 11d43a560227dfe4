"""What every eels_ae unmixing estimator shares: input checks and the
scikit-learn plumbing of ``X ~ abundances @ components_``."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..endmembers import (
    detectable_components,
    intensity_variation,
    scaled_abundances,
)
from ..model_files import ModelFileMixin
from ..result_checks import check_unmixing_result
from ..streaming import DEFAULT_BLOCK_BYTES, RowStream
from ..training.threads import single_blas_thread
from ..validation import (
    NonFiniteDataError,
    SpectraSummary,
    as_2d_array,
    check_finite,
    check_n_features,
    check_numeric,
    summarize_spectra,
    warn,
)
from .declared import DeclaredParamsMixin

#: Relative spread of the total intensity, beyond what composition and noise
#: explain (:func:`~eels_ae.endmembers.intensity_variation`), above which
#: ``intensity="auto"`` gives each spectrum its own scale (and 1.5x the
#: relative Poisson noise of the totals, for counts). Set between the images
#: without a thickness change (0.00-0.04 at 1000-2000 counts per spectrum,
#: up to 0.09 at 200 counts, up to 0.075 on background-subtracted line
#: scans) and those with a 0.6-1.4x one (0.08-0.12 where the thickness
#: follows the composition, 0.2-0.3 where it does not); see the unmixing
#: guide.
INTENSITY_VARIATION = 0.08

#: Spectra on which a result is checked after every fit (an SVD of them).
_CHECKED_ROWS = 512

#: The ``intensity`` parameter, as DAEU and VCA document it.
INTENSITY_DOC = """\
    intensity : {"auto", "fixed", "per_pixel"}, default "auto"
        ``"fixed"``: fully constrained least squares, ``x ~ abundances @
        components_``. ``"per_pixel"``: each spectrum is fitted as ``scale *
        (abundances @ components_)`` (non-negative least squares split into
        shares that sum to one and their sum), so that a change of total
        intensity from pixel to pixel (thickness, beam current) goes into the
        scale (``intensity_scale_``, ``s.learning_results.intensity_scale``)
        and not into the abundances; HyperSpy's ``get_decomposition_model``
        then multiplies by it. ``"auto"`` (kept in ``intensity_``) chooses
        ``"per_pixel"`` when the total intensity varies from spectrum to
        spectrum by more than composition and noise explain
        (``intensity_variation_`` > 0.08, :data:`INTENSITY_VARIATION`), else
        ``"fixed"``: without such a change the sum to one is a constraint
        that lowers the noise of the abundances (10-30 % lower NMSE measured
        on the chequerboards), with one it is wrong (the fractions follow the
        thickness). On thickness line scans with ``background_range`` the
        per-pixel scale halved the error of the fractions; see the unmixing
        guide. With ``"per_pixel"`` the pure pixels are picked among the
        spectra divided by their totals when no value is negative (spectra
        as recorded: a thick pixel would otherwise read as the purest), and
        among the spectra as they are after a background subtraction (whose
        totals carry the error of the extrapolated background).
"""

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

    Subclasses implement ``_fit(X, summary)`` and ``_abundances(stream)``; one
    that takes another kind of input overrides ``fit`` and
    :meth:`abundances_and_scale` (which ``transform`` and ``fit_transform``
    call).
    ``components_`` holds the endmembers ``(n_components, n_features)`` in the
    units of the data; ``transform`` gives abundances that are non-negative and
    sum to one for every non-zero spectrum.

    After every fit the result is checked on a sample of the training
    spectra (:func:`eels_ae.result_checks.check_unmixing_result`): a result
    that explains the data much worse than a linear model of the same rank,
    endmembers that coincide, one that no pixel holds, a degenerate scale
    split or negative endmembers give one warning that says which, and the
    figures are kept in ``fit_checks_``.
    """

    #: Rows per block when X is streamed (None: DEFAULT_BLOCK_BYTES of float32).
    _block_rows = None
    #: Whether fit checks its result (ensemble members and inner fits do not:
    #: only the result they feed is reported).
    _checks_result = True

    # -- scikit-learn API ------------------------------------------------
    @single_blas_thread
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
        self._check_sample(X, summary)
        self._fit(X, summary)
        self.n_features_in_ = summary.n_features
        self.energy_axis_ = energy_axis
        idx, rows = RowStream(X, block_rows=self._block_rows).sample_rows(
            _CHECKED_ROWS, np.random.default_rng(1)
        )
        self._check_result(rows, idx)
        return self

    def transform(self, X):
        """Abundances of each spectrum, shape ``(n_samples, n_components)``.

        Non-negative, summing to one. With ``intensity="per_pixel"`` each
        spectrum is fitted as ``scale * (abundances @ components_)``, so a
        thicker pixel (more counts) keeps its abundances; the scales come
        from :meth:`abundances_and_scale` (and ``intensity_scale_`` after
        ``fit_transform``). Spectra that are all zero get abundances of zero.
        The output is held in memory even for dask input (it is small).
        """
        return self.abundances_and_scale(X)[0]

    @single_blas_thread
    def abundances_and_scale(self, X):
        """Abundances (sum to one) and the intensity scale of each spectrum.

        Parameters
        ----------
        X : array-like or dask array, shape (n_samples, n_features)

        Returns
        -------
        abundances : ndarray, shape (n_samples, n_components)
        scale : ndarray, shape (n_samples,)
            ``X[i] ~ scale[i] * abundances[i] @ components_``: about 1 for a
            spectrum of the typical intensity of the training data, 2 for one
            with twice the counts (a thicker region). All ones with
            ``intensity="fixed"``.
        """
        stream, summary = self._checked_stream(X)
        if self._per_pixel:
            A, scale = self._scaled_abundances(stream)
        else:
            A = self._abundances(stream).astype(np.float64)
            scale = np.ones(len(A))
        A[summary.zero_rows] = 0.0
        scale[summary.zero_rows] = 0.0
        return A, scale

    def reconstruct(self, X, return_abundances=False):
        """The spectra of ``X`` as the model explains them:
        ``scale * abundances @ components_`` (:meth:`abundances_and_scale`).

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        return_abundances : bool, default False
            Also return the abundances they were made from.

        Returns
        -------
        ndarray, shape (n_samples, n_features)
        abundances : ndarray, shape (n_samples, n_components)
            With ``return_abundances``.
        """
        A, scale = self.abundances_and_scale(X)
        spectra = np.asarray(scale)[:, None] * (np.asarray(A) @ self.components_)
        return (spectra, A) if return_abundances else spectra

    def abundance_and_scale_columns(self, X):
        """:meth:`abundances_and_scale` as one array, the scale in the last
        column (one output per block when mapped over dask chunks)."""
        return _stacked(self.abundances_and_scale(X))

    def _checked_stream(self, X):
        """Spectra to apply the fitted model to, checked (fitted, 2-D, the
        trained channels, finite), as a stream scaled as in training."""
        check_is_fitted(self, "components_")
        X = as_2d_array(X, type(self).__name__)
        check_n_features(self, X.shape[1])
        summary = check_finite(X, block_rows=self._block_rows)
        # Neural estimators saw their training data divided by scale_.
        stream = RowStream(
            X, block_rows=self._block_rows, scale=getattr(self, "scale_", 1.0)
        )
        return stream, summary

    def _scaled_abundances(self, stream):
        """Non-negative least squares per spectrum, split into shares and a sum.

        With ``abundances="encoder"`` (DAEU) the encoder's abundances are kept
        and the scale is the least-squares factor of each reconstruction.
        """
        M = self.components_
        if getattr(self, "abundances", "fcls") != "encoder":
            parts = stream.map_blocks(
                lambda block: _stacked(scaled_abundances(block, M))
            )
            return parts[:, :-1].copy(), parts[:, -1].copy()
        A = self._abundances(stream).astype(np.float64)
        scale = np.empty(len(A))
        for start, block in stream.blocks():
            fitted = A[start : start + len(block)] @ M
            num = np.einsum("ij,ij->i", np.asarray(block, np.float64), fitted)
            den = np.einsum("ij,ij->i", fitted, fitted)
            scale[start : start + len(block)] = num / np.maximum(den, 1e-300)
        return A, np.clip(scale, 0.0, None)

    @single_blas_thread
    def fit_transform(self, X, y=None, **fit_params):
        """Fit (with ``fit_params``, e.g. ``navigation_shape``), then return
        the abundances of ``X`` (and keep their intensity scales in
        ``intensity_scale_``)."""
        A, self.intensity_scale_ = self.fit(X, **fit_params).abundances_and_scale(X)
        return A

    def inverse_transform(self, X):
        """Spectra reconstructed from abundances ``X``: ``X @ components_``."""
        check_is_fitted(self, "components_")
        A = check_numeric(X, f"{type(self).__name__}.inverse_transform")
        R = self.components_.shape[0]
        if A.ndim != 2 or A.shape[1] != R:
            raise ValueError(
                f"{type(self).__name__}.inverse_transform takes abundances of shape "
                f"(n_samples, {R}), one column per endmember; got shape {A.shape}."
            )
        return A @ self.components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    # -- checks ------------------------------------------------------------
    def _check_result(self, rows, idx=None):
        """``fit_checks_`` (:func:`~eels_ae.result_checks.check_unmixing_result`
        on a sample of the training spectra ``rows``, rows ``idx`` of them, as
        the model sees them), and one warning that lists what is wrong with
        the result, if anything: wrong without a word is the worst result."""
        if not self._checks_result:
            return
        rows = np.asarray(rows)
        # The first rows that are not all zero, in float64: never a float64
        # copy of the whole sample (memory of lazy fits).
        rows = rows[np.abs(rows).sum(axis=1) > 0][:_CHECKED_ROWS].astype(np.float64)
        if len(rows) < 2:
            return
        A, scale = UnmixingEstimator.abundances_and_scale(self, rows)
        checks = check_unmixing_result(rows, A, scale, self.components_)
        self.fit_checks_ = checks.as_dict()
        if checks.problems:
            warn(
                f"{type(self).__name__}: "
                + "; ".join(checks.problems)
                + ". Compare the result with the raw spectra before using it "
                "(details in fit_checks_)."
            )

    def _check_sample(self, X, summary, max_rows=2000):
        """On a sample of the spectra: warn when the data hold clearly fewer
        components than asked for, and choose the intensity model
        (``intensity_``)."""
        R = int(self.n_components)
        stream = RowStream(X, block_rows=self._block_rows)
        _, rows = stream.sample_rows(max_rows, np.random.default_rng(0))
        rows = rows[np.abs(rows).sum(axis=1) > 0]
        self._choose_intensity(rows, summary.counts)
        if R < 2 or len(rows) < 3:
            return
        found = detectable_components(rows)
        if found < R and (found == 1 or found <= R - 2):
            warn(
                f"the data hold about {found} component(s) above the noise (singular "
                "values of the Poisson-normalised spectra above the edge of pure "
                f"noise), but n_components={R}: the extra endmembers can only fit "
                f"noise. Try n_components={found}, or check the data."
            )

    def _choose_intensity(self, rows, counts):
        """``intensity_``: what ``intensity`` says, or for ``"auto"``
        ``"per_pixel"`` where the total intensity of ``rows`` varies by more
        than :data:`INTENSITY_VARIATION` beyond what composition and noise
        explain (``intensity_variation_``), else ``"fixed"``."""
        chosen = getattr(self, "intensity", None)
        if chosen is None:
            return
        if chosen == "auto":
            variation, noise = intensity_variation(
                rows, int(self.n_components), counts, return_noise=True
            )
            self.intensity_variation_ = variation
            # At a few hundred counts per spectrum the estimate itself is
            # noisy: there the variation must also stand out of the totals'
            # own Poisson noise.
            varies = variation > max(INTENSITY_VARIATION, 1.5 * noise)
            chosen = "per_pixel" if varies else "fixed"
        self.intensity_ = chosen

    @property
    def _per_pixel(self):
        """Whether the fitted model has an intensity scale per spectrum."""
        chosen = getattr(self, "intensity_", None) or getattr(self, "intensity", None)
        return chosen == "per_pixel"

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
                f"(n_features={n_features}); ask for at most {n_features} "
                "components."
            )
        if n_samples < max(R, 2):
            raise ValueError(
                f"{name}: {n_samples} spectra (n_samples={n_samples}) are too few "
                f"to unmix {R} components; "
                f"at least {max(R, 2)} are needed."
            )
        if R == 1:
            warn(
                f"{name}: with n_components=1 every abundance is 1 (the one "
                "endmember is the mean spectrum's shape): nothing is unmixed. Ask "
                "for 2 or more endmembers to separate phases."
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


def _stacked(result):
    """``(abundances, scale)`` as one array, scale last (for map_blocks)."""
    A, scale = result
    return np.hstack([A, scale[:, None]])
