"""Tests of the unmixing metrics (SAD, NMSE, component matching)."""

import hyperspy.api as hs
import numpy as np
import pytest

from eels_ae.data import chequerboard_spectrum_image
from eels_ae.metrics import (
    abundance_rmse,
    match_components,
    nmse,
    sad_matrix,
    spectral_angle,
    unmixing_scores,
)


def test_spectral_angle_basic_values():
    rng = np.random.default_rng(0)
    a = rng.random(50)
    assert spectral_angle(a, 3.7 * a) == pytest.approx(0.0, abs=1e-12)
    assert spectral_angle([1.0, 0.0], [0.0, 2.0]) == pytest.approx(np.pi / 2)
    assert spectral_angle([1.0, 0.0], [0.0, 2.0], degrees=True) == pytest.approx(90)
    assert spectral_angle([1.0, 0.0], [1.0, 1.0], degrees=True) == pytest.approx(45)
    assert spectral_angle([1.0, 0.0], [-1.0, 0.0]) == pytest.approx(np.pi)
    # Small angles stay accurate (no arccos round-off near 1).
    eps = 1e-9
    assert spectral_angle([1.0, 0.0], [1.0, eps]) == pytest.approx(eps, rel=1e-6)
    # Matches the arccos definition on generic vectors.
    b = rng.random(50)
    ref = np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    assert spectral_angle(a, b) == pytest.approx(ref, rel=1e-10)


def test_spectral_angle_rowwise_and_signals():
    rng = np.random.default_rng(1)
    a, b = rng.random((4, 30)), rng.random((4, 30))
    rows = spectral_angle(a, b)
    assert rows.shape == (4,)
    for i in range(4):
        assert rows[i] == pytest.approx(spectral_angle(a[i], b[i]))
    sig = hs.signals.Signal1D(a)
    np.testing.assert_allclose(spectral_angle(sig, b), rows)
    with pytest.raises(ValueError, match="equal length"):
        spectral_angle(np.ones(3), np.ones(4))


def test_sad_matrix():
    t = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    e = np.array([[0.0, 5.0, 0.0], [1.0, 1.0, 0.0], [2.0, 0.0, 0.0]])
    m = sad_matrix(t, e, degrees=True)
    np.testing.assert_allclose(m, [[90, 45, 0], [0, 45, 90]], atol=1e-12)
    with pytest.raises(ValueError, match="channels"):
        sad_matrix(t, np.ones((2, 4)))


def test_match_components_recovers_permutation():
    rng = np.random.default_rng(2)
    true = rng.random((5, 100))
    shuffle = rng.permutation(5)
    est = true[shuffle] * rng.uniform(0.5, 3, size=(5, 1))
    est += 0.01 * rng.standard_normal(est.shape)
    perm = match_components(true, est)
    np.testing.assert_array_equal(shuffle[perm], np.arange(5))
    assert np.all(spectral_angle(true, est[perm], degrees=True) < 2)


def test_match_components_extra_estimates_and_errors():
    rng = np.random.default_rng(3)
    true = rng.random((3, 40)) ** 4  # sparse-ish, well separated
    decoys = rng.random((2, 40)) ** 4
    est = np.vstack([decoys[:1], true[2], decoys[1:], true[0], true[1]])
    perm = match_components(true, est)
    np.testing.assert_array_equal(perm, [3, 4, 1])
    with pytest.raises(ValueError, match="at least as many"):
        match_components(true, true[:2])
    with pytest.raises(ValueError, match="channels"):
        match_components(true, rng.random((3, 41)))


def test_nmse_values_and_shapes():
    z = np.random.default_rng(4).random((3, 8, 8))
    np.testing.assert_array_equal(nmse(z, z), 0.0)
    t = np.array([[1.0, 1.0, 1.0, 1.0], [2.0, 0.0, 0.0, 0.0]])
    e = np.array([[1.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(nmse(t, e), [0.25, 0.25])
    # Maps (R, h, w) and flattened (R, n) give the same result.
    zh = z + 0.1
    np.testing.assert_allclose(nmse(z, zh), nmse(z.reshape(3, -1), zh.reshape(3, -1)))
    assert abundance_rmse(t, e) == pytest.approx(np.sqrt(2 / 8))
    with pytest.raises(ValueError, match="transposed"):
        nmse(t, e.T)
    with pytest.raises(ValueError, match="must match"):
        abundance_rmse(t, e[:, :3])


def test_unmixing_scores_on_synthetic_signals():
    si = chequerboard_spectrum_image("ml", shape=(16, 16), dose=None, random_state=0)
    perm = np.array([2, 0, 1])
    est_e = si.endmember_array[perm] * np.array([[2.0], [0.3], [7.0]])
    est_a = si.abundances.data[perm]
    scores = unmixing_scores(si.endmembers, si.abundances, est_e, est_a)
    np.testing.assert_array_equal(est_e[scores.permutation] > 0, True)
    np.testing.assert_array_equal(perm[scores.permutation], [0, 1, 2])
    np.testing.assert_allclose(scores.sad, 0.0, atol=1e-12)
    np.testing.assert_allclose(scores.nmse, 0.0, atol=1e-24)
    assert scores["mean_sad_deg"] == pytest.approx(0.0, abs=1e-10)
    assert scores.abundance_rmse == pytest.approx(0.0, abs=1e-12)
    assert set(scores.as_dict()) >= {"permutation", "sad_deg", "mean_nmse"}

    # A degraded estimate: scores equal the direct computation after matching.
    rng = np.random.default_rng(5)
    noisy_a = est_a.reshape(3, -1) + 0.05 * rng.standard_normal((3, 256))
    s2 = unmixing_scores(si.endmember_array, si.abundance_array, est_e, noisy_a)
    p = s2.permutation
    np.testing.assert_allclose(s2.nmse, nmse(si.abundance_array, noisy_a[p]))
    assert s2.mean_nmse == pytest.approx(np.mean(s2.nmse))
    assert s2.abundance_rmse == pytest.approx(0.05, rel=0.1)


def test_unmixing_scores_validation():
    t_e, t_a = np.ones((2, 10)), np.full((2, 6), 0.5)
    t_e[0, 0] = 5.0
    with pytest.raises(ValueError, match="must correspond"):
        unmixing_scores(t_e, t_a, t_e, t_a[:1])
    with pytest.raises(ValueError, match="transposed"):
        unmixing_scores(t_e, t_a, t_e, t_a.T)
    with pytest.raises(ValueError, match="true abundances"):
        unmixing_scores(t_e, t_a[:1], t_e, t_a)
