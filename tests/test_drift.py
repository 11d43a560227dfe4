"""Drift-aware unmixing: a per-pixel energy shift estimated with the unmixing."""

import dask.array
import numpy as np
import pytest

import eels_ae
from eels_ae.energy_shift import estimate_shifts, shift_spectra
from eels_ae.metrics import unmixing_scores
from eels_ae.validation import NonFiniteDataError


def _drifted(shift, seed=41):
    # Another size, dose and seed than the benchmark's.
    return eels_ae.data.chequerboard_spectrum_image(
        "k", shape=(40, 40), block=5, dose=2e4, random_state=seed, shift=shift
    )


def _truth_at(syn, energy_shift):
    """The true endmembers moved by ``energy_shift`` eV (the gauge)."""
    scale = syn.signal.axes_manager[-1].scale
    return shift_spectra(syn.endmember_array, energy_shift / scale)


def test_shift_and_estimate_are_inverse():
    rng = np.random.default_rng(0)
    E = np.linspace(0, 1, 300)
    spectra = np.stack(
        [np.exp(-3 * E) + (E > c) * 0.5 for c in rng.uniform(0.3, 0.7, 20)]
    )
    model = 1000 * spectra
    d = rng.uniform(-3, 3, 20)
    X = rng.poisson(shift_spectra(model, d)).astype(float)
    got = estimate_shifts(X, model, n_steps=8)
    assert np.abs(got - d).max() < 0.3


def test_drift_is_measured_and_the_endmembers_recover():
    syn = _drifted(1.5)
    X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])
    scale = syn.signal.axes_manager[-1].scale
    est = eels_ae.DriftAwareUnmixing(4, random_state=0)
    A = est.fit_transform(syn.signal.data)  # an image: the shift map is smoothed
    assert est.unmixer_ == "nfindr"  # well exposed: the pure-pixel core
    true = syn.shift.ravel()
    got = est.channel_shift_ * scale
    gauge = np.median(true)
    rms = np.sqrt(np.mean((got - (true - gauge)) ** 2))
    assert rms < 0.2  # eV
    truth = _truth_at(syn, gauge)
    aware = unmixing_scores(truth, syn.abundance_array, est.components_, A.T)
    plain = eels_ae.NFINDR(4, random_state=0)
    P = plain.fit_transform(X)
    blind = unmixing_scores(truth, syn.abundance_array, plain.components_, P.T)
    assert aware.mean_sad_deg < blind.mean_sad_deg
    assert aware.mean_nmse <= blind.mean_nmse + 0.01


def test_a_drift_across_layers_is_not_taken_into_the_endmembers():
    # The phases lie in layers across an 8-channel drift ramp: endmembers
    # learnt from the drifted spectra carry each layer's mean drift, and
    # without putting those offsets back the map came out 0.62-0.71x the
    # true one (RMS error 0.58-0.78 channels; now 0.23-0.31).
    slopes, errors = [], []
    for seed in (0, 1):
        syn = eels_ae.data.oxide_scene(
            "CrCoNi",
            "layers",
            shape=(32, 32),
            dose=5000.0,
            drift=8.0,
            random_state=seed,
        )
        true = (syn.shift / syn.signal.axes_manager[-1].scale).ravel()
        true -= np.median(true)
        est = eels_ae.DriftAwareUnmixing(3, random_state=seed).fit(syn.signal.data)
        error = est.channel_shift_ - true
        slopes.append(np.polyfit(true, est.channel_shift_, 1)[0])
        errors.append(np.sqrt(np.mean((error - error.mean()) ** 2)))
    assert min(slopes) > 0.8 and max(slopes) < 1.2
    assert np.mean(errors) < 0.45


def test_a_thickness_gradient_does_not_become_a_drift():
    # No drift, a 1-2x thickness ramp: the shift measurement's per-phase
    # bias was once taken for endmember offsets, round after round, until
    # the map read several eV (1.5 eV RMS here; now 0.19).
    syn = eels_ae.data.chequerboard_spectrum_image(
        "k", dose=1e4, amplitude=2.0, random_state=1
    )
    est = eels_ae.DriftAwareUnmixing(4, random_state=1).fit(syn.signal.data)
    scale = syn.signal.axes_manager[-1].scale
    assert np.sqrt(np.mean((est.channel_shift_ * scale) ** 2)) < 0.4


def test_no_drift_gives_no_shift():
    syn = _drifted(None)
    X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])
    scale = syn.signal.axes_manager[-1].scale
    est = eels_ae.DriftAwareUnmixing(4, random_state=0).fit(syn.signal.data)
    assert np.sqrt(np.mean((est.channel_shift_ * scale) ** 2)) < 0.1
    base = eels_ae.NFINDR(4, random_state=0).fit(X)
    truth = syn.endmember_array
    A = syn.abundance_array
    a = unmixing_scores(truth, A, est.components_, est.transform(X).T)
    b = unmixing_scores(truth, A, base.components_, base.transform(X).T)
    assert a.mean_sad_deg < b.mean_sad_deg + 0.3


def test_decomposition_gives_the_shift_map_in_ev_eager_and_lazy():
    syn = _drifted(1.5)
    s = syn.signal.deepcopy()
    s.decomposition(
        algorithm="drift_aware", output_dimension=4, print_info=False, random_state=0
    )
    shift = s.learning_results.energy_shift
    assert shift.data.shape == (40, 40) and "eV" in shift.metadata.General.title
    # The drift runs along x, 0 to 1.5 eV.
    profile = shift.data.mean(axis=0)
    assert profile[-1] - profile[0] == pytest.approx(1.5, abs=0.2)
    lazy = syn.signal.as_lazy()
    lazy.decomposition(
        algorithm="drift_aware", output_dimension=4, print_info=False, random_state=0
    )
    np.testing.assert_allclose(
        lazy.learning_results.energy_shift.data, shift.data, atol=1e-3
    )
    # HyperSpy's own algorithms leave no shift map behind.
    s.decomposition(algorithm="SVD", output_dimension=4, print_info=False)
    assert not hasattr(s.learning_results, "energy_shift")


def test_real_image_shows_no_invented_drift():
    from eels_ae.data.examples import load_example

    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    s.decomposition(
        algorithm="drift_aware", output_dimension=2, print_info=False, random_state=0
    )
    shift = s.learning_results.energy_shift.data
    # 0.5 eV channels, no visible drift in the raw edges: the map stays flat
    # (measured: standard deviation 0.02 eV).
    assert np.abs(shift).max() < 0.15 and shift.std() < 0.05
    assert s.learning_results.energy_shift.axes_manager.signal_shape == (6, 49)


def test_a_trained_model_measures_the_drift_of_the_next_acquisition():
    """Train once, apply to a new scan with another drift, size and seed:
    the shift map is measured on the new image (smoothed over it, as in
    training) and kept in ``learning_results``, eager and lazy alike."""
    train = _drifted(1.5)
    s = train.signal.deepcopy()
    s.decomposition(
        algorithm="drift_aware", output_dimension=4, print_info=False, random_state=0
    )
    model = s.learning_results.decomposition_algorithm
    new = eels_ae.data.chequerboard_spectrum_image(
        "k", shape=(24, 36), block=4, dose=2e4, random_state=7, shift=-1.0
    )
    true = new.shift - np.median(new.shift)
    eager = new.signal.deepcopy()
    eager.apply_model(model)
    shift = eager.learning_results.energy_shift.data
    assert shift.shape == (24, 36)
    # Measured: 0.05 eV RMS on the image; spectrum by spectrum, without the
    # smoothing over the image, it was 0.34 eV.
    assert np.sqrt(np.mean((shift - true) ** 2)) < 0.15
    np.testing.assert_array_equal(new.signal.data, eager.data)  # untouched
    lazy = new.signal.as_lazy()
    lazy.data = lazy.data.rechunk((8, 12, -1))
    lazy.apply_model(model)
    np.testing.assert_allclose(
        lazy.learning_results.energy_shift.data, shift, atol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(lazy.learning_results.loadings),
        eager.learning_results.loadings,
        atol=1e-6,
    )
    # Another model applied next leaves no stale shift map.
    flat = train.signal.data.reshape(-1, train.signal.data.shape[-1])
    eager.apply_model(eels_ae.NFINDR(4, random_state=0).fit(flat))
    assert not hasattr(eager.learning_results, "energy_shift")


def test_a_lazy_scan_with_nan_fails_clearly_and_keeps_earlier_results():
    syn = _drifted(1.0)
    model = eels_ae.DriftAwareUnmixing(4, n_iter=2, random_state=0).fit(syn.signal.data)
    s = syn.signal.as_lazy()
    s.apply_model(model)
    before = np.array(s.learning_results.loadings)
    shift_before = s.learning_results.energy_shift.data.copy()
    data = syn.signal.data.copy()
    data[3, 4, 100] = np.nan
    s.data = dask.array.from_array(data, chunks=(10, 10, -1))
    # Found on a worker in one chunk, reported at its pixel in the image.
    with pytest.raises(NonFiniteDataError, match=r"NaN.*pixel \(x=4, y=3\)"):
        s.apply_model(model)
    np.testing.assert_array_equal(s.learning_results.loadings, before)
    np.testing.assert_array_equal(s.learning_results.energy_shift.data, shift_before)


def _thickening_image(drift):
    """A low-dose O K image, the specimen thickening 0.2 -> 3x (plural
    scattering broadens the thick pixels' edges), ``drift`` eV of drift: a
    generator the shift check's bounds were not set on."""
    return eels_ae.data.lowdose.lowdose_spectrum_image(
        shape=(24, 40),
        drift=drift,
        thickness=(0.2, 3.0),
        counts_at_edge=200,
        random_state=0,
    )


def test_a_map_that_follows_the_thickness_is_flagged():
    # No drift: the map puts ~6 channels between thin and thick pixels
    # whose edges sit in the same channels (as on a real Cu/ZnO image, where
    # the map followed the thickness).
    syn = _thickening_image(drift=0.0)
    with pytest.warns(UserWarning, match="shift map cannot be trusted"):
        est = eels_ae.DriftAwareUnmixing(3, random_state=0).fit(syn.signal.data)
    check = est.shift_check_
    assert not check["trusted"] and abs(check["measured"]) < 0.3 * check["claimed"]


def test_a_real_drift_passes_the_check():
    # The same image with 4 eV (16 channels) of drift: the raw spectra show
    # the shifts the map claims.
    syn = _thickening_image(drift=4.0)
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*cannot be trusted")
        est = eels_ae.DriftAwareUnmixing(3, random_state=0).fit(syn.signal.data)
    check = est.shift_check_
    assert check["trusted"] and check["claimed"] > 8
    assert abs(check["measured"] - check["claimed"]) < 0.2 * check["claimed"]
