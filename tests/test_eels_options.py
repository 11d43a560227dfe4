"""EELS-aware options of ``s.decomposition`` for every unmixing algorithm:
``background_range`` (unmixing background-free spectra, with the removed
power law reported in ``learning_results``) and ``normalize_poissonian_noise``
on lazy signals and for the spatial algorithms."""

from __future__ import annotations

import warnings

import hyperspy.api as hs
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

import eels_ae  # noqa: F401  (installs the algorithm names)
from eels_ae.data.examples import load_example
from eels_ae.metrics import nmse

WINDOW = (310.0, 390.0)


def _edges_on_a_shared_background(seed=11, shape=(40, 36)):
    """Two background-free edges (N K-like at 401 eV, O K-like at 532 eV)
    mixed by smooth random maps, on one power law ``A E**-3`` whose amplitude
    doubles across the image (a thickness change), with Poisson noise.

    Not the chequerboard generator of the benchmarks: other maps, other
    edges, a shared background instead of one per endmember.
    """
    rng = np.random.default_rng(seed)
    energy = 300.0 + np.arange(500) * 1.0
    edges = np.stack(
        [
            (energy > 401)
            * (1 + 2 * np.exp(-((energy - 405) ** 2) / 8))
            * (energy / 401) ** -2.5,
            (energy > 532)
            * (1 + 3 * np.exp(-((energy - 536) ** 2) / 6))
            * (energy / 532) ** -2.5,
        ]
    )
    field = gaussian_filter(rng.normal(size=shape), 4)
    field = (field - field.mean()) / field.std()
    a = 1 / (1 + np.exp(-3 * field))  # share of the first edge, 0..1
    abundances = np.stack([a, 1 - a])  # (2, rows, columns)
    amplitude = np.linspace(1.0, 2.0, shape[1])[None, :] * np.ones(shape)
    background = amplitude[..., None] * 60.0 * (energy / 300.0) ** -3.0
    signal = np.einsum("rij,rc->ijc", abundances, 25.0 * edges) + background
    counts = rng.poisson(signal).astype(np.float32)
    s = hs.signals.Signal1D(counts)
    axis = s.axes_manager.signal_axes[0]
    axis.offset, axis.scale, axis.units, axis.name = 300.0, 1.0, "eV", "Energy loss"
    axis.is_binned = True
    return s, abundances, amplitude


def _matched_nmse(truth, loadings):
    """NMSE of the better of the two orders of the two components."""
    est = loadings.T.reshape(truth.shape)
    return min(np.mean(nmse(truth, est)), np.mean(nmse(truth, est[::-1])))


def test_background_removed_before_unmixing_recovers_the_abundances():
    s, truth, amplitude = _edges_on_a_shared_background()
    before = s.data.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the far-extrapolation warning
        s.decomposition(
            algorithm="nfindr",
            output_dimension=2,
            background_range=WINDOW,
            random_state=0,
            print_info=False,
        )
    np.testing.assert_array_equal(s.data, before)  # the user's data untouched
    lr = s.learning_results
    with_background = _matched_nmse(truth, lr.loadings)
    assert with_background < 0.05
    # The window and what lies below it are left out, as signal_mask does.
    energy = s.axes_manager.signal_axes[0].axis
    assert np.isnan(lr.factors[energy <= WINDOW[1]]).all()
    assert np.isfinite(lr.factors[energy > WINDOW[1]]).all()
    # The removed background: its amplitude follows the thickness ramp and
    # its exponent is the true one.
    A, r = lr.background.data
    assert lr.background.axes_manager.navigation_size == 2
    assert lr.background.metadata.Signal.background_range == WINDOW
    # (A and r trade off against each other: compare the background itself.)
    at_window_end = A * WINDOW[1] ** -r
    assert np.corrcoef(at_window_end.ravel(), amplitude.ravel())[0, 1] > 0.95
    assert abs(np.median(r) - 3.0) < 0.1
    # Without it the shared background swamps the edges: two components
    # cannot hold the background ramp and both edges.
    plain = s.deepcopy()
    plain.decomposition(
        algorithm="nfindr", output_dimension=2, random_state=0, print_info=False
    )
    assert _matched_nmse(truth, plain.learning_results.loadings) > 3 * with_background


def test_background_range_lazy_equals_eager_and_warns_far_extrapolation():
    s, _, _ = _edges_on_a_shared_background(seed=5, shape=(24, 20))
    lazy = s.as_lazy()
    results = []
    for sig in (s, lazy):
        with pytest.warns(UserWarning, match="extrapolated"):
            sig.decomposition(
                algorithm="vca",
                output_dimension=2,
                background_range=WINDOW,
                random_state=3,
                print_info=False,
            )
        results.append(sig.learning_results)
    np.testing.assert_allclose(results[0].loadings, results[1].loadings, atol=1e-4)
    np.testing.assert_allclose(
        results[0].background.data, results[1].background.data, rtol=1e-4
    )


def test_background_range_errors_and_results_kept():
    s, _, _ = _edges_on_a_shared_background(seed=2, shape=(16, 16))
    s.decomposition(algorithm="vca", output_dimension=2, print_info=False)
    kept = s.learning_results.loadings.copy()
    for bad, match in [
        ((390.0, 310.0), "increasing"),
        ((310.0, 311.0), "at least 4"),
        ("310-390", "pair"),
    ]:
        with pytest.raises(ValueError, match=match):
            s.decomposition(algorithm="vca", output_dimension=2, background_range=bad)
        np.testing.assert_array_equal(s.learning_results.loadings, kept)
    with pytest.raises(ValueError, match="cannot be combined"):
        s.decomposition(
            algorithm="vca",
            output_dimension=2,
            background_range=WINDOW,
            normalize_poissonian_noise=True,
        )
    np.testing.assert_array_equal(s.learning_results.loadings, kept)
    assert not hasattr(s.learning_results, "background")
    # HyperSpy's own algorithms leave no eels_ae background behind.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s.decomposition(
            algorithm="vca",
            output_dimension=2,
            background_range=WINDOW,
            print_info=False,
        )
    assert hasattr(s.learning_results, "background")
    s.decomposition(algorithm="SVD", output_dimension=2, print_info=False)
    assert not hasattr(s.learning_results, "background")


def test_real_la_m_with_its_own_background_window():
    """Real STO / LSMO: the background fitted just before La M (780-825 eV)
    and only the La M edge unmixed: one endmember holds the white lines and
    follows the LSMO layer."""
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    energy = s.axes_manager.signal_axes[0].axis
    s.decomposition(
        algorithm="nfindr",
        output_dimension=2,
        background_range=(780.0, 825.0),
        random_state=0,
        print_info=False,
    )
    lr = s.learning_results
    keep = np.isfinite(lr.factors[:, 0])
    assert energy[keep].min() > 825.0
    F = lr.factors[keep].T
    # The La M edge jump is judged against the removed background: the
    # background-free pre-edge is ~0, so compare post-edge with the tail.
    la = [f[(energy[keep] > 830) & (energy[keep] < 840)].mean() for f in F]
    k = int(np.argmax(la))
    share = lr.loadings[:, k].reshape(s.data.shape[0], -1).mean(axis=1)
    layer = share[20:28].mean()
    assert layer > 0.6
    assert layer - share[:12].mean() > 0.3
    assert layer - share[38:].mean() > 0.3


def test_poisson_scaling_lazy_equals_hyperspys_eager_scaling(small_ml):
    eager = small_ml.signal.deepcopy()
    eager.change_dtype("float32")
    lazy = eager.as_lazy()
    for sig in (eager, lazy):
        with pytest.warns(UserWarning, match="Poisson weight"):
            sig.decomposition(
                algorithm="vca",
                output_dimension=3,
                normalize_poissonian_noise=True,
                random_state=1,
                print_info=False,
            )
    assert lazy.learning_results.poissonian_noise_normalized
    np.testing.assert_allclose(
        lazy.learning_results.factors, eager.learning_results.factors, rtol=1e-3
    )
    np.testing.assert_allclose(
        lazy.learning_results.loadings,
        eager.learning_results.loadings,
        rtol=1e-3,
        atol=1e-6,
    )


def test_poisson_scaling_for_a_spatial_algorithm_helps_on_the_ml_set():
    """The drift-aware unmixing (image input) with Poisson scaling: on the
    M/L set (another seed than the benchmark's) the abundances, renormalised
    to sum to one, are closer to the truth than without."""
    syn = eels_ae.data.chequerboard_spectrum_image(
        "ml", dose=1e4, random_state=21, shape=(48, 48)
    )
    errors = {}
    for poisson in (False, True):
        s = syn.signal.deepcopy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s.decomposition(
                algorithm="drift_aware",
                output_dimension=3,
                normalize_poissonian_noise=poisson,
                random_state=0,
                print_info=False,
            )
        A = np.asarray(s.learning_results.loadings)
        A = A / A.sum(axis=1, keepdims=True)
        scores = eels_ae.metrics.unmixing_scores(
            syn.endmember_array,
            syn.abundance_array,
            np.asarray(s.learning_results.factors).T,
            A.T,
        )
        errors[poisson] = scores.mean_nmse
    assert errors[True] < 0.7 * errors[False], errors
