"""``s.decomposition(algorithm="daeu" | "vca")`` end to end in HyperSpy."""

import copy
import warnings

import hyperspy.api as hs
import numpy as np
import pytest
from conftest import fast_daeu_params
from exspy.signals import EELSSpectrum

import eels_ae
from eels_ae.metrics import unmixing_scores


@pytest.mark.parametrize("algorithm", ["daeu", "vca", "DAEU"])
def test_string_name_fills_learning_results(small_ml, algorithm):
    s = small_ml.signal.deepcopy()
    original = s.data.copy()
    params = fast_daeu_params() if algorithm.lower() == "daeu" else {"random_state": 0}
    s.decomposition(algorithm=algorithm, output_dimension=3, print_info=False, **params)
    lr = s.learning_results
    est = lr.decomposition_algorithm
    assert isinstance(est, eels_ae.ALGORITHMS[algorithm.lower()])
    assert est.n_components == 3
    assert lr.factors.shape == (200, 3)
    assert lr.loadings.shape == (32 * 32, 3)
    np.testing.assert_allclose(lr.loadings.sum(axis=1), 1.0, atol=1e-5)
    assert (lr.loadings >= 0).all() and (lr.factors >= 0).all()
    np.testing.assert_array_equal(s.data, original)  # input untouched
    scores = unmixing_scores(
        small_ml.endmember_array, small_ml.abundance_array, lr.factors.T, lr.loadings.T
    )
    assert scores["mean_sad_deg"] < 15.0


def test_accessors_plots_and_model(small_ml):
    s = small_ml.signal.deepcopy()
    s.decomposition(
        algorithm="daeu", output_dimension=3, print_info=False, **fast_daeu_params()
    )
    factors = s.get_decomposition_factors()
    assert isinstance(factors, EELSSpectrum)
    energy = factors.axes_manager.signal_axes[0]
    src = s.axes_manager.signal_axes[0]
    assert (energy.offset, energy.scale, energy.units) == (src.offset, src.scale, "eV")
    loadings = s.get_decomposition_loadings()
    assert loadings.axes_manager.signal_shape == (32, 32)
    assert loadings.axes_manager.navigation_size == 3
    model = s.get_decomposition_model()
    assert model.data.shape == s.data.shape
    # The model must explain the data far better than a flat mean spectrum.
    resid = np.linalg.norm(model.data - s.data)
    flat = np.linalg.norm(s.data - s.data.mean(axis=(0, 1)))
    assert resid < 0.8 * flat
    clean_err = np.linalg.norm(model.data - small_ml.clean.data)
    assert clean_err < 0.5 * np.linalg.norm(s.data - small_ml.clean.data)
    s.plot_decomposition_results()
    s.plot_decomposition_factors(comp_ids=3)
    s.plot_decomposition_loadings(comp_ids=3)
    import matplotlib.pyplot as plt

    assert len(plt.get_fignums()) >= 2


def test_bss_runs_on_daeu_results(small_ml):
    s = small_ml.signal.deepcopy()
    s.decomposition(
        algorithm="vca", output_dimension=3, print_info=False, random_state=0
    )
    s.blind_source_separation(3, print_info=False)
    assert s.learning_results.bss_factors.shape == (200, 3)


def test_estimator_object_and_return_info(small_ml, capsys):
    s = small_ml.signal.deepcopy()
    est = eels_ae.VCA(n_components=3, random_state=1)
    out = s.decomposition(algorithm=est, return_info=True, print_info=True)
    assert out is est and s.learning_results.decomposition_algorithm is est
    assert hasattr(est, "components_")
    printed = capsys.readouterr().out
    assert "Decomposition info" in printed and "VCA(" in printed
    out = s.decomposition(algorithm="vca", output_dimension=3, print_info=False)
    assert out is None
    assert capsys.readouterr().out == ""


def test_parameters_pass_through_and_unknown_ones_are_listed(small_ml):
    s = small_ml.signal.deepcopy()
    s.decomposition(
        algorithm="daeu",
        output_dimension=3,
        print_info=False,
        max_epochs=2,
        warmup_epochs=1,
        tol=None,
        random_state=0,
        show_progressbar=False,
    )
    est = s.learning_results.decomposition_algorithm
    assert est.max_epochs == 2 and est.n_epochs_ == 3  # 1 warm-up + 2
    with pytest.raises(TypeError, match="learning_rate.*max_epochs|max_epochs"):
        s.decomposition(algorithm="daeu", output_dimension=3, epochs=3)
    with pytest.raises(ValueError, match="needs output_dimension"):
        s.decomposition(algorithm="vca")


def test_failed_call_keeps_previous_results(small_ml):
    s = small_ml.signal.deepcopy()
    s.decomposition(
        algorithm="vca", output_dimension=3, print_info=False, random_state=0
    )
    before = copy.deepcopy(s.learning_results.__dict__)
    with pytest.raises(ValueError, match="larger than the number of channels"):
        s.decomposition(algorithm="vca", output_dimension=500, print_info=False)
    with pytest.raises(ValueError, match="batch_size must be at least 2"):
        s.decomposition(
            algorithm="daeu", output_dimension=3, batch_size=1, print_info=False
        )
    after = s.learning_results.__dict__
    assert after.keys() == before.keys()
    np.testing.assert_array_equal(after["factors"], before["factors"])
    np.testing.assert_array_equal(after["loadings"], before["loadings"])
    assert after["decomposition_algorithm"] is not None


def test_nan_is_reported_with_its_pixel(small_ml):
    s = small_ml.signal.deepcopy()
    s.data[5, 9, 17] = np.nan
    s.data[20, 1, 0] = np.inf
    with pytest.raises(
        ValueError,
        match=r"2 non-finite value\(s\).*2 spectra: pixel \(x=9, y=5\), "
        r"pixel \(x=1, y=20\)",
    ):
        s.decomposition(algorithm="daeu", output_dimension=3)
    assert np.isnan(s.data[5, 9, 17])  # not "repaired" behind the user's back


def test_signal2d_and_single_spectrum_are_refused():
    img = hs.signals.Signal2D(np.random.default_rng(0).random((4, 16, 16)))
    with pytest.raises(ValueError, match="signal dimension 2"):
        img.decomposition(algorithm="vca", output_dimension=2)
    one = hs.signals.Signal1D(np.random.default_rng(0).random(50))
    with pytest.raises(ValueError, match="single spectrum"):
        one.decomposition(algorithm="vca", output_dimension=2)


def test_too_few_pixels(small_ml):
    s = small_ml.signal.inav[:2, :1]
    with pytest.raises(ValueError, match="too few to unmix 3"):
        s.decomposition(algorithm="daeu", output_dimension=3)


def test_plain_signal1d_and_line_scan_work():
    rng = np.random.default_rng(1)
    E = rng.random((2, 30)) + 0.1
    A = rng.dirichlet([1, 1], size=40)
    s = hs.signals.Signal1D(A @ E)  # 1-D navigation, not EELS
    s.decomposition(
        algorithm="vca", output_dimension=2, print_info=False, random_state=0
    )
    assert type(s.get_decomposition_factors()) is hs.signals.Signal1D
    np.testing.assert_allclose(s.get_decomposition_model().data, s.data, atol=1e-6)


def test_progress_bar_follows_argument_and_preferences(small_ml, capfd):
    s = small_ml.signal.deepcopy()
    s.decomposition(
        algorithm="daeu",
        output_dimension=3,
        print_info=False,
        **{**fast_daeu_params(), "show_progressbar": True},
    )
    assert "DAEU:" in capfd.readouterr().err
    try:
        hs.preferences.General.show_progressbar = True
        params = {**fast_daeu_params(), "show_progressbar": None}
        s.decomposition(
            algorithm="daeu", output_dimension=3, print_info=False, **params
        )
        assert "DAEU:" in capfd.readouterr().err
        hs.preferences.General.show_progressbar = False
        s.decomposition(
            algorithm="daeu", output_dimension=3, print_info=False, **params
        )
        assert "DAEU" not in capfd.readouterr().err
    finally:
        hs.preferences.General.show_progressbar = False


def test_background_subtracted_real_data_with_negative_counts():
    from eels_ae.data.examples import load_example

    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    # exspy's power-law background removal leaves noise around zero.
    sub = s.remove_background(
        signal_range=(380.0, 450.0), fast=True, show_progressbar=False
    ).isig[440.0:]
    assert (sub.data < 0).any()
    before = sub.data.copy()
    sub.decomposition(
        algorithm="daeu", output_dimension=2, print_info=False, **fast_daeu_params()
    )
    lr = sub.learning_results
    np.testing.assert_array_equal(sub.data, before)
    np.testing.assert_allclose(lr.loadings.sum(axis=1), 1.0, atol=1e-5)
    assert (lr.factors >= 0).all()
    # The Ti L2,3 white lines (~456-465 eV) stand out in an endmember.
    energy = sub.axes_manager.signal_axes[0].axis
    ti = (energy > 455) & (energy < 468)
    pre = (energy > 440) & (energy < 452)
    assert max(f[ti].mean() / max(f[pre].mean(), 1e-9) for f in lr.factors.T) > 2


def test_integer_detector_counts_are_unmixed_on_a_float_copy(small_ml):
    s = small_ml.signal.deepcopy()
    s.data = np.round(s.data).astype(np.int16)
    before = s.data.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: no note either
        s.decomposition(
            algorithm="vca", output_dimension=3, print_info=False, random_state=0
        )
    assert s.data.dtype == np.int16
    np.testing.assert_array_equal(s.data, before)
    lr = s.learning_results
    assert lr.factors.shape == (s.data.shape[-1], 3)
    np.testing.assert_allclose(np.asarray(lr.loadings).sum(axis=1), 1.0, atol=1e-6)
    # The same counts as floats give the same endmembers.
    f = s.deepcopy()
    f.change_dtype("float32")
    f.decomposition(
        algorithm="vca", output_dimension=3, print_info=False, random_state=0
    )
    np.testing.assert_allclose(lr.factors, f.learning_results.factors, rtol=1e-5)


def test_lazy_navigation_mask_gets_the_documented_error(small_ml):
    s = small_ml.signal.as_lazy()
    mask = np.zeros(s.axes_manager.navigation_shape[::-1], dtype=bool)
    mask[0, 0] = True
    with pytest.raises(NotImplementedError, match="navigation_mask"):
        s.decomposition(algorithm="vca", output_dimension=3, navigation_mask=mask)


def test_a_fitted_estimator_object_is_not_refitted_under_another_signal(small_ml):
    s1 = small_ml.signal.deepcopy()
    s2 = small_ml.signal.inav[:16].deepcopy()
    est = eels_ae.VCA(3, random_state=0)
    s1.decomposition(algorithm=est, output_dimension=3, print_info=False)
    assert s1.learning_results.decomposition_algorithm is est
    before = est.components_.copy()
    with pytest.warns(UserWarning, match="already fitted"):
        s2.decomposition(algorithm=est, output_dimension=3, print_info=False)
    assert s2.learning_results.decomposition_algorithm is not est
    np.testing.assert_array_equal(est.components_, before)  # s1's model intact


def test_poisson_normalisation_leaves_the_data_exactly_and_says_what_loadings_are(
    small_ml,
):
    s = small_ml.signal.deepcopy()
    before = s.data.copy()
    with pytest.warns(UserWarning, match="no longer abundances that sum to one"):
        s.decomposition(
            algorithm="vca",
            output_dimension=3,
            normalize_poissonian_noise=True,
            print_info=False,
            random_state=0,
        )
    np.testing.assert_array_equal(s.data, before)  # not just to rounding
    L = np.asarray(s.learning_results.loadings)
    np.testing.assert_allclose((L / L.sum(axis=1, keepdims=True)).sum(axis=1), 1.0)
    saved = copy.deepcopy(s.learning_results.loadings)
    with pytest.raises(ValueError, match="dropout"):
        s.decomposition(
            algorithm="daeu",
            output_dimension=3,
            normalize_poissonian_noise=True,
            dropout=5.0,
        )
    np.testing.assert_array_equal(s.data, before)
    np.testing.assert_array_equal(s.learning_results.loadings, saved)


def test_signal_mask_on_lazy_signals_and_spatial_algorithms():
    import eels_ae

    syn = eels_ae.data.chequerboard_spectrum_image(
        "k", shape=(24, 24), block=6, dose=1e4, random_state=8
    )
    E = syn.signal.axes_manager.signal_axes[0].axis
    mask = E < 350.0  # leave out the carbon K edge region (True: left out)
    eager = syn.signal.deepcopy()
    eager.decomposition(
        algorithm="nfindr",
        output_dimension=4,
        print_info=False,
        random_state=0,
        signal_mask=mask,
    )
    lazy = syn.signal.as_lazy()
    lazy.decomposition(
        algorithm="nfindr",
        output_dimension=4,
        print_info=False,
        random_state=0,
        signal_mask=mask,
    )
    fe, fl = eager.learning_results.factors, lazy.learning_results.factors
    assert np.isnan(fl[mask]).all() and np.isfinite(fl[~mask]).all()
    np.testing.assert_allclose(fl[~mask], fe[~mask], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(lazy.learning_results.loadings),
        np.asarray(eager.learning_results.loadings),
        atol=1e-4,
    )
    # A spatial algorithm on an eager signal takes the mask too.
    s = syn.signal.deepcopy()
    s.decomposition(
        algorithm="drift_aware",
        output_dimension=4,
        print_info=False,
        random_state=0,
        signal_mask=mask,
    )
    assert np.isnan(s.learning_results.factors[mask]).all()
    with pytest.raises(ValueError, match="every channel"):
        syn.signal.as_lazy().decomposition(
            algorithm="nfindr", output_dimension=4, signal_mask=np.ones(E.size, bool)
        )


def test_a_misspelt_algorithm_gets_the_nearest_names():
    import hyperspy.api as hs

    s = hs.signals.Signal1D(np.random.default_rng(0).random((4, 4, 20)))
    with pytest.raises(ValueError, match="did you mean 'daeu'") as err:
        s.decomposition(algorithm="deau", output_dimension=2)
    assert "nfindr" in str(err.value) and "NMF" in str(err.value)
    with pytest.raises(ValueError, match="did you mean 'NMF'"):
        s.decomposition(algorithm="nmf", output_dimension=2)
    # Nothing near: HyperSpy's own message, as without eels_ae.
    with pytest.raises(ValueError, match="not recognised"):
        s.decomposition(algorithm="xyz", output_dimension=2)


def test_warnings_point_at_the_users_line_through_hyperspy_and_sklearn():
    """A warning from inside a decomposition names the caller's file and line
    (not HyperSpy's or scikit-learn's wrappers), so Python shows it where the
    user called and, by default, once per call site."""
    from eels_ae.data.examples import load_example

    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s.decomposition(
            algorithm="daeu",
            output_dimension=2,
            max_epochs=1,
            show_progressbar=False,
            print_info=False,
        )
    ours = [w for w in caught if "batch_size" in str(w.message)]
    assert len(ours) == 1
    assert ours[0].filename == __file__
