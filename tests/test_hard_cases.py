"""The hard unmixing cases: counts (the Poisson objective), low dose, drift.

Quality against the truth of :func:`eels_ae.data.oxide_scene` images, as
ratios to NMF on the same image; the full figures are in
``benchmarks/results/hard_cases.md``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import NMF

import eels_ae
from eels_ae.metrics import unmixing_scores
from eels_ae.models.unmixing import poisson_deviance


def _sad(syn, est, A):
    return unmixing_scores(
        syn.endmember_array, syn.abundance_array, est.components_, A.T
    ).mean_sad_deg


def _nmf_sad(syn, X, seed=0):
    nmf = NMF(3, random_state=seed, max_iter=500)
    W = nmf.fit_transform(X)
    return unmixing_scores(
        syn.endmember_array, syn.abundance_array, nmf.components_, W.T
    ).mean_sad_deg


# -- the objective ------------------------------------------------------------
def test_poisson_deviance_is_zero_at_any_intensity_and_per_count():
    x = torch.tensor([[3.0, 0.0, 7.0, 1.0]])
    assert float(poisson_deviance(x, x)) == pytest.approx(0.0, abs=1e-6)
    # Each spectrum's intensity is free (thickness x dose).
    assert float(poisson_deviance(x, 5.0 * x)) == pytest.approx(0.0, abs=1e-6)
    assert float(poisson_deviance(x, x + 1.0)) > 0.0
    # Per count: the same for a batch twice as bright.
    y = torch.tensor([[2.0, 5.0, 1.0]])
    y_hat = torch.tensor([[1.0, 1.0, 1.0]])
    assert float(poisson_deviance(y, y_hat)) == pytest.approx(
        float(poisson_deviance(2 * y, y_hat)), rel=1e-5
    )


def test_poisson_deviance_weighs_a_channel_by_its_counts():
    # Model off by 10 % in one channel: costs more in a 500-count channel
    # than in a 5-count one (squared error of shapes would not tell).
    x = torch.tensor([[500.0, 5.0, 500.0]])
    off_bright = torch.tensor([[550.0, 5.0, 500.0]])
    off_faint = torch.tensor([[500.0, 5.5, 500.0]])
    assert float(poisson_deviance(x, off_bright)) > 10 * float(
        poisson_deviance(x, off_faint)
    )


@pytest.mark.parametrize(
    "algorithm", ["daeu", "udas", "mtaeu", "cnnaeu"], ids=str.upper
)
def test_auto_loss_is_poisson_on_counts_and_original_otherwise(algorithm):
    syn = eels_ae.data.oxide_scene(shape=(12, 12), dose=500, drift=0, random_state=0)
    counts = syn.signal.data
    if eels_ae.registry.get(algorithm).input == "spectra":
        counts = counts.reshape(-1, counts.shape[-1])
    cls = eels_ae.registry.get(algorithm).estimator
    kw = dict(random_state=0, show_progressbar=False, max_epochs=2)
    assert cls(3, **kw).fit(counts).loss_ == "poisson"
    # Background-subtracted (negative values) or calibrated (fractional)
    # data are not counts.
    assert cls(3, **kw).fit(counts - 0.4 * counts.mean()).loss_ == "original"
    assert cls(3, **kw).fit(counts * 0.37).loss_ == "original"
    with pytest.raises(ValueError, match="loss='poisson' needs counts >= 0"):
        cls(3, loss="poisson", **kw).fit(counts - counts.mean())


def test_vaeu_keeps_its_own_likelihood():
    assert "loss" not in eels_ae.VAEU().get_params()


# -- low dose -------------------------------------------------------------------
@pytest.mark.parametrize(
    "edges, maps, seed", [("CrCoNi", "grains", 0), ("TiMnFe", "layers", 1)]
)
def test_low_dose_autoencoders_beat_nmf_and_their_published_loss(edges, maps, seed):
    """200 counts per spectrum (0.6 per channel), 1.5 channels of drift: the
    benchmark measured DAEU at 0.33-0.38x NMF's endmember error and MTAEU at
    0.16-0.25x, the published losses (from the same averaged start) at
    0.39-0.41x and 0.31-0.39x. DAEU's lead over its published loss is
    0.83-0.94x on average and can vanish on one image (a tie within 3 % on
    this CrCoNi one); MTAEU's is 0.5-0.65x."""
    syn = eels_ae.data.oxide_scene(edges, maps, dose=200, drift=1.5, random_state=seed)
    X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])
    nmf = _nmf_sad(syn, X, seed)
    kw = dict(random_state=seed, show_progressbar=False)
    daeu = eels_ae.DAEU(3, **kw)
    assert daeu.fit(X).loss_ == "poisson"
    sad_daeu = _sad(syn, daeu, daeu.transform(X))
    original = eels_ae.DAEU(3, loss="original", init="vca", **kw)
    sad_original = _sad(syn, original, original.fit_transform(X))
    mtaeu = eels_ae.MTAEU(3, **kw)
    sad_mtaeu = _sad(syn, mtaeu, mtaeu.fit_transform(syn.signal.data))
    mtaeu_original = eels_ae.MTAEU(3, loss="original", **kw)
    sad_mtaeu_original = _sad(
        syn, mtaeu_original, mtaeu_original.fit_transform(syn.signal.data)
    )
    assert sad_daeu < 0.7 * nmf
    assert sad_daeu < 1.15 * sad_original
    assert sad_mtaeu < 0.6 * nmf
    assert sad_mtaeu < 0.8 * sad_mtaeu_original


# -- drift --------------------------------------------------------------------
def test_drift_field_is_pooled_into_a_precise_shift_map():
    """1000 counts per spectrum, a smooth field of 4 channels peak to peak:
    the map follows the truth far better than the field's own spread (a
    flat map's error)."""
    syn = eels_ae.data.oxide_scene(
        "CrCoNi", "grains", shape=(40, 40), dose=1000, drift=4, random_state=3
    )
    true = syn.shift.ravel() / syn.signal.axes_manager[-1].scale
    est = eels_ae.DriftAwareUnmixing(3, random_state=0).fit(syn.signal.data)
    assert est.unmixer_ == "mtaeu"  # 3 counts per channel: a low dose
    err = est.channel_shift_ - (true - np.median(true))
    assert np.sqrt(np.mean(err**2)) < 0.35 * true.std()


# -- the scenes ---------------------------------------------------------------
@pytest.mark.parametrize("edges", ["TiMnFe", "CrCoNi"])
@pytest.mark.parametrize("maps", ["layers", "grains"])
def test_oxide_scene_truth_is_consistent(edges, maps):
    syn = eels_ae.data.oxide_scene(edges, maps, shape=(32, 36), dose=None, drift=0)
    A = syn.abundance_array
    np.testing.assert_allclose(A.sum(axis=0), 1.0, atol=1e-9)
    assert (A >= 0).all() and (A.max(axis=1) > 0.95).all()  # pure pixels
    clean = syn.clean.data.reshape(-1, syn.clean.data.shape[-1])
    np.testing.assert_allclose(clean, A.T @ syn.endmember_array, rtol=1e-9)
    # Each oxide has its metal's L3 white line where the others have none.
    energy = syn.signal.axes_manager[-1].axis
    M = syn.endmember_array / syn.endmember_array.max(axis=1, keepdims=True)
    for r, (l3, _) in enumerate(
        p[0] for p in eels_ae.data.scenes.EDGE_SETS[edges]["phases"].values()
    ):
        at = np.argmin(np.abs(energy - (l3 + 1.5)))
        before = np.argmin(np.abs(energy - (l3 - 8)))
        jumps = M[:, at] / M[:, before]
        assert np.argmax(jumps) == r


def test_oxide_scene_drift_field_and_dose():
    syn = eels_ae.data.oxide_scene(shape=(30, 30), dose=300, drift=2.0, random_state=1)
    d = syn.shift / syn.signal.axes_manager[-1].scale
    assert np.ptp(d) == pytest.approx(2.0)
    assert abs(np.median(d)) < 1e-9
    assert syn.signal.data.sum(axis=-1).mean() == pytest.approx(300, rel=0.03)
    with pytest.raises(ValueError, match="maps must be one of"):
        eels_ae.data.oxide_scene(maps="stripes")
    with pytest.raises(ValueError, match="edges must be one of"):
        eels_ae.data.oxide_scene(edges="Cu")


# -- never worse than the start without a word --------------------------------
def test_an_autoencoder_that_ends_worse_than_its_start_says_so(small_ml):
    X = small_ml.signal.data.reshape(-1, small_ml.signal.data.shape[-1])
    kw = dict(random_state=0, show_progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        fine = eels_ae.DAEU(3, **kw).fit(X)  # no warning
    assert fine.misfit_ <= 1.01 * fine.start_misfit_
    # A learning rate that throws the endmembers away from the start.
    with pytest.warns(UserWarning, match="worse fit to the data than its 'nfindr'"):
        bad = eels_ae.DAEU(3, learning_rate=0.3, decoder_lr_factor=5.0, **kw).fit(X)
    assert bad.misfit_ > 2 * bad.start_misfit_


def test_the_loss_travels_in_the_model_file(tmp_path):
    syn = eels_ae.data.oxide_scene(shape=(12, 12), dose=500, drift=0, random_state=2)
    X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])
    est = eels_ae.DAEU(3, random_state=0, show_progressbar=False, max_epochs=3)
    est.fit(X)
    est.save(tmp_path / "m.safetensors")
    back = eels_ae.load_model(tmp_path / "m.safetensors")
    assert back.loss_ == est.loss_ == "poisson"
    assert back.model_.objective == "poisson"
    np.testing.assert_allclose(back.transform(X), est.transform(X), atol=1e-6)
