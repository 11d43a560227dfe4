"""The unmixing autoencoders of source 004 and beyond (uDAS, MTAEU, CNNAEU,
VAEU): synthetic truth on data unlike the benchmark's, the real STO / LSMO
image, and what each model adds."""

import numpy as np
import pytest
import torch
from conftest import assert_la_m_endmember_follows_the_lsmo_layer

import eels_ae
from eels_ae.data.examples import load_example
from eels_ae.metrics import unmixing_scores
from eels_ae.models.udas import marginalised_denoiser

NEW = {
    "udas": eels_ae.UDAS,
    "mtaeu": eels_ae.MTAEU,
    "cnnaeu": eels_ae.CNNAEU,
    "vaeu": eels_ae.VAEU,
}
QUIET = dict(random_state=0, show_progressbar=False, device="cpu")


@pytest.fixture(scope="module")
def chequerboard():
    # Another size, block and seed than the benchmark (64 x 64, block 8).
    return eels_ae.data.chequerboard_spectrum_image(
        "ml", shape=(40, 48), block=6, dose=2e4, random_state=31
    )


def _fit_scores(syn, est):
    entry = eels_ae.registry.for_estimator(est)
    X = syn.signal.data
    if entry.input == "spectra":
        X = X.reshape(-1, X.shape[-1])
    A = est.fit_transform(X)
    scores = unmixing_scores(
        syn.endmember_array, syn.abundance_array, est.components_, A.T
    )
    return scores, A


@pytest.mark.parametrize("name", sorted(NEW))
def test_recovers_the_synthetic_endmembers(name, chequerboard):
    scores, A = _fit_scores(chequerboard, NEW[name](3, **QUIET))
    # Measured 0.9-2.0 degrees and NMSE 0.05-0.2 here; a collapsed or
    # untrained run is tens of degrees off.
    assert scores.mean_sad_deg < 3.5
    assert scores.mean_nmse < 0.45
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-6)


def test_decomposition_names_eager_and_lazy_agree(chequerboard):
    for name in ("mtaeu", "cnnaeu"):  # the spatial ones take the image
        eager = chequerboard.signal.deepcopy()
        eager.decomposition(
            algorithm=name, output_dimension=3, print_info=False, **QUIET
        )
        lazy = chequerboard.signal.as_lazy()
        lazy.decomposition(
            algorithm=name, output_dimension=3, print_info=False, **QUIET
        )
        np.testing.assert_allclose(
            eager.learning_results.factors, lazy.learning_results.factors, rtol=1e-4
        )


@pytest.mark.parametrize("name", ["vaeu", "daeu"])
def test_abundances_hold_through_a_thickness_ramp(name):
    # Thickness 1x -> 2.5x along y, a seed and shape the defaults were not
    # tuned on: a linear model reads the thicker pixels as more of the
    # brighter endmembers (DAEU started from the raw spectra: abundance NMSE
    # 0.61, 3.9 degrees). VAEU models each pixel's intensity; DAEU gets the
    # per-pixel scale (intensity="auto") and a start picked among the
    # spectra's shapes. Measured NMSE 0.075 and 0.086.
    syn = eels_ae.data.chequerboard_spectrum_image(
        "k", shape=(40, 40), block=5, dose=1e4, amplitude=2.5, random_state=41
    )
    cls = {"vaeu": eels_ae.VAEU, "daeu": eels_ae.DAEU}[name]
    scores, _ = _fit_scores(syn, cls(4, **QUIET))
    assert scores.mean_nmse < 0.2
    assert scores.mean_sad_deg < 3.0


def test_vaeu_variability_map_lands_in_learning_results():
    syn = eels_ae.data.chequerboard_spectrum_image(
        "ml", shape=(20, 24), block=4, dose=1e4, broadening=1.5, random_state=3
    )
    s = syn.signal
    s.decomposition(algorithm="vaeu", output_dimension=3, print_info=False, **QUIET)
    var = s.learning_results.endmember_variability
    assert var.data.shape == (3, 20, 24)
    assert var.axes_manager.signal_axes[0].scale == s.axes_manager[0].scale
    assert np.all(var.data >= 0) and np.isfinite(var.data).all()
    est = s.learning_results.decomposition_algorithm
    E = est.pixel_endmembers(s.data.reshape(-1, s.data.shape[-1])[:10])
    assert E.shape == (10, 3, s.data.shape[-1])
    # Another algorithm afterwards leaves no stale map.
    s.decomposition(algorithm="nfindr", output_dimension=3, print_info=False)
    assert not hasattr(s.learning_results, "endmember_variability")


def test_marginalised_denoiser_is_the_expected_least_squares_map():
    rng = np.random.default_rng(0)
    X = rng.gamma(2.0, size=(400, 6)) @ rng.random((6, 12))
    # Without corruption the spectra come back as they are.
    D0 = marginalised_denoiser(X, 0.0)
    np.testing.assert_allclose(X @ D0.T, X, rtol=1e-3, atol=1e-3 * X.max())
    # Against the least-squares map fitted on many sampled corruptions.
    p = 0.3
    reps = 400
    Xr = np.repeat(X, reps, axis=0)
    noisy = Xr * (rng.random(Xr.shape) >= p)
    D_mc = np.linalg.lstsq(noisy, Xr, rcond=None)[0].T
    D = marginalised_denoiser(X, p)
    assert np.abs(D - D_mc).max() < 0.05 * np.abs(D).max()


def test_cnnaeu_spatial_kernels_are_averages_and_endmembers_non_negative(
    chequerboard,
):
    est = eels_ae.CNNAEU(3, **QUIET).fit(chequerboard.signal.data)
    k = est.model_.spatial_kernels().detach()
    assert torch.all(k >= 0)
    torch.testing.assert_close(k.sum(dim=(1, 2, 3)), torch.ones(3))
    assert np.all(est.components_ >= 0)


def test_mtaeu_input_noise_has_the_law_of_noise_on_the_input():
    net = eels_ae.models.MTAEUNet(20, 3, 9, noise=0.1)
    torch.manual_seed(0)
    W = net.shared[0].weight.detach()
    draws = torch.stack([net._projected_noise(1, W)[0] for _ in range(4000)])
    expected = 0.01 * (W @ W.T)
    torch.testing.assert_close(
        torch.cov(draws.T), expected, atol=0.15 * expected.abs().max().item(), rtol=0
    )


def test_spectra_without_a_shape_are_a_line_scan():
    syn = eels_ae.data.chequerboard_spectrum_image(
        "ml", shape=(1, 60), block=6, dose=1e4, random_state=2
    )
    X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])
    a = eels_ae.MTAEU(3, max_epochs=3, **QUIET).fit_transform(X)
    b = eels_ae.MTAEU(3, max_epochs=3, **QUIET).fit(X, navigation_shape=(1, 60))
    np.testing.assert_allclose(a, b.transform(X))


@pytest.mark.parametrize("name", sorted(NEW))
def test_real_interface_the_la_m_endmember_follows_the_lsmo_layer(name):
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    E = s.axes_manager.signal_axes[0].axis
    rows = s.data.shape[0]
    X = s.data.astype(np.float64)
    est = NEW[name](2, **QUIET)
    entry = eels_ae.registry.get(name)
    A = est.fit_transform(X if entry.input == "image" else X.reshape(-1, X.shape[-1]))
    # A looser bound on the layer share than N-FINDR's test (0.75).
    assert_la_m_endmember_follows_the_lsmo_layer(
        est.components_, A, E, rows, layer_min=0.6, contrast=0.3
    )


@pytest.mark.parametrize("name", ["daeu", "cnnaeu"])
def test_a_well_exposed_start_is_not_trained_away(name):
    # Pure pixels at ~11 counts per channel (the K set at dose 1e4), a size,
    # block and seed the rule was not measured on: the averaged N-FINDR
    # start is within about a degree, and the network keeps it (before the
    # averaged start and the slow decoder, DAEU ended 2.5-2.7 degrees from
    # the truth on such images while N-FINDR gave about 1).
    syn = eels_ae.data.chequerboard_spectrum_image(
        "k", shape=(36, 40), block=6, dose=1e4, random_state=23
    )
    cls = {"daeu": eels_ae.DAEU, "cnnaeu": eels_ae.CNNAEU}[name]
    est = cls(4, **QUIET)
    scores, _ = _fit_scores(syn, est)
    start, _ = _fit_scores(syn, eels_ae.NFINDR(4, random_state=0))
    assert est.model_.decoder_lr_factor == pytest.approx(0.02)
    assert scores.mean_sad_deg < 1.5 * start.mean_sad_deg + 0.3
