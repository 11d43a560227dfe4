"""Geometric endmember extraction and fully constrained abundance estimation.

This module is pure NumPy/SciPy and works on plain 2-D arrays whose rows are
spectra (``(n_pixels, n_channels)``), so it can be used with or without
HyperSpy and gives cheap, deterministic baselines (and initialisations) for the
learned unmixing models.

* :func:`vca` - Vertex Component Analysis (Nascimento & Bioucas-Dias, 2005)
  [1]_ picks the purest pixels as endmembers under the linear mixing model.
* :func:`nfindr` - N-FINDR (Winter 1999) [5]_: the pixels spanning the
  simplex of largest volume.
* :func:`signal_subspace_endmembers` - VCA picks projected onto the data's
  signal subspace (denoised), as the original VCA returns them
  (:func:`project_on_signal_subspace`).
* :func:`fcls` - fully constrained least squares [2]_: non-negative
  abundances that sum to one in every pixel, solved for all pixels at once by
  accelerated projected gradient [4]_.
* :func:`linear_coefficients` - multiple linear regression with known
  spectra (optionally non-negative and/or summing to one).
* :func:`project_simplex` - Euclidean projection of rows onto the probability
  simplex [3]_, used by :func:`fcls` and useful on its own.

References
----------
.. [1] J. M. P. Nascimento and J. M. Bioucas-Dias, "Vertex component analysis:
   a fast algorithm to unmix hyperspectral data", IEEE Trans. Geosci. Remote
   Sens. 43(4), 898-910 (2005).
.. [2] D. C. Heinz and C.-I Chang, "Fully constrained least squares linear
   spectral mixture analysis method for material quantification in
   hyperspectral imagery", IEEE Trans. Geosci. Remote Sens. 39(3), 529-545
   (2001).
.. [3] J. Duchi, S. Shalev-Shwartz, Y. Singer and T. Chandra, "Efficient
   projections onto the l1-ball for learning in high dimensions", ICML 2008.
.. [4] A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding
   algorithm for linear inverse problems", SIAM J. Imaging Sci. 2(1), 183-202
   (2009); B. O'Donoghue and E. Candes, "Adaptive restart for accelerated
   gradient schemes", Found. Comput. Math. 15, 715-732 (2015).
.. [5] M. E. Winter, "N-FINDR: an algorithm for fast autonomous spectral
   end-member determination in hyperspectral data", Proc. SPIE 3753,
   Imaging Spectrometry V, 266-275 (1999).
"""

from __future__ import annotations

import logging
import operator
from typing import NamedTuple

import numpy as np
import scipy.linalg

__all__ = [
    "average_pure_pixels",
    "fcls",
    "intensity_variation",
    "linear_coefficients",
    "nfindr",
    "project_on_signal_subspace",
    "project_simplex",
    "signal_subspace_endmembers",
    "vca",
]

_logger = logging.getLogger(__name__)

# Above this many channels the L x L correlation matrix (and its
# eigendecomposition) costs more than a randomised range finder, so VCA
# switches to the latter.
_EXACT_MAX_CHANNELS = 512
# Rows processed at a time when a float32 array has to be promoted to float64
# or scanned for non-finite values; bounds temporary memory for large images.
_CHUNK_ROWS = 16384


# --------------------------------------------------------------------------
# Input validation helpers
# --------------------------------------------------------------------------


def _as_float_2d(X, name):
    """Return ``X`` as a floating 2-D array (float32 is kept, not copied)."""
    X = np.asarray(X)
    if np.iscomplexobj(X):
        raise ValueError(
            f"{name} must be real-valued, got dtype {X.dtype}; pass the real "
            "part (or the magnitude) of the data."
        )
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_pixels, n_channels) with one "
            f"spectrum per row, got an array with shape {X.shape}; reshape it, "
            "e.g. data.reshape(-1, data.shape[-1])."
        )
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    return X


def _check_finite(X, name):
    # Chunked so that a 262k x 2k image does not need a 0.5 GB boolean mask.
    for start in range(0, X.shape[0], _CHUNK_ROWS):
        if not np.isfinite(X[start : start + _CHUNK_ROWS]).all():
            raise ValueError(
                f"{name} contains NaN or infinite values; remove or replace "
                "them (e.g. with np.nan_to_num or by masking those pixels) "
                "before unmixing."
            )


def _rows_times(X, M):
    """Compute ``X @ M`` in float64 without a full float64 copy of ``X``."""
    if X.dtype == np.float64:
        return X @ M
    out = np.empty((X.shape[0], M.shape[1]), dtype=np.float64)
    for start in range(0, X.shape[0], _CHUNK_ROWS):
        stop = start + _CHUNK_ROWS
        out[start:stop] = X[start:stop].astype(np.float64) @ M
    return out


# --------------------------------------------------------------------------
# Vertex Component Analysis
# --------------------------------------------------------------------------


class _VCAResult(NamedTuple):
    """Internal VCA outcome; ``projection`` tells which branch was used."""

    indices: np.ndarray
    snr: float
    projection: str  # "projective" (high SNR) or "affine" (low SNR)


def _estimate_snr(p_y, p_x, n_components, n_channels):
    """SNR estimate in dB, eq. (13) of Nascimento & Bioucas-Dias (2005).

    ``p_y`` is the mean power of the data and ``p_x`` the mean power captured
    by the mean plus the ``n_components``-dimensional principal subspace.
    """
    noise = p_y - p_x
    signal = p_x - n_components / n_channels * p_y
    # Rounding can leave a tiny or negative residual on noiseless data: that
    # is an infinitely clean signal, not an error.
    if noise <= 1e-12 * p_y:
        return np.inf
    if signal <= 0:
        return -np.inf
    return float(10.0 * np.log10(signal / noise))


def _exact_subspace(C, k):
    """Top-``k`` eigenvectors/values of the symmetric matrix ``C``, descending."""
    n = C.shape[0]
    vals, vecs = scipy.linalg.eigh(C, subset_by_index=[n - k, n - 1])
    return vecs[:, ::-1], vals[::-1]


def _randomized_row_basis(X, width, rng, n_iter=2):
    """Orthonormal basis of the dominant row space of ``X`` (randomised).

    Range finder of Halko, Martinsson & Tropp (2011) with ``n_iter`` power
    iterations, applied to ``X.T``; costs ``2 n_iter + 2`` passes of
    ``X @ (n_channels, width)``-sized products.

    Returns
    -------
    V : ndarray, shape (n_channels, width), float64
    """
    dtype = X.dtype
    Y = X @ rng.standard_normal((X.shape[1], width)).astype(dtype)
    for _ in range(n_iter):
        # Re-orthonormalise between passes so that rounding does not swamp
        # the weaker (but still wanted) singular directions.
        Q, _ = np.linalg.qr(Y)
        V, _ = np.linalg.qr(X.T @ Q)
        Y = X @ V
    Q, _ = np.linalg.qr(Y)
    V, _ = np.linalg.qr((X.T @ Q).astype(np.float64))
    return V


def _vca(X, n_components, rng, snr=None):
    """Run VCA on validated input and report which projection was used."""
    n_pixels, n_channels = X.shape
    R = n_components
    exact = n_channels <= _EXACT_MAX_CHANNELS

    if exact:
        # One L x L Gram matrix serves both the covariance (SNR estimate and
        # affine branch) and the correlation (projective branch).
        D = X
        if X.dtype == np.float64:
            gram = X.T @ X
        else:
            gram = np.zeros((n_channels, n_channels))
            for start in range(0, n_pixels, _CHUNK_ROWS):
                chunk = X[start : start + _CHUNK_ROWS].astype(np.float64)
                gram += chunk.T @ chunk
        corr = gram / n_pixels
        p_y = float(np.trace(corr))
        mean = X.mean(axis=0, dtype=np.float64)
    else:
        # Both the centred and the uncentred dominant subspaces lie in the
        # dominant row space of X (the mean is a combination of rows), so one
        # randomised sketch V serves both; all further work happens on the
        # reduced data D = X V, never touching X again.
        V = _randomized_row_basis(X, min(R + 10, n_channels, n_pixels), rng)
        D = _rows_times(X, V)
        corr = D.T @ D / n_pixels
        mean = D.mean(axis=0)
        p_y = 0.0
        for start in range(0, n_pixels, _CHUNK_ROWS):
            chunk = X[start : start + _CHUNK_ROWS].astype(np.float64, copy=False)
            p_y += float(np.einsum("ij,ij->", chunk, chunk))
        p_y /= n_pixels
    if p_y == 0.0:
        raise ValueError(
            "X contains only zeros, so there are no vertices to find; check "
            "that the right data were passed."
        )

    cov_vecs = None
    if snr is None or (R > 1 and snr < 15 + 10 * np.log10(R)):
        cov_vecs, cov_vals = _exact_subspace(corr - np.outer(mean, mean), R)
        if snr is None:
            p_x = float(np.sum(cov_vals)) + float(mean @ mean)
            snr = _estimate_snr(p_y, p_x, R, n_channels)

    # With R = 1 there is no simplex to orient, so the projective branch
    # (strongest pixel) is used whatever the SNR.
    if R > 1 and snr < 15 + 10 * np.log10(R):
        # Low SNR: orthogonal projection onto the (R-1)-dim affine subspace
        # around the mean; the constant coordinate c makes every pixel
        # non-zero so the simplex does not contain the origin.
        projection = "affine"
        x = _rows_times(D, cov_vecs[:, : R - 1]) - mean @ cov_vecs[:, : R - 1]
        c = np.sqrt(np.max(np.einsum("ij,ij->i", x, x)))
        y = np.hstack([x, np.full((n_pixels, 1), c)])
    else:
        # High SNR: project onto the R-dim subspace of the uncentred data and
        # rescale each pixel onto the hyperplane {y : y.u = 1}. This projective
        # projection removes scale (illumination / thickness) variations, so
        # the pixels lie on a simplex whose vertices are the endmembers.
        projection = "projective"
        corr_vecs, _ = _exact_subspace(corr, R)
        x = _rows_times(D, corr_vecs)
        u = x.mean(axis=0)
        scale = x @ u
        if R == 1:
            # Every pixel would collapse onto the same point; keep the raw
            # coordinate so the strongest pixel is returned.
            y = x
        else:
            # Pixels with ~zero (or negative) projection on the mean direction,
            # e.g. empty pixels, cannot be scaled; park them at the origin
            # where they are never selected.
            good = scale > 1e-12 * np.max(np.abs(scale))
            y = np.zeros_like(x)
            y[good] = x[good] / scale[good, None]

    indices = np.empty(R, dtype=np.intp)
    # The first direction is made orthogonal to e_R, as in the reference
    # algorithm (in the affine branch e_R is the constant coordinate, which
    # carries no vertex information).
    basis = np.zeros((R, 1))
    basis[-1, 0] = 1.0
    for i in range(R):
        w = rng.standard_normal(R)
        if R > 1:
            coef, *_ = np.linalg.lstsq(basis, w, rcond=None)
            f = w - basis @ coef
        else:
            f = w
        f /= np.linalg.norm(f)
        v = np.abs(y @ f)
        indices[i] = int(np.argmax(v))
        vertex = y[indices[i]][:, None]
        basis = vertex if i == 0 else np.hstack([basis, vertex])
    return _VCAResult(indices=indices, snr=float(snr), projection=projection)


def _check_pick_args(X, n_components, method):
    """Checked ``X`` (float 2-D) and ``n_components`` for a pure-pixel method."""
    X = _as_float_2d(X, "X")
    try:
        n_components = operator.index(n_components)
    except TypeError:
        raise ValueError(
            f"n_components must be an integer, got {n_components!r}."
        ) from None
    n_pixels, n_channels = X.shape
    if n_components < 1:
        raise ValueError(
            f"n_components must be at least 1, got {n_components}; ask for the "
            "number of endmembers (phases) expected in the data."
        )
    if n_components > n_channels:
        raise ValueError(
            f"n_components={n_components} exceeds the number of channels "
            f"({n_channels}); at most n_channels endmembers can be linearly "
            "independent, so reduce n_components."
        )
    if n_pixels < n_components:
        raise ValueError(
            f"X has only {n_pixels} pixel(s) but n_components={n_components}; "
            f"{method} picks endmembers among the pixels, so provide at least "
            "n_components spectra or reduce n_components."
        )
    _check_finite(X, "X")
    return X, n_components


def vca(X, n_components, random_state=None, snr=None):
    """Extract endmembers with Vertex Component Analysis.

    VCA assumes the linear mixing model with (at least nearly) pure pixels:
    after projecting the data to an ``n_components``-dimensional subspace the
    pixels fill a simplex whose vertices are the endmembers. Vertices are found
    one at a time as the pixel with the largest absolute projection onto a
    random direction orthogonal to the vertices already found.

    Parameters
    ----------
    X : array_like, shape (n_pixels, n_channels)
        Data with one (mostly non-negative) spectrum per row. float32 input is
        processed in float32 where that saves memory.
    n_components : int
        Number of endmembers ``R`` to extract, ``1 <= R <= n_channels`` and
        ``R <= n_pixels``.
    random_state : None, int or numpy.random.Generator, optional
        Seed for ``numpy.random.default_rng``; the same seed gives the same
        result.
    snr : float, optional
        Signal-to-noise ratio in dB. If None it is estimated from the data as
        in the paper. It only selects the projection: above
        ``15 + 10 log10(R)`` dB the projective projection onto the dominant
        R-dimensional subspace of the uncentred data is used; below it, an
        orthogonal projection onto the ``R - 1`` leading principal components
        plus a constant coordinate.

    Returns
    -------
    endmembers : ndarray, shape (n_components, n_channels)
        The selected spectra, copied from the original rows ``X[indices]``
        (not denoised projections).
    indices : ndarray of int, shape (n_components,)
        Row indices of the selected pixels, in order of extraction.

    Raises
    ------
    ValueError
        If ``X`` is not a finite real 2-D array, is all zeros, or if
        ``n_components`` is out of range.

    Notes
    -----
    Subspaces come from the ``n_channels x n_channels`` correlation matrix
    when ``n_channels <= 512``. For more channels the dominant row space of
    ``X`` is first sketched with a randomised range finder (``R + 10``
    columns, 2 power iterations, drawn from the same seeded generator) and the
    correlation/covariance are formed in that small space. No
    ``n_pixels x n_pixels`` matrix is ever formed and the cost is linear in
    ``n_pixels``. Which projection was chosen and the SNR estimate are logged
    at DEBUG level.

    With ``n_components=1`` all pixels project onto one point; the pixel with
    the largest projection on the dominant singular vector is returned.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((3, 50))
    >>> A = rng.dirichlet(np.ones(3), size=200)
    >>> A[:3] = np.eye(3)                      # pure pixels
    >>> endmembers, idx = vca(A @ E, 3, random_state=0)
    >>> sorted(idx.tolist())
    [0, 1, 2]
    """
    X, n_components = _check_pick_args(X, n_components, "VCA")
    if snr is not None and np.isnan(snr):
        raise ValueError("snr must be a number in dB or None (estimate it).")

    rng = np.random.default_rng(random_state)
    result = _vca(X, n_components, rng, snr=snr)
    _logger.debug(
        "VCA: SNR %s dB, %s projection", f"{result.snr:.1f}", result.projection
    )
    return X[result.indices].copy(), result.indices


# --------------------------------------------------------------------------
# Simplex projection and FCLS
# --------------------------------------------------------------------------


def project_simplex(V):
    """Project rows onto the probability simplex.

    Solves ``argmin_a ||a - v||_2`` subject to ``a >= 0`` and ``sum(a) = 1``
    for every row ``v`` using the sort-based algorithm (Held et al. 1974;
    Duchi et al. 2008), vectorised over rows: ``O(R log R)`` per row.

    Parameters
    ----------
    V : array_like, shape (n_rows, R) or (R,)
        Points to project. A 1-D input is treated as a single row.

    Returns
    -------
    ndarray
        Projections with the same shape as ``V`` (float64): non-negative and
        summing to one along the last axis (up to rounding).

    Raises
    ------
    ValueError
        If ``V`` is empty along the last axis, has more than 2 dimensions or
        contains non-finite values.

    Examples
    --------
    >>> project_simplex([0.5, 0.5, 0.5])
    array([0.33333333, 0.33333333, 0.33333333])
    >>> project_simplex([2.0, 0.0])
    array([1., 0.])
    """
    V = np.asarray(V, dtype=np.float64)
    if V.ndim not in (1, 2) or V.shape[-1] == 0:
        raise ValueError(
            "V must be a 1-D vector or a 2-D array of row vectors with at "
            f"least one column, got shape {V.shape}."
        )
    if not np.isfinite(V).all():
        raise ValueError("V contains NaN or infinite values.")
    if V.ndim == 1:
        return _project_simplex_rows(V[None, :])[0]
    return _project_simplex_rows(V)


def _project_simplex_rows(V):
    """Unchecked row-wise simplex projection of a 2-D float64 array."""
    n, R = V.shape
    U = -np.sort(-V, axis=1)  # descending
    css = np.cumsum(U, axis=1) - 1.0
    k = np.arange(1, R + 1)
    # rho = largest k with u_k > (sum_{j<=k} u_j - 1) / k; k = 1 always holds.
    support = U * k > css
    rho = R - 1 - np.argmax(support[:, ::-1], axis=1)
    theta = css[np.arange(n), rho] / (rho + 1)
    return np.maximum(V - theta[:, None], 0.0)


def _solve_on_supports(G, B, support, tol, lipschitz):
    """Equality-constrained optimum on each row's support, with KKT check.

    For each row, minimise ``0.5 a.G.a - b.a`` subject to ``sum(a) = 1`` and
    ``a_j = 0`` off the support. Rows sharing a support pattern share the KKT
    matrix, so they are solved together with one small least-squares solve.

    Returns
    -------
    cand : ndarray, shape (n, R)
        Candidate abundances (clipped to the simplex where accepted).
    optimal : ndarray of bool, shape (n,)
        True where the candidate satisfies the full KKT conditions of the
        simplex-constrained problem (primal feasible within ``tol`` and dual
        feasible), i.e. is the exact FCLS solution.
    """
    n, R = B.shape
    codes = support.astype(np.int64) @ (np.int64(1) << np.arange(R, dtype=np.int64))
    order = np.argsort(codes, kind="stable")
    uniq, starts = np.unique(codes[order], return_index=True)
    bounds = np.append(starts, n)
    cand = np.zeros((n, R))
    optimal = np.zeros(n, dtype=bool)
    for g, code in enumerate(uniq):
        rows = order[bounds[g] : bounds[g + 1]]
        S = ((int(code) >> np.arange(R)) & 1).astype(bool)
        s = int(S.sum())
        if s == 0:
            continue
        kkt = np.zeros((s + 1, s + 1))
        kkt[:s, :s] = G[np.ix_(S, S)]
        kkt[:s, s] = 1.0
        kkt[s, :s] = 1.0
        rhs = np.vstack([B[rows][:, S].T, np.ones((1, rows.size))])
        # lstsq also copes with singular G_SS (e.g. duplicated endmembers).
        sol, *_ = np.linalg.lstsq(kkt, rhs, rcond=None)
        a = np.zeros((rows.size, R))
        a[:, S] = sol[:s].T
        nu = sol[s]
        # Stationarity on S gives grad_S = -nu; optimality needs
        # grad_j + nu >= 0 off the support (non-negative multipliers).
        grad = a @ G - B[rows]
        dual = grad[:, ~S] + nu[:, None]
        b_scale = np.abs(B[rows]).max(axis=1)
        dual_tol = tol * lipschitz + 64 * np.finfo(float).eps * (lipschitz + b_scale)
        ok = (a[:, S] >= -tol).all(axis=1)
        ok &= np.abs(a.sum(axis=1) - 1.0) <= 1e3 * np.finfo(float).eps * s + tol
        ok &= (dual >= -dual_tol[:, None]).all(axis=1)
        cand[rows] = a
        optimal[rows] = ok
    # Remove rounding-level violations so constraints hold exactly.
    cand = np.maximum(cand, 0.0)
    sums = cand.sum(axis=1, keepdims=True)
    np.divide(cand, sums, out=cand, where=sums > 0)
    return cand, optimal


def _fcls_gram(G, B, max_iter, tol, polish_every=10):
    """FCLS in the R-dimensional Gram space (``G = E E^T``, ``B = X E^T``)."""
    n, R = B.shape
    if R == 1:
        return np.ones((n, 1))
    lipschitz = float(np.linalg.eigvalsh(G)[-1])
    if lipschitz <= 0:
        # All endmembers are zero: every feasible point is optimal.
        return np.full((n, R), 1.0 / R)

    # Interior solutions are common (and exact on noiseless mixtures): solve
    # the sum-to-one problem on the full support first and keep rows that are
    # already non-negative.
    cand, optimal = _solve_on_supports(
        G, B, np.ones((n, R), dtype=bool), tol, lipschitz
    )
    A = np.where(optimal[:, None], cand, 0.0)
    idx = np.flatnonzero(~optimal)
    if idx.size == 0:
        return A

    # Remaining rows: FISTA with adaptive restart on the simplex; every
    # `polish_every` iterations the current support is tested by an exact
    # solve, which finishes most rows long before FISTA itself converges.
    b = B[idx]
    x = _project_simplex_rows(cand[idx])
    y = x.copy()
    t = np.ones(idx.size)
    step = 1.0 / lipschitz
    it = 0
    while idx.size and it < max_iter:
        for _ in range(min(polish_every, max_iter - it)):
            x_new = _project_simplex_rows(y - (y @ G - b) * step)
            dx = x_new - x
            # Restart momentum where it points uphill (gradient scheme of
            # O'Donoghue & Candes), which restores linear convergence.
            restart = np.einsum("ij,ij->i", y - x_new, dx) > 0
            t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            beta = np.where(restart, 0.0, (t - 1.0) / t_new)
            t = np.where(restart, 1.0, t_new)
            y = x_new + beta[:, None] * dx
            x = x_new
            it += 1
        delta = np.abs(dx).max(axis=1)
        cand, optimal = _solve_on_supports(G, b, x > 0, tol, lipschitz)
        A[idx[optimal]] = cand[optimal]
        converged = (delta < tol) & ~optimal
        A[idx[converged]] = x[converged]
        keep = ~(optimal | converged)
        idx, b, x, y, t = idx[keep], b[keep], x[keep], y[keep], t[keep]

    if idx.size:
        # Iteration budget exhausted: return the feasible iterate (projection
        # keeps it on the simplex), i.e. an approximate solution.
        A[idx] = x
        _logger.debug("fcls: %d pixel(s) hit max_iter=%d", idx.size, max_iter)
    return A


def fcls(X, endmembers, max_iter=1000, tol=1e-10):
    """Fully constrained least-squares abundances.

    For every pixel ``x`` solve ``min_a ||x - a @ endmembers||^2`` subject to
    ``a >= 0`` and ``sum(a) = 1`` (Heinz & Chang, 2001).

    Parameters
    ----------
    X : array_like, shape (n_pixels, n_channels)
        Spectra, one per row.
    endmembers : array_like, shape (n_components, n_channels)
        Endmember spectra, one per row (e.g. the first output of :func:`vca`).
    max_iter : int, default 1000
        Maximum number of projected-gradient iterations for pixels whose
        solution lies on the boundary of the simplex.
    tol : float, default 1e-10
        Convergence tolerance on abundances: iteration stops for a pixel when
        no abundance changes by more than ``tol``, and an exact active-set
        solution is accepted when its abundances are ``>= -tol`` (they are
        then clipped to zero).

    Returns
    -------
    abundances : ndarray, shape (n_pixels, n_components)
        float64 abundances; every row is non-negative and sums to one.

    Raises
    ------
    ValueError
        On non-finite input, arrays that are not 2-D, a channel-count
        mismatch, or invalid ``max_iter``/``tol``.

    Notes
    -----
    Only the ``R x R`` Gram matrix ``G = E E^T`` and the ``(n_pixels, R)``
    products ``B = X E^T`` are needed, since
    ``||x - a E||^2 = a G a^T - 2 a b^T + const``; the data are touched once.
    The solver then works in this R-dimensional space for all pixels at once:

    1. The sum-to-one least-squares solution is computed in closed form; pixels
       where it is non-negative are done (exact).
    2. The other pixels run accelerated projected gradient (FISTA with
       adaptive restart, step ``1 / lambda_max(G)``, projection by
       :func:`project_simplex`). Every 10 iterations the current support is
       polished by an exact equality-constrained solve; if it satisfies the
       KKT conditions the exact solution is taken.

    Pixels are grouped by support pattern, so each polish costs one tiny
    solve per distinct pattern. Memory is ``O(n_pixels * R)`` besides ``X``.

    An all-zero pixel yields the point of the endmembers' convex hull closest
    to the origin (the least-squares simplex solution), not a uniform vector.
    If all endmembers are zero, the uniform vector ``1 / R`` is returned.

    Examples
    --------
    >>> E = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    >>> fcls(np.array([[0.25, 0.75, 1.0]]), E)
    array([[0.25, 0.75]])
    """
    X = _as_float_2d(X, "X")
    E = _as_float_2d(endmembers, "endmembers").astype(np.float64, copy=False)
    if E.shape[0] < 1:
        raise ValueError("endmembers must contain at least one spectrum (row).")
    if E.shape[1] != X.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} channels but endmembers have {E.shape[1]}; "
            "both must share the spectral axis (endmembers are rows of shape "
            "(n_components, n_channels) - transpose them if needed)."
        )
    try:
        max_iter = operator.index(max_iter)
    except TypeError:
        raise ValueError(f"max_iter must be an integer, got {max_iter!r}.") from None
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}.")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite number, got {tol!r}.")
    _check_finite(X, "X")
    _check_finite(E, "endmembers")

    G = E @ E.T
    B = _rows_times(X, E.T)
    return _fcls_gram(G, B, max_iter, float(tol))


def linear_coefficients(X, references, nonnegative=True, sum_to_one=False):
    """Coefficients of known spectra in every pixel, by least squares.

    ``X ~ coefficients @ references`` with, as asked, non-negative
    coefficients and/or coefficients that sum to one: multiple linear
    regression with known endmembers.

    Parameters
    ----------
    X : array_like, shape (n_pixels, n_channels)
    references : array_like, shape (n_references, n_channels)
    nonnegative : bool, default True
    sum_to_one : bool, default False

    Returns
    -------
    ndarray, shape (n_pixels, n_references), float64

    Notes
    -----
    Unconstrained: ordinary least squares (one pseudo-inverse for all
    pixels). Sum to one only: the least-squares solution moved onto the
    plane ``sum(a) = 1`` along ``G^-1 1`` (``G = M M^T``), exact. Non-negative:
    :func:`scaled_abundances` (non-negative least squares) undone into its
    coefficients; both: :func:`fcls`.
    """
    X = _as_float_2d(X, "X")
    M = _as_float_2d(references, "references").astype(np.float64, copy=False)
    if M.shape[1] != X.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} channels but the references have {M.shape[1]}."
        )
    _check_finite(X, "X")
    if nonnegative and sum_to_one:
        return fcls(X, M)
    if nonnegative:
        shares, scale = scaled_abundances(X, M)
        return shares * scale[:, None]
    X64 = np.asarray(X, dtype=np.float64)
    G = M @ M.T
    G_inv = np.linalg.pinv(G)
    A = (X64 @ M.T) @ G_inv
    if sum_to_one:
        u = G_inv.sum(axis=1)  # G^-1 1
        A -= np.outer(A.sum(axis=1) - 1.0, u / u.sum())
    return A


def scaled_abundances(X, endmembers, max_iter=500, tol=1e-9):
    """Sum-to-one abundances and a per-spectrum intensity scale.

    For every pixel ``x`` solve ``min_b ||x - b @ endmembers||^2`` subject to
    ``b >= 0`` (non-negative least squares), then return ``a = b / sum(b)``
    (non-negative, sum to one) and ``scale = sum(b)``, so that ``x ~ scale *
    (a @ endmembers)``. Unlike :func:`fcls`, a pixel twice as thick (twice
    the counts) gets the same abundances and twice the scale.

    Parameters
    ----------
    X : array_like, shape (n_pixels, n_channels)
    endmembers : array_like, shape (n_components, n_channels)
    max_iter : int, default 500
        Sweeps of exact coordinate descent over the ``R`` components.
    tol : float, default 1e-9
        Stop when no coefficient changes by more than ``tol`` times the
        largest coefficient.

    Returns
    -------
    abundances : ndarray, shape (n_pixels, n_components)
    scale : ndarray, shape (n_pixels,)
        Zero (and abundances ``1 / R``) for a pixel that no non-negative
        combination of the endmembers fits better than zero.

    Notes
    -----
    Works on the ``R x R`` Gram matrix ``G = E E^T`` and ``B = X E^T`` only
    (``||x - b E||^2 = b G b - 2 b.B + const``); each coordinate update is
    exact, ``b_k <- max(0, b_k + (B_k - (G b)_k) / G_kk)``, for all pixels at
    once.
    """
    X = _as_float_2d(X, "X")
    E = _as_float_2d(endmembers, "endmembers").astype(np.float64, copy=False)
    if E.shape[1] != X.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} channels but endmembers have {E.shape[1]}."
        )
    _check_finite(X, "X")
    G = E @ E.T
    B = _rows_times(X, E.T)
    diag = np.maximum(np.diag(G), 1e-300)
    # Start from the unconstrained least-squares solution, clipped.
    b = np.clip(np.linalg.lstsq(G, B.T, rcond=None)[0].T, 0.0, None)
    R = G.shape[0]
    for _ in range(int(max_iter)):
        change = 0.0
        for k in range(R):
            new = np.maximum(0.0, b[:, k] + (B[:, k] - b @ G[:, k]) / diag[k])
            change = max(change, float(np.max(np.abs(new - b[:, k]), initial=0.0)))
            b[:, k] = new
        if change <= tol * max(float(b.max(initial=0.0)), 1e-300):
            break
    scale = b.sum(axis=1)
    A = np.full_like(b, 1.0 / R)
    ok = scale > 0
    A[ok] = b[ok] / scale[ok, None]
    return A, scale


def intensity_variation(X, n_components, counts=False, return_noise=False):
    """How much the total intensity of the spectra varies beyond what their
    composition and the noise explain (thickness, beam current).

    In a linear mixture of endmembers of totals ``T_k``, a spectrum's
    normalised shape ``y = x / T`` is a convex combination of the
    endmembers' shapes with weights ``b_k = a_k T_k / T``, and ``1 / T =
    sum_k b_k / T_k`` is linear in those weights, hence in the shape's
    leading ``n_components - 1`` principal coordinates. What a linear fit of
    ``median(T) / T`` on those coordinates leaves, less the noise of ``T``
    (Poisson, for counts) and the noise that the coordinates themselves
    carry into the fit, is intensity that composition does not explain.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        A sample of the spectra (a few thousand are plenty).
    n_components : int
    counts : bool
        Whether ``X`` holds counts (Poisson noise); otherwise the noise of
        the coordinates is taken from the trailing principal components.
    return_noise : bool
        Also return the relative Poisson noise of the totals (0 unless
        ``counts``).

    Returns
    -------
    variation : float
        The relative standard deviation of the unexplained intensity (0.1:
        10 %); 0 when it cannot be told (fewer than a few usable spectra).
    noise : float
        Only with ``return_noise``.
    """
    X = np.asarray(X)
    T = X.sum(axis=1, dtype=np.float64)
    positive = T > 0
    if positive.sum() < max(3 * n_components, 10):
        return (0.0, 0.0) if return_noise else 0.0
    # Spectra with almost no signal (a background-subtracted pixel without
    # edges) have a total that is mostly noise.
    keep = T > 0.05 * np.median(T[positive])
    X, T = X[keep], T[keep]
    Y = X / T[:, None]
    Y -= Y.mean(axis=0)
    k = max(int(n_components) - 1, 1)
    # The principal components from the smaller Gram matrix (memory: no
    # second copy of the sample, as an SVD would make).
    n, B = Y.shape
    if n >= B:
        S2, V = np.linalg.eigh(Y.T @ Y)
        S2, V = S2[::-1], V[:, ::-1]
        z = Y @ V[:, :k]
    else:
        S2, U = np.linalg.eigh(Y @ Y.T)
        S2, U = S2[::-1], U[:, ::-1]
        z = U[:, :k] * np.sqrt(np.maximum(S2[:k], 0.0))
        V = (Y.T @ U[:, :k]) / np.sqrt(np.maximum(S2[:k], 1e-300))
    V = V[:, :k].T
    u = np.median(T) / T
    if counts:
        # Poisson: var(y_c) = y_c / T, so the coordinates' noise covariance
        # is V diag(mean(x_c / T^2)) V^T, and var(u) = u^2 / T.
        per_channel = (T**-2.0) @ X / len(X)
        coordinate_noise = (V * per_channel) @ V.T
        total_noise = np.mean(u**2 / T)
    else:
        tail = np.maximum(S2[k + 1 : k + 21], 0.0)
        per_coordinate = tail.mean() / len(Y) if len(tail) else 0.0
        coordinate_noise = per_coordinate * np.eye(k)
        total_noise = 0.0
    # Errors in variables: the noise of the coordinates would dilute the
    # regression and leave composition unexplained; regress on their
    # covariance less that noise.
    zc = z - z.mean(axis=0)
    uc = u - u.mean()
    cov_z = zc.T @ zc / len(z) - coordinate_noise
    cov_zu = zc.T @ uc / len(z)
    w, Q = np.linalg.eigh(cov_z)
    w = np.maximum(w, 1e-3 * max(float(w.max()), 1e-300))
    explained = float(cov_zu @ Q @ ((Q.T @ cov_zu) / w))
    unexplained = float(uc @ uc / len(u)) - explained
    variation = float(np.sqrt(max(unexplained - total_noise, 0.0)))
    return (variation, float(np.sqrt(total_noise))) if return_noise else variation


def detectable_components(X, random_state=0):
    """How many components of ``X`` stand above the noise.

    The spectra are scaled as HyperSpy's ``normalize_poissonian_noise`` does
    (each row and column divided by the square root of its mean), which makes
    Poisson noise about white; a singular value then carries a component only
    above the largest singular value of pure white noise of the same shape
    (the Marchenko-Pastur edge, simulated once, relative to the median).

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        A sample of the spectra (a few thousand rows is plenty).
    random_state : int, default 0
        Seed of the simulated noise.

    Returns
    -------
    int
        At least 1 for data that are not all zero.

    Notes
    -----
    Weak components can sit below the edge and still be found by an unmixing
    (on the synthetic K-edge set, 3 of 4 are above it), so this only tells
    when the data are clearly poorer than asked for.
    """
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    if min(n, p) < 3:
        return min(n, p)
    rows = np.sqrt(np.clip(X.mean(axis=1), 1e-12, None))[:, None]
    cols = np.sqrt(np.clip(X.mean(axis=0), 1e-12, None))[None]
    s = np.linalg.svd(X / rows / cols, compute_uv=False)
    g = np.linalg.svd(
        np.random.default_rng(random_state).standard_normal((n, p)), compute_uv=False
    )
    edge = 1.05 * g.max() / np.median(g) * np.median(s)
    return max(1, int((s > edge).sum()))


def signal_subspace_endmembers(
    X, n_components, random_state=None, snr=None, normalise=False, method="vca"
):
    """VCA (or N-FINDR) endmembers denoised by projection onto the data's
    signal subspace.

    Under the linear mixing model every spectrum lies in the span of the
    ``n_components`` endmembers, i.e. in the leading right-singular subspace
    of the (uncentred) data. Projecting the picked pixels onto it removes the
    noise of single spectra, as the original VCA does (it returns the
    projected pixels, not the raw ones).

    Parameters
    ----------
    X : array_like, shape (n_pixels, n_channels)
    n_components : int
    random_state : None, int or numpy.random.Generator
    snr : float, optional
        Passed to :func:`vca`.
    method : {"vca", "nfindr"}, default "vca"
        Which pure pixels: :func:`vca` or :func:`nfindr`.
    normalise : bool, default False
        Pick the pixels among spectra divided by their total: a thickness
        change scales whole spectra, which moves them off the simplex of the
        endmembers but not off its rays. Measured on the synthetic K set with
        a 1-2x thickness ramp: mean endmember SAD 4.30 -> 1.57 degrees (4
        seeds); without thickness changes slightly worse (2.04 -> 2.41 on the
        K set, 2.24 -> 2.28 on the M/L set): noisy dim pixels count as much as
        bright ones.

    Returns
    -------
    endmembers : ndarray, shape (n_components, n_channels), float64
        The picked pixels (as they are in ``X``) projected on its signal
        subspace; clipped at zero when the data are non-negative.
    indices : ndarray of int
        Rows picked.
    """
    rng = np.random.default_rng(random_state)
    picked_from = X
    if normalise:
        total = np.asarray(X, dtype=np.float64).sum(axis=1, keepdims=True)
        picked_from = X / np.where(total > 0, total, 1.0) * np.mean(total)
    if method == "nfindr":
        raw, indices = nfindr(picked_from, n_components, random_state=rng)
    else:
        raw, indices = vca(picked_from, n_components, random_state=rng, snr=snr)
    if normalise:
        raw = np.asarray(X, dtype=np.float64)[indices]
    return project_on_signal_subspace(X, raw, n_components, rng), indices


def _signal_basis(X, n_components, random_state=None):
    """The leading ``n_components`` right-singular vectors of the (uncentred)
    float64 data ``X``, rows of ``Vt`` (randomised SVD seeded from
    ``random_state``)."""
    from sklearn.utils.extmath import randomized_svd

    rng = np.random.default_rng(random_state)
    seed = int(rng.integers(2**31 - 1))
    return randomized_svd(X, n_components, random_state=seed)[2]


def project_on_signal_subspace(X, spectra, n_components, random_state=None):
    """``spectra`` projected onto the leading ``n_components`` right-singular
    subspace of the (uncentred) data ``X``: their noise removed.

    Clipped at zero when ``X`` is non-negative. Returns float64.
    """
    Vt = _signal_basis(np.asarray(X, dtype=np.float64), n_components, random_state)
    projected = (np.asarray(spectra, dtype=np.float64) @ Vt.T) @ Vt
    if np.min(X) >= 0:
        projected = np.clip(projected, 0.0, None)
    return projected


#: Farthest a pixel averaged into an endmember may lie from it, in
#: distances between two noisy copies of one spectrum.
_PURE_REACH = 5.0


def average_pure_pixels(
    X, endmembers, purity=0.9, random_state=None, return_noise=False
):
    """Each endmember replaced by the mean of the pixels that are at least
    ``purity`` pure in it and within the noise of it, projected onto the
    data's signal subspace.

    A pure-pixel method (VCA, N-FINDR) picks the most extreme spectra of the
    cloud, so each picked pixel's noise points outwards: the endmember
    overshoots the true vertex by the noise of one spectrum and every
    abundance leans towards the other phases. The pixels near a vertex share
    its phase and not its noise; their mean keeps the phase and averages the
    noise away (N-FINDR on the 4-component chequerboards of
    ``benchmarks/unmixing_variants.py``: 1.45 -> 0.88 degrees on the M/L
    set, 2.06 -> 1.08 on the K set). Only pixels no farther from the
    endmember (in the signal subspace) than 5x the distance between two
    noisy copies of one spectrum are averaged (the noise measured off the
    subspace): where no pixel is pure, a mean over mixed ones would move the
    endmember inwards, and on data without noise the picked spectra are
    kept as they are.

    Parameters
    ----------
    X : array_like, shape (n_pixels, n_channels)
        The spectra the endmembers were picked from.
    endmembers : array_like, shape (n_components, n_channels)
    purity : float, default 0.9
        Least FCLS abundance (with ``endmembers``) of a pixel averaged into
        an endmember.
    random_state : None, int or numpy.random.Generator
        Seeds the subspace's randomised SVD.
    return_noise : bool, default False
        Also return the noise it measured.

    Returns
    -------
    averaged : ndarray, shape (n_components, n_channels), float64
        Clipped at zero when ``X`` is non-negative. An endmember no pixel
        qualifies for is kept as it was (projected).
    pure : list of ndarray of bool
        The pixels averaged into each endmember.
    noise : float
        Only with ``return_noise``: the noise per channel off the signal
        subspace (standard deviation, units of ``X``; the median over the
        pixels).
    """
    X = np.asarray(X, dtype=np.float64)
    K = len(endmembers)
    Vt = _signal_basis(X, K, random_state)
    coords = X @ Vt.T
    # Noise variance per channel from what lies off the signal subspace.
    off = np.maximum((X * X).sum(axis=1) - (coords * coords).sum(axis=1), 0.0)
    noise = np.sqrt(np.median(off) / max(X.shape[1] - K, 1))
    # Two noisy copies of one spectrum lie ~sqrt(2 K) noise apart in the
    # subspace; 5 of those keeps every pure pixel of the benchmarks (the
    # figures above are the same as without this bound) and none on data
    # without noise. With no channel off the subspace, no bound.
    reach = _PURE_REACH * np.sqrt(2.0 * K) * noise if X.shape[1] > K else np.inf
    vertices = np.asarray(endmembers, dtype=np.float64) @ Vt.T
    shares = fcls(X, endmembers)
    averaged = vertices.copy()
    pure = []
    for k in range(K):
        near = np.linalg.norm(coords - vertices[k], axis=1) <= reach
        rows = (shares[:, k] >= purity) & near
        if rows.any():
            averaged[k] = coords[rows].mean(axis=0)
        pure.append(rows)
    averaged = averaged @ Vt
    if np.min(X) >= 0:
        averaged = np.clip(averaged, 0.0, None)
    return (averaged, pure, noise) if return_noise else (averaged, pure)


def nfindr(X, n_components, random_state=None, max_iter=None, return_n_iter=False):
    """Extract endmembers with N-FINDR (Winter 1999).

    N-FINDR looks for the ``n_components`` pixels that span the simplex of
    largest volume in the ``n_components - 1`` leading principal components
    of the data: under the linear mixing model with pure pixels, its vertices
    are the endmembers. Each vertex in turn is
    replaced by the pixel that makes the volume largest (all pixels at once:
    the volume is linear in one vertex, through the cofactors of the vertex
    matrix), until a whole pass changes nothing. The search starts from a
    growing simplex (the pixel furthest from the mean, then each time the
    pixel furthest from the span of those chosen), not from random pixels,
    which can span no volume at all.

    Parameters
    ----------
    X : array_like, shape (n_pixels, n_channels)
    n_components : int
    random_state : None, int or numpy.random.Generator
        Seeds the randomised principal component analysis.
    max_iter : int, optional
        Passes over the vertices at most (default ``3 * n_components``).
    return_n_iter : bool, default False
        Also return the number of passes made.

    Returns
    -------
    endmembers : ndarray, shape (n_components, n_channels)
        The selected spectra, copied from ``X[indices]``.
    indices : ndarray of int, shape (n_components,)
    n_iter : int
        Passes made (the last changed nothing unless ``max_iter`` was
        reached); only with ``return_n_iter=True``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((3, 50))
    >>> A = rng.dirichlet(np.ones(3), size=200)
    >>> A[:3] = np.eye(3)                      # pure pixels
    >>> endmembers, idx = nfindr(A @ E, 3, random_state=0)
    >>> sorted(idx.tolist())
    [0, 1, 2]
    """
    from sklearn.utils.extmath import randomized_svd

    X, R = _check_pick_args(X, n_components, "N-FINDR")
    rng = np.random.default_rng(random_state)
    max_iter = 3 * R if max_iter is None else int(max_iter)
    X64 = np.asarray(X, dtype=np.float64)
    if not X64.any():
        raise ValueError(
            "X contains only zeros, so there are no vertices to find; check "
            "that the right data were passed."
        )
    if R == 1:
        # One vertex spans no volume: the pixel furthest along the data.
        _, _, Vt = randomized_svd(X64, 1, random_state=int(rng.integers(2**31 - 1)))
        idx = np.array([int(np.argmax(np.abs(X64 @ Vt[0])))])
        return (X[idx].copy(), idx, 0) if return_n_iter else (X[idx].copy(), idx)
    centred = X64 - X64.mean(axis=0)
    seed = int(rng.integers(2**31 - 1))
    _, _, Vt = randomized_svd(centred, R - 1, random_state=seed)
    # Rows [1, y]: the volume of a simplex is |det| of its vertices' rows.
    Z = np.hstack([np.ones((len(X64), 1)), centred @ Vt.T])
    idx = _growing_simplex(Z[:, 1:], R)
    volume = abs(np.linalg.det(Z[idx]))
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        changed = False
        for i in range(R):
            volumes = np.abs(Z @ _cofactors(Z[idx], i))
            best = int(np.argmax(volumes))
            if volumes[best] > volume * (1 + 1e-12) and best not in idx:
                idx[i], volume, changed = best, volumes[best], True
        if not changed:
            break
    if return_n_iter:
        return X[idx].copy(), idx, n_iter
    return X[idx].copy(), idx


def _growing_simplex(Y, R):
    """A start of ``R`` affinely independent rows of ``Y`` (when there are):
    the row furthest from the mean, then each time the row furthest from the
    affine hull of those chosen. A random start can pick one point twice
    (images with many identical spectra), a simplex of no volume that the
    vertex-by-vertex search cannot leave."""
    idx = [int(np.argmax(np.einsum("ij,ij->i", Y, Y)))]
    for _ in range(1, R):
        D = Y - Y[idx[0]]
        if len(idx) > 1:
            Q, _ = np.linalg.qr((Y[idx[1:]] - Y[idx[0]]).T)
            D = D - (D @ Q) @ Q.T
        idx.append(int(np.argmax(np.einsum("ij,ij->i", D, D))))
    return np.array(idx)


def _cofactors(V, i):
    """Cofactors of row ``i`` of the square matrix ``V``: ``det`` with row ``i``
    replaced by ``z`` is ``z @ _cofactors(V, i)`` (also when ``V`` is singular)."""
    R = len(V)
    others = np.delete(V, i, axis=0)
    return np.array(
        [
            (-1) ** (i + k) * np.linalg.det(np.delete(others, k, axis=1))
            for k in range(R)
        ]
    )
