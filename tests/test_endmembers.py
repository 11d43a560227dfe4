"""Tests for eels_ae.endmembers (VCA, N-FINDR, FCLS, simplex projection)."""

import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment, nnls

from eels_ae import endmembers as em
from eels_ae.endmembers import fcls, nfindr, project_simplex, vca

# ---------------------------------------------------------------------------
# Synthetic EELS-like linear mixtures
# ---------------------------------------------------------------------------


def _eels_like_endmembers(n_components, n_channels, rng):
    """Power-law background plus one Gaussian edge-like peak per endmember."""
    energy = np.linspace(100.0, 900.0, n_channels)
    centres = np.linspace(200.0, 800.0, n_components)
    spectra = []
    for c in centres:
        background = rng.uniform(0.5, 2.0) * (energy / 100.0) ** -rng.uniform(2, 4)
        peak = rng.uniform(0.3, 1.0) * np.exp(
            -0.5 * ((energy - c) / rng.uniform(15, 40)) ** 2
        )
        spectra.append(background + peak)
    return np.array(spectra)


def _mixture(n_pixels=4096, n_channels=200, n_components=3, snr_db=None, seed=0):
    """Return data, abundances, endmembers, pure-pixel indices (row k = em k)."""
    rng = np.random.default_rng(seed)
    E = _eels_like_endmembers(n_components, n_channels, rng)
    A = rng.dirichlet(np.ones(n_components), size=n_pixels)
    pure = rng.choice(n_pixels, size=n_components, replace=False)
    A[pure] = np.eye(n_components)
    X = A @ E
    if snr_db is not None:
        sigma = np.sqrt(np.mean(X**2) / 10 ** (snr_db / 10))
        X = X + rng.normal(0.0, sigma, X.shape)
    return X, A, E, pure


def _sad_deg(P, Q):
    """Spectral angle (degrees) between every row of P and every row of Q."""
    P = P / np.linalg.norm(P, axis=1, keepdims=True)
    Q = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    return np.degrees(np.arccos(np.clip(P @ Q.T, -1.0, 1.0)))


def _matched_sad(found, true):
    angles = _sad_deg(found, true)
    rows, cols = linear_sum_assignment(angles)
    return angles[rows, cols]


# ---------------------------------------------------------------------------
# VCA
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_components", [2, 3, 4, 6])
def test_vca_finds_pure_pixels_noiseless(n_components):
    X, _, E, pure = _mixture(n_components=n_components, seed=n_components)
    endmembers, indices = vca(X, n_components, random_state=0)
    assert endmembers.shape == (n_components, X.shape[1])
    assert indices.shape == (n_components,)
    assert set(indices.tolist()) == set(pure.tolist())
    np.testing.assert_array_equal(endmembers, X[indices])
    assert _matched_sad(endmembers, E).max() < 0.5


@pytest.mark.parametrize("projection, snr", [("affine", 0.0), ("projective", 80.0)])
def test_vca_both_projections_recover_noiseless(projection, snr):
    X, _, E, pure = _mixture(n_components=4, seed=11)
    result = em._vca(X, 4, np.random.default_rng(1), snr=snr)
    assert result.projection == projection
    assert set(result.indices.tolist()) == set(pure.tolist())
    endmembers, _ = vca(X, 4, random_state=1, snr=snr)
    assert _matched_sad(endmembers, E).max() < 0.5


def test_vca_projective_is_scale_invariant():
    # Per-pixel intensity changes (thickness, beam current) turn the simplex
    # into a cone; the projective projection maps it back onto a simplex, so
    # pure pixels are still found even when they are the dimmest ones.
    X, _, E, pure = _mixture(n_components=4, seed=16)
    scale = np.random.default_rng(0).uniform(0.5, 2.0, size=X.shape[0])
    scale[pure] = 0.4
    for seed in range(3):
        result = em._vca(X * scale[:, None], 4, np.random.default_rng(seed))
        assert result.projection == "projective"
        assert set(result.indices.tolist()) == set(pure.tolist())


def test_vca_snr_estimate_selects_branch():
    # Clean data -> (near) infinite SNR -> projective projection.
    clean, *_ = _mixture(n_components=3, seed=2)
    result = em._vca(clean, 3, np.random.default_rng(0))
    assert result.projection == "projective"
    assert result.snr > 60

    # 10 dB is below the 15 + 10 log10(3) = 19.8 dB threshold -> affine; the
    # estimator of the paper should be close to the true SNR.
    noisy, *_ = _mixture(n_components=3, snr_db=10.0, seed=2)
    result = em._vca(noisy, 3, np.random.default_rng(0))
    assert result.projection == "affine"
    assert abs(result.snr - 10.0) < 2.0


def test_estimate_snr_limits():
    assert em._estimate_snr(1.0, 1.0, 3, 100) == np.inf
    assert em._estimate_snr(1.0, 0.01, 3, 100) == -np.inf
    # Signal power p_x - R/L p_y equal to noise power p_y - p_x -> 0 dB.
    assert em._estimate_snr(2.0, 1.03, 3, 100) == pytest.approx(0.0)


@pytest.mark.parametrize("snr_db", [40.0, 25.0])
def test_vca_noisy_close(snr_db):
    X, _, E, pure = _mixture(n_components=3, snr_db=snr_db, seed=5)
    endmembers, indices = vca(X, 3, random_state=0)
    # The selected pixels are noisy, so compare with the noise in the pure
    # pixels themselves rather than with zero.
    noise_floor = _matched_sad(X[pure], E).max()
    assert _matched_sad(endmembers, E).max() < 3 * noise_floor + 1.0


def test_vca_randomized_path_many_channels():
    # > 512 channels switches to the randomised row-space sketch.
    X, _, E, pure = _mixture(n_pixels=1500, n_channels=700, n_components=4, seed=7)
    for snr in (None, 0.0):
        endmembers, indices = vca(X, 4, random_state=3, snr=snr)
        assert set(indices.tolist()) == set(pure.tolist())
        assert _matched_sad(endmembers, E).max() < 0.5
    result = em._vca(X, 4, np.random.default_rng(3))
    assert result.projection == "projective"


def test_vca_deterministic_with_seed():
    X, *_ = _mixture(n_components=4, snr_db=15.0, seed=3)
    e1, i1 = vca(X, 4, random_state=42)
    e2, i2 = vca(X, 4, random_state=42)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(e1, e2)
    # A Generator is accepted too and gives the same draws as its seed.
    _, i3 = vca(X, 4, random_state=np.random.default_rng(42))
    np.testing.assert_array_equal(i1, i3)


def test_vca_float32_and_integer_input():
    X, _, _, pure = _mixture(n_components=3, seed=4)
    endmembers, indices = vca(X.astype(np.float32), 3, random_state=0)
    assert endmembers.dtype == np.float32
    assert set(indices.tolist()) == set(pure.tolist())
    # Integer counts are promoted to float.
    counts = np.rint(X * 1000).astype(np.int64)
    _, indices = vca(counts, 3, random_state=0)
    assert set(indices.tolist()) == set(pure.tolist())


def test_vca_single_component():
    X, *_ = _mixture(n_components=3, seed=6)
    endmembers, indices = vca(X, 1, random_state=0)
    assert endmembers.shape == (1, X.shape[1])
    assert 0 <= indices[0] < X.shape[0]


@pytest.mark.parametrize(
    "X, n, match",
    [
        (np.ones((10, 5)), 0, "at least 1"),
        (np.ones((10, 5)), 6, "exceeds the number of channels"),
        (np.ones((3, 5)), 4, "only 3 pixel"),
        (np.ones(5), 1, "2-D array"),
        (np.ones((2, 3, 5)), 1, "2-D array"),
        (np.zeros((10, 5)), 2, "only zeros"),
        (np.array([[1.0, np.nan], [1.0, 2.0]]), 1, "NaN or infinite"),
        (np.array([[1.0, np.inf], [1.0, 2.0]]), 1, "NaN or infinite"),
        (np.ones((10, 5)), 2.5, "must be an integer"),
    ],
)
def test_vca_errors(X, n, match):
    with pytest.raises(ValueError, match=match):
        vca(X, n)


# ---------------------------------------------------------------------------
# N-FINDR
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_components", [2, 3, 5])
def test_nfindr_finds_pure_pixels_noiseless(n_components):
    X, _, E, pure = _mixture(n_components=n_components, seed=10 + n_components)
    for seed in (0, 1, 2):
        endmembers, indices = nfindr(X, n_components, random_state=seed)
        assert set(indices.tolist()) == set(pure.tolist())
        np.testing.assert_array_equal(endmembers, X[indices])
        assert _matched_sad(endmembers, E).max() < 0.5


def test_nfindr_the_volume_it_reaches_is_the_largest():
    # Brute force over every triple of a small cloud: N-FINDR's simplex has
    # the largest volume in the 2 leading principal components.
    rng = np.random.default_rng(4)
    X = rng.dirichlet(np.ones(3), size=40) @ rng.random((3, 20))
    X += rng.normal(0, 0.01, X.shape)
    centred = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(centred, full_matrices=False)
    Z = np.hstack([np.ones((len(X), 1)), centred @ Vt[:2].T])

    def volume(idx):
        return abs(np.linalg.det(Z[list(idx)]))

    best = max(volume(t) for t in itertools.combinations(range(len(X)), 3))
    _, idx = nfindr(X, 3, random_state=0)
    assert volume(idx) == pytest.approx(best, rel=1e-6)


def test_nfindr_noisy_close_and_deterministic():
    X, _, E, pure = _mixture(n_components=4, snr_db=30.0, seed=8)
    e1, i1 = nfindr(X, 4, random_state=5)
    e2, i2 = nfindr(X, 4, random_state=5)
    np.testing.assert_array_equal(i1, i2)
    noise_floor = _matched_sad(X[pure], E).max()
    assert _matched_sad(e1, E).max() < 3 * noise_floor + 1.0


def test_nfindr_starting_on_a_degenerate_simplex():
    # Many identical spectra: a random start would often pick the same point
    # twice (no volume, and no vertex swap can leave it); the growing start
    # does not.
    X, _, E, pure = _mixture(n_pixels=300, n_components=3, seed=9)
    dup = np.setdiff1d(np.arange(280), pure)
    X[dup] = X[dup[0]]  # the pure pixels are still there
    for seed in range(5):
        _, indices = nfindr(X, 3, random_state=seed)
        assert set(indices.tolist()) == set(pure.tolist())


def test_nfindr_single_component_and_errors():
    X, *_ = _mixture(n_components=3, seed=6)
    endmembers, indices = nfindr(X, 1, random_state=0)
    assert endmembers.shape == (1, X.shape[1]) and 0 <= indices[0] < len(X)
    with pytest.raises(ValueError, match="only zeros"):
        nfindr(np.zeros((10, 5)), 2)
    with pytest.raises(ValueError, match="N-FINDR picks endmembers among"):
        nfindr(np.ones((3, 5)), 4)
    with pytest.raises(ValueError, match="NaN or infinite"):
        nfindr(np.array([[1.0, np.nan], [1.0, 2.0]]), 1)


# ---------------------------------------------------------------------------
# Simplex projection
# ---------------------------------------------------------------------------


def test_project_simplex_known_cases():
    np.testing.assert_allclose(project_simplex([0.2, 0.3, 0.5]), [0.2, 0.3, 0.5])
    np.testing.assert_allclose(project_simplex([1.0, 1.0, 1.0]), [1 / 3] * 3)
    np.testing.assert_allclose(project_simplex([-1.0, 0.0, 3.0]), [0, 0, 1])
    np.testing.assert_allclose(project_simplex([0.5, 0.5, -2.0]), [0.5, 0.5, 0])
    np.testing.assert_allclose(project_simplex([[7.0]]), [[1.0]])
    out = project_simplex(np.array([[2.0, 0.0], [0.6, 0.6]]))
    np.testing.assert_allclose(out, [[1.0, 0.0], [0.5, 0.5]])


def _brute_force_simplex_projection(v):
    """Try every support; the projection is the closest feasible candidate."""
    R = v.size
    best, best_dist = None, np.inf
    for size in range(1, R + 1):
        for support in itertools.combinations(range(R), size):
            S = list(support)
            a = np.zeros(R)
            a[S] = v[S] - (v[S].sum() - 1.0) / size
            if (a >= -1e-12).all():
                dist = np.sum((a - v) ** 2)
                if dist < best_dist:
                    best, best_dist = a, dist
    return best


def test_project_simplex_matches_brute_force():
    rng = np.random.default_rng(0)
    V = rng.normal(scale=2.0, size=(300, 5))
    P = project_simplex(V)
    assert (P >= 0).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    expected = np.array([_brute_force_simplex_projection(v) for v in V])
    np.testing.assert_allclose(P, expected, atol=1e-12)


def test_project_simplex_errors():
    with pytest.raises(ValueError, match="at least one column"):
        project_simplex(np.ones((3, 0)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        project_simplex([0.1, np.nan])


# ---------------------------------------------------------------------------
# FCLS
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_components", [2, 3, 4, 8])
def test_fcls_recovers_abundances_noiseless(n_components):
    X, A, E, _ = _mixture(n_components=n_components, seed=20 + n_components)
    A_hat = fcls(X, E)
    assert A_hat.shape == A.shape
    assert np.abs(A_hat - A).max() < 1e-6


def test_fcls_boundary_abundances_noiseless():
    # Sparse Dirichlet: many abundances are exactly zero after the clean-up
    # below, so the optimum lies on faces of the simplex.
    rng = np.random.default_rng(8)
    E = _eels_like_endmembers(5, 200, rng)
    A = rng.dirichlet(np.full(5, 0.2), size=2000)
    A[A < 0.05] = 0.0
    A /= A.sum(axis=1, keepdims=True)
    A_hat = fcls(A @ E, E)
    assert np.abs(A_hat - A).max() < 1e-6


@pytest.mark.parametrize("snr_db", [30.0, 5.0])
def test_fcls_noisy_constraints_and_optimality(snr_db):
    X, A, E, _ = _mixture(n_components=4, snr_db=snr_db, seed=9)
    A_hat = fcls(X, E)
    assert (A_hat >= 0).all()
    np.testing.assert_allclose(A_hat.sum(axis=1), 1.0, atol=1e-8)
    if snr_db >= 30:
        assert np.abs(A_hat - A).max() < 0.1

    # Independent reference for a subset: NNLS with a heavily weighted
    # sum-to-one row (Heinz & Chang). FCLS must not be worse than it.
    delta = 1e4 * np.abs(E).max()
    M = np.vstack([E.T, delta * np.ones(E.shape[0])])
    for i in range(0, X.shape[0], 40):
        ref, _ = nnls(M, np.append(X[i], delta))
        ref /= ref.sum()
        ours = np.sum((X[i] - A_hat[i] @ E) ** 2)
        theirs = np.sum((X[i] - ref @ E) ** 2)
        assert ours <= theirs * (1 + 1e-9) + 1e-12
        np.testing.assert_allclose(A_hat[i], ref, atol=1e-4)


def test_fcls_outside_hull_projects_to_vertex_or_edge():
    E = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    X = np.array([[2.0, 0.0, 0.0], [1.0, 1.0, -5.0], [0.2, 0.3, 0.5]])
    A_hat = fcls(X, E)
    np.testing.assert_allclose(A_hat, [[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]])


def test_fcls_zero_pixel_and_degenerate_endmembers():
    X, A, E, _ = _mixture(n_components=3, seed=12)
    X = np.vstack([np.zeros(X.shape[1]), X[:50]])
    A_hat = fcls(X, E)
    # The zero pixel gets the hull point closest to the origin: feasible and
    # no worse than any vertex.
    assert (A_hat[0] >= 0).all() and A_hat[0].sum() == pytest.approx(1.0)
    norm_hat = np.linalg.norm(A_hat[0] @ E)
    assert norm_hat <= np.linalg.norm(E, axis=1).min() + 1e-12
    # Duplicated endmember: the split is not unique but the sum is.
    E_dup = np.vstack([E, E[0]])
    A_dup = fcls(X[1:], E_dup)
    np.testing.assert_allclose(A_dup[:, 0] + A_dup[:, 3], A[:50, 0], atol=1e-8)
    np.testing.assert_allclose(A_dup[:, 1:3], A[:50, 1:3], atol=1e-8)
    # One endmember: the only feasible abundance is 1; all-zero endmembers:
    # everything is optimal and the uniform vector is returned.
    np.testing.assert_array_equal(fcls(X, E[:1]), np.ones((X.shape[0], 1)))
    np.testing.assert_array_equal(fcls(X[:3], np.zeros((2, X.shape[1]))), 0.5)


def test_fcls_float32_input():
    X, A, E, _ = _mixture(n_components=3, seed=13)
    A_hat = fcls(X.astype(np.float32), E)
    assert A_hat.dtype == np.float64
    assert np.abs(A_hat - A).max() < 1e-4


def test_fcls_max_iter_still_feasible():
    X, _, E, _ = _mixture(n_components=5, snr_db=0.0, seed=14)
    A_hat = fcls(X, E, max_iter=1)
    assert (A_hat >= 0).all()
    np.testing.assert_allclose(A_hat.sum(axis=1), 1.0, atol=1e-8)


def test_vca_then_fcls_pipeline():
    X, A, E, _ = _mixture(n_components=3, seed=15)
    endmembers, _ = vca(X, 3, random_state=0)
    A_hat = fcls(X, endmembers)
    rows, cols = linear_sum_assignment(_sad_deg(endmembers, E))
    order = cols[np.argsort(rows)]
    assert np.abs(A_hat - A[:, order]).max() < 1e-6


@pytest.mark.parametrize(
    "X, E, kwargs, match",
    [
        (np.ones((4, 5)), np.ones((2, 6)), {}, "5 channels but endmembers have 6"),
        (np.ones(5), np.ones((2, 5)), {}, "2-D array"),
        (np.ones((4, 5)), np.ones(5), {}, "endmembers must be a 2-D"),
        (np.ones((4, 5)), np.ones((0, 5)), {}, "at least one spectrum"),
        (np.full((4, 5), np.nan), np.ones((2, 5)), {}, "X contains NaN"),
        (np.ones((4, 5)), np.full((2, 5), np.inf), {}, "endmembers contains NaN"),
        (np.ones((4, 5)), np.ones((2, 5)), {"max_iter": 0}, "max_iter must be"),
        (np.ones((4, 5)), np.ones((2, 5)), {"tol": 0.0}, "tol must be a positive"),
    ],
)
def test_fcls_errors(X, E, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fcls(X, E, **kwargs)


@pytest.mark.parametrize("method", ["vca", "nfindr"])
def test_normalised_pick_finds_the_pure_pixels_through_a_thickness_change(method):
    # Each pixel scaled by 1-3x (thickness): the pure pixels are no longer
    # vertices of the data's simplex, but still on its rays.
    X, _, E, pure = _mixture(n_pixels=3000, n_components=4, snr_db=45, seed=4)
    thickness = np.random.default_rng(1).uniform(1.0, 3.0, size=(len(X), 1))
    thickness[pure] = 1.0  # the pure pixels are among the thinnest
    Xt = X * thickness
    found, idx = em.signal_subspace_endmembers(
        Xt, 4, random_state=0, normalise=True, method=method
    )
    assert _matched_sad(found, E).max() < 1.0
    # The endmembers are the picked pixels as they are (data units), denoised.
    np.testing.assert_allclose(
        np.linalg.norm(found, axis=1), np.linalg.norm(Xt[idx], axis=1), rtol=0.02
    )
