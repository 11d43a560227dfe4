"""Tests of the synthetic chequerboard spectrum images (source 004 protocol)."""

import numpy as np
import pytest
from exspy.signals import EELSSpectrum
from hyperspy.signals import Signal2D

from eels_ae.data import (
    EndmemberSet,
    SyntheticSI,
    chequerboard_abundances,
    chequerboard_spectrum_image,
    endmembers_k,
    endmembers_ml,
)
from eels_ae.metrics import sad_matrix


@pytest.fixture(scope="module")
def ml():
    return endmembers_ml()


@pytest.fixture(scope="module")
def kset():
    return endmembers_k()


@pytest.fixture(scope="module")
def si_ml():
    return chequerboard_spectrum_image("ml", dose=2000.0, random_state=3)


# ---------------------------------------------------------------- abundances


@pytest.mark.parametrize("n_components", [3, 4])
def test_abundances_simplex_pure_and_mixed(n_components):
    a = chequerboard_abundances(n_components, random_state=0)
    assert a.shape == (n_components, 64, 64)
    assert a.min() >= 0
    np.testing.assert_allclose(a.sum(axis=0), 1.0, rtol=0, atol=1e-12)
    top = a.max(axis=0)
    # Pure pixels exist (the reflecting border keeps corner tiles pure) ...
    assert (top > 0.999).sum() >= 16
    # ... but most pixels are mixtures of neighbouring tiles.
    assert (top < 0.99).mean() > 0.4
    # Every component is present somewhere with a sizeable abundance.
    assert np.all(a.reshape(n_components, -1).max(axis=1) > 0.5)


def test_abundances_every_component_gets_a_tile():
    # 16x16 with 8x8 blocks is exactly 4 tiles: each component must own one.
    for seed in range(10):
        a = chequerboard_abundances(4, shape=(16, 16), block=8, k=1, random_state=seed)
        tiles = a[:, ::8, ::8].reshape(4, -1)
        np.testing.assert_array_equal(np.sort(tiles.argmax(axis=0)), np.arange(4))


def test_abundances_k1_is_one_hot_blocks():
    a = chequerboard_abundances(3, shape=(32, 32), block=8, k=1, random_state=1)
    assert set(np.unique(a)) <= {0.0, 1.0}
    labels = a.argmax(axis=0)
    # Constant within each 8x8 tile.
    blocks = labels.reshape(4, 8, 4, 8)
    assert np.all(blocks == blocks[:, :1, :, :1])


def test_abundances_uneven_shape_and_generator():
    rng = np.random.default_rng(5)
    a = chequerboard_abundances(3, shape=(20, 13), block=8, k=5, random_state=rng)
    assert a.shape == (3, 20, 13)
    np.testing.assert_allclose(a.sum(axis=0), 1.0, atol=1e-12)


def test_abundances_reproducible_and_seed_dependent():
    a = chequerboard_abundances(3, random_state=7)
    np.testing.assert_array_equal(a, chequerboard_abundances(3, random_state=7))
    assert not np.array_equal(a, chequerboard_abundances(3, random_state=8))


def test_abundances_validation():
    with pytest.raises(ValueError, match="cannot hold"):
        chequerboard_abundances(5, shape=(16, 16), block=8)
    with pytest.raises(ValueError, match="n_components"):
        chequerboard_abundances(0)


# ---------------------------------------------------------------- endmembers


def test_endmember_sets_shapes_and_axes(ml, kset):
    assert ml.spectra.shape == (3, 200)
    assert ml.names == ("Pt", "Co", "Ru")
    assert kset.spectra.shape == (4, 903)
    assert len(kset.names) == 4
    for es in (ml, kset):
        np.testing.assert_allclose(
            es.energy, es.offset + es.scale * np.arange(es.n_channels)
        )
        assert es.spectra.min() >= 0
        np.testing.assert_allclose(es.spectra.max(axis=1), 1.0)
    assert ml.scale == pytest.approx(3.33)
    # Ranges cover the edges they are meant to show.
    assert ml.energy[0] < 279 and ml.energy[-1] > 794
    assert kset.energy[0] < 284 and kset.energy[-1] > 532


@pytest.mark.parametrize("which", ["ml", "k"])
def test_endmembers_pairwise_distinct(which, ml, kset):
    es = ml if which == "ml" else kset
    sad = sad_matrix(es.spectra, es.spectra, degrees=True)
    off = sad[~np.eye(es.n_components, dtype=bool)]
    assert off.min() > 3.0
    # ... yet similar: backgrounds dominate, no pair is near-orthogonal.
    assert off.max() < 45.0


def _channel(es, energy):
    return int(np.argmin(np.abs(es.energy - energy)))


def _power_law_fit(es, spectrum, lo, hi):
    """Fit ``A E**-r`` on [lo, hi] eV; return the model on the whole axis."""
    sel = (es.energy >= lo) & (es.energy <= hi)
    slope, icpt = np.polyfit(np.log(es.energy[sel]), np.log(spectrum[sel]), 1)
    return np.exp(icpt) * es.energy**slope


def test_pt_is_pure_background(ml):
    pt = ml.spectra[ml.names.index("Pt")]
    model = _power_law_fit(ml, pt, ml.energy[0], ml.energy[-1])
    assert np.max(np.abs(pt / model - 1)) < 0.02
    assert np.all(np.diff(pt) < 0)


def test_co_l23_white_lines(ml):
    co = ml.spectra[ml.names.index("Co")]
    sel = (ml.energy > 740) & (ml.energy < 860)
    e, s = ml.energy[sel], co[sel]
    # The steepest rise and the L3 white line are at the 779 eV onset.
    rise = e[np.argmax(np.diff(s)) + 1]
    assert abs(rise - 779) < 5
    assert abs(e[np.argmax(s)] - 780.5) < 4
    # A second, weaker white line (L2) about 15 eV higher.
    l2 = _channel(ml, 795.5)
    seg = co[l2 - 2 : l2 + 3]
    l2_peak = l2 - 2 + int(np.argmax(seg))
    assert co[l2_peak] > co[l2_peak - 1] and co[l2_peak] > co[l2_peak + 1]
    assert co[l2_peak] < s.max()
    # Above the edge the signal stays above the extrapolated background.
    bg = _power_law_fit(ml, co, 650, 770)
    assert co[_channel(ml, 840)] > 1.5 * bg[_channel(ml, 840)]


def test_ru_m45_is_delayed(ml):
    ru = ml.spectra[ml.names.index("Ru")]
    bg = _power_law_fit(ml, ru, 200, 276)
    resid = ru - bg
    window = (ml.energy > 279) & (ml.energy < 455)  # stop before Ru M3
    peak = ml.energy[window][np.argmax(resid[window])]
    assert 50 <= peak - 279 <= 100
    # No sharp jump: just above the onset the edge has barely started.
    at = _channel(ml, 290)
    assert resid[at] < 0.2 * resid[window].max()


@pytest.mark.parametrize(
    ("name", "onset"), [("amorphous C", 284), ("nitride", 401), ("oxide", 532)]
)
def test_k_edge_onsets(kset, name, onset):
    s = kset.spectra[kset.names.index(name)]
    sel = (kset.energy > onset - 40) & (kset.energy < onset + 40)
    e = kset.energy[sel]
    jump_at = e[np.argmax(np.diff(s[sel])) + 1]
    assert abs(jump_at - onset) < 3
    # A real jump above the extrapolated pre-edge background.
    bg = _power_law_fit(kset, s, onset - 35, onset - 5)
    after = _channel(kset, onset + 30)
    assert s[after] > 1.3 * bg[after]


def test_endmember_set_validation():
    with pytest.raises(ValueError, match="one name per component"):
        EndmemberSet(np.ones((2, 5)), np.arange(5.0), ("a",), 0.0, 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        EndmemberSet(-np.ones((1, 5)), np.arange(5.0), ("a",), 0.0, 1.0)


# ------------------------------------------------------------ spectrum image


def test_spectrum_image_structure(si_ml, ml):
    si = si_ml
    assert isinstance(si, SyntheticSI)
    s = si.signal
    assert isinstance(s, EELSSpectrum)
    assert s.metadata.Signal.signal_type == "EELS"
    assert s.metadata.General.title
    assert s.axes_manager.navigation_shape == (64, 64)
    assert s.data.shape == (64, 64, 200)
    assert s.data.dtype.kind == "f"
    ax = s.axes_manager.signal_axes[0]
    assert ax.name == "Energy loss" and ax.units == "eV"
    assert ax.offset == pytest.approx(ml.offset)
    assert ax.scale == pytest.approx(ml.scale)
    assert [a.name for a in s.axes_manager.navigation_axes] == ["x", "y"]
    assert isinstance(si.clean, EELSSpectrum)
    assert isinstance(si.endmembers, EELSSpectrum)
    assert si.endmembers.axes_manager.navigation_size == 3
    assert si.endmembers.axes_manager.signal_axes[0].scale == pytest.approx(3.33)
    assert isinstance(si.abundances, Signal2D)
    assert si.abundances.axes_manager.navigation_size == 3
    assert si.abundances.axes_manager.signal_shape == (64, 64)
    assert si.names == ("Pt", "Co", "Ru")
    assert si.endmember_array.shape == (3, 200)
    assert si.abundance_array.shape == (3, 64 * 64)


def test_linear_mixing_and_dose(si_ml):
    si = si_ml
    b = si.signal.data.shape[-1]
    clean = si.clean.data.reshape(-1, b)
    np.testing.assert_allclose(
        clean, si.abundance_array.T @ si.endmember_array, rtol=1e-12
    )
    # Endmembers are the normalised spectra times one common factor.
    ratio = si.endmember_array / endmembers_ml().spectra
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-10)
    assert clean.sum(axis=1).mean() == pytest.approx(2000.0, rel=1e-10)
    noisy = si.signal.data.reshape(-1, b)
    assert noisy.sum(axis=1).mean() == pytest.approx(2000.0, rel=0.02)
    np.testing.assert_allclose(si.abundance_array.sum(axis=0), 1.0, atol=1e-12)


def test_noise_is_poisson(si_ml):
    noisy, clean = si_ml.signal.data, si_ml.clean.data
    assert np.array_equal(noisy, np.round(noisy)) and noisy.min() >= 0
    resid = noisy - clean
    # Poisson: zero mean and variance equal to the mean, at every count level.
    z = resid / np.sqrt(clean)
    assert abs(z.mean()) < 0.01
    assert z.var() == pytest.approx(1.0, rel=0.03)
    for lo, hi in [(0.5, 3), (3, 10), (10, 100)]:
        sel = (clean >= lo) & (clean < hi)
        assert sel.sum() > 5000
        assert resid[sel].var() == pytest.approx(clean[sel].mean(), rel=0.1)


def test_noise_free_and_reproducibility():
    kw = dict(shape=(16, 24), block=8, k=5)
    a = chequerboard_spectrum_image("k", dose=None, random_state=2, **kw)
    np.testing.assert_array_equal(a.signal.data, a.clean.data)
    assert a.signal.data.shape == (16, 24, 903)
    assert a.signal.axes_manager.navigation_shape == (24, 16)
    np.testing.assert_allclose(a.endmember_array, endmembers_k().spectra)
    b = chequerboard_spectrum_image("k", dose=500.0, random_state=11, **kw)
    c = chequerboard_spectrum_image("k", dose=500.0, random_state=11, **kw)
    d = chequerboard_spectrum_image("k", dose=500.0, random_state=12, **kw)
    np.testing.assert_array_equal(b.signal.data, c.signal.data)
    np.testing.assert_array_equal(b.abundances.data, c.abundances.data)
    assert not np.array_equal(b.signal.data, d.signal.data)
    assert not np.array_equal(b.abundances.data, d.abundances.data)


def test_custom_endmember_set_and_validation():
    energy = 100.0 + 2.0 * np.arange(50)
    spectra = np.stack([(energy / 100) ** -3, (energy / 100) ** -2])
    es = EndmemberSet(spectra, energy, ("a", "b"), 100.0, 2.0)
    si = chequerboard_spectrum_image(es, shape=(16, 16), dose=100.0, random_state=0)
    assert si.names == ("a", "b")
    assert si.signal.axes_manager.signal_axes[0].offset == pytest.approx(100.0)
    with pytest.raises(ValueError, match="endmember_set"):
        chequerboard_spectrum_image("xyz")
    with pytest.raises(ValueError, match="dose"):
        chequerboard_spectrum_image("ml", dose=-1.0)


# -- variations: drift, broadening, thickness, no pure pixel -----------------


def _noise_free(**kw):
    return chequerboard_spectrum_image(
        "ml", shape=(16, 24), block=4, k=3, dose=None, random_state=4, **kw
    )


def test_shift_moves_each_spectrum_by_its_energy():
    base = _noise_free()
    scale = base.signal.axes_manager[-1].scale
    shift = np.zeros((16, 24))
    shift[:, 12:] = 3 * scale  # three channels up in the right half
    moved = _noise_free(shift=shift)
    a, b = base.clean.data, moved.clean.data
    np.testing.assert_allclose(a[:, :12], b[:, :12])
    np.testing.assert_allclose(b[:, 12:, 3:], a[:, 12:, :-3], rtol=1e-12)
    np.testing.assert_array_equal(moved.shift, shift)
    # The truth stays the unshifted endmembers and abundances.
    np.testing.assert_array_equal(moved.endmember_array, base.endmember_array)
    ramp = _noise_free(shift=1.5)
    assert ramp.shift[0, 0] == 0 and ramp.shift[0, -1] == pytest.approx(1.5)
    assert np.all(np.diff(ramp.shift[0]) > 0) and np.all(
        ramp.shift[:, 5] == ramp.shift[0, 5]
    )


def test_broadening_blurs_and_keeps_the_counts():
    base = _noise_free()
    wide = _noise_free(broadening=10.0)
    a, b = base.clean.data[-1], wide.clean.data[-1]  # the broadest row
    # Sharp features lose height, the counts stay (up to the ends).
    assert np.abs(np.diff(b, axis=-1)).max() < 0.8 * np.abs(np.diff(a, axis=-1)).max()
    np.testing.assert_allclose(b.sum(-1), a.sum(-1), rtol=0.02)
    np.testing.assert_allclose(wide.clean.data[0], base.clean.data[0])  # sigma 0


def test_amplitude_scales_pixels_and_no_pure_component_caps_a_map():
    base = _noise_free()
    thick = _noise_free(amplitude=2.0)
    factor = thick.clean.data.sum(-1) / base.clean.data.sum(-1)
    np.testing.assert_allclose(factor, thick.amplitude)
    assert factor[0].max() == pytest.approx(1) and factor[-1].min() == pytest.approx(2)
    capped = _noise_free(no_pure_component=1, max_abundance=0.5)
    A = capped.abundance_array
    assert A[1].max() == pytest.approx(0.5) and base.abundance_array[1].max() == 1
    np.testing.assert_allclose(A.sum(axis=0), 1.0)
    assert (A >= 0).all()


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(shift=np.zeros((3, 3))), "map"),
        (dict(broadening=-1.0), "broadening"),
        (dict(amplitude=0.0), "amplitude"),
        (dict(no_pure_component=7), "no_pure_component"),
        (dict(no_pure_component=0, max_abundance=1.5), "max_abundance"),
    ],
)
def test_bad_variations_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        _noise_free(**kw)
