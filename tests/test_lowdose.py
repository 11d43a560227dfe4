"""Synthetic low-dose O K spectrum images and the edge/pre-peak metrics."""

import hyperspy.api as hs
import numpy as np
import pytest
from exspy.signals import EELSSpectrum
from scipy.special import erf

import eels_ae
from eels_ae import metrics
from eels_ae.data import LowDoseSI, lowdose_spectrum_image
from eels_ae.data.lowdose import EDGE_PARAMETERS, EDGE_SETS, STATE_PARAMETERS


@pytest.fixture(scope="module")
def si():
    return lowdose_spectrum_image(random_state=0)


@pytest.fixture(scope="module")
def si_states():
    """Alternating-column state map: state 1 in every odd column."""
    state = np.zeros((40, 80), dtype=int)
    state[:, 1::2] = 1
    return lowdose_spectrum_image(state=state, random_state=1)


def _energy(s):
    return s.clean.axes_manager.signal_axes[0].axis


def _onsets(s, signal=None):
    return metrics.edge_onset(
        s.clean if signal is None else signal,
        background_range=s.background_range,
        search_range=s.edge_search_range,
    )


def _edge_mask(s):
    """Per-pixel channels in [onset, onset + 20 eV] (the counts_at_edge window)."""
    on = s.edge_onset.data[..., None]
    e = _energy(s)
    return (e >= on) & (e <= on + 20.0)


# --------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------


def test_exported():
    assert eels_ae.data.lowdose_spectrum_image is lowdose_spectrum_image
    assert "LowDoseSI" in eels_ae.data.__all__
    for name in ("edge_onset", "prepeak_height", "mse", "power_law_background"):
        assert name in metrics.__all__


def test_shapes_axes_and_calibration(si):
    assert isinstance(si, LowDoseSI)
    for sig in (si.signal, si.clean, si.clean_edge):
        assert isinstance(sig, EELSSpectrum)
        assert sig.data.shape == (40, 80, 240)
        assert sig.data.dtype == np.float32
        assert sig.metadata.Signal.signal_type == "EELS"
        assert sig.metadata.General.title
        ax = sig.axes_manager.signal_axes[0]
        assert (ax.name, ax.units, ax.size) == ("Energy loss", "eV", 240)
        assert ax.offset == pytest.approx(500.0)
        assert ax.scale == pytest.approx(0.25)
        nav = sig.axes_manager.navigation_axes  # hyperspy order: x first
        assert [a.name for a in nav] == ["x", "y"]
        assert [a.size for a in nav] == [80, 40]
        assert all(a.units == "nm" and a.scale == pytest.approx(2.0) for a in nav)
    for m in (si.edge_onset, si.prepeak_height, si.thickness, si.state):
        assert isinstance(m, hs.signals.Signal2D)
        assert m.data.shape == (40, 80)
        assert [a.name for a in m.axes_manager.signal_axes] == ["x", "y"]
        assert all(a.units == "nm" for a in m.axes_manager.signal_axes)
    assert si.state.data.dtype.kind == "i"
    assert np.all(si.state.data == 0)
    # Thickness: linear ramp along y, constant along x.
    t = si.thickness.data
    np.testing.assert_allclose(t[:, 0], np.linspace(0.6, 1.3, 40))
    assert np.all(t == t[:, :1])
    # True onset: 528 eV plus the linear drift along x.
    expected = EDGE_PARAMETERS["onset"] + 1.5 * np.arange(80) / 79
    np.testing.assert_allclose(si.edge_onset.data, np.broadcast_to(expected, (40, 80)))
    lo, hi = si.background_range
    assert lo == pytest.approx(500.0) and hi == pytest.approx(525.0)
    assert si.drift == 1.5 and si.counts_at_edge == 15.0


def test_clean_edge_is_clean_minus_background(si):
    e = _energy(si)
    pre = e <= si.background_range[1]
    # Background-free pre-edge: no edge (or wrap-around) intensity there.
    assert np.abs(si.clean_edge.data[..., pre]).max() < 1e-4
    assert np.all(si.clean_edge.data > -1e-4)
    diff = si.clean.data.astype(float) - si.clean_edge.data
    # The removed part is a smooth, decaying, positive power law.
    assert np.all(diff > 0)
    assert np.all(np.diff(diff, axis=-1) < 1e-4)
    bg = metrics.power_law_background(si.clean, background_range=si.background_range)
    np.testing.assert_allclose(bg, diff, rtol=2e-3)


# --------------------------------------------------------------------------
# Noise and dose
# --------------------------------------------------------------------------


def test_seeding():
    a = lowdose_spectrum_image(shape=(6, 9), random_state=3)
    b = lowdose_spectrum_image(shape=(6, 9), random_state=3)
    c = lowdose_spectrum_image(shape=(6, 9), random_state=4)
    np.testing.assert_array_equal(a.signal.data, b.signal.data)
    assert not np.array_equal(a.signal.data, c.signal.data)
    np.testing.assert_array_equal(a.clean.data, c.clean.data)
    gen = lowdose_spectrum_image(shape=(6, 9), random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(a.signal.data, gen.signal.data)


def test_poisson_statistics(si):
    noisy = si.signal.data.astype(float)
    clean = si.clean.data.astype(float)
    assert np.all(noisy >= 0) and np.array_equal(noisy, np.round(noisy))
    resid = noisy - clean
    n = resid.size
    # Unbiased: the mean residual is within 4 standard errors of zero.
    assert abs(resid.mean()) < 4 * np.sqrt(clean.mean() / n)
    # Variance equals the mean, overall and at low and high count levels.
    assert (resid**2).mean() / clean.mean() == pytest.approx(1.0, abs=0.02)
    for lo, hi in ((3, 8), (10, 20)):
        sel = (clean >= lo) & (clean < hi)
        assert sel.sum() > 10_000
        assert (resid[sel] ** 2).mean() / clean[sel].mean() == pytest.approx(
            1.0, abs=0.05
        )


@pytest.mark.parametrize("counts", [15.0, 4.0])
def test_counts_at_edge(counts):
    s = lowdose_spectrum_image(shape=(20, 30), counts_at_edge=counts, random_state=2)
    mask = _edge_mask(s)

    def mean_edge(data):
        return ((data * mask).sum(-1) / mask.sum(-1)).mean()

    assert mean_edge(s.clean.data.astype(float)) == pytest.approx(counts, rel=1e-3)
    assert mean_edge(s.signal.data.astype(float)) == pytest.approx(counts, rel=0.1)


# --------------------------------------------------------------------------
# Physics, measured with the metric functions
# --------------------------------------------------------------------------


def test_drift_recovered_by_edge_onset(si):
    onset = _onsets(si)
    assert onset.shape == (40, 80) and np.all(np.isfinite(onset))
    cols = np.arange(80)
    for row in (0, 20, 39):
        slope, icpt = np.polyfit(cols, onset[row], 1)
        assert slope * 79 == pytest.approx(1.5, abs=0.05)
        assert np.abs(onset[row] - (icpt + slope * cols)).max() < 0.05
    # Constant along y (thickness changes from 0.6 to 1.3 there).
    assert np.ptp(onset, axis=0).max() < 0.05
    # A constant offset from the physical threshold at every pixel.
    offset = onset - si.edge_onset.data
    assert np.ptp(offset) < 0.05
    assert 4.0 < offset.mean() < 9.0  # half-way up the main edge


def test_negative_drift():
    s = lowdose_spectrum_image(shape=(4, 21), drift=-1.0, random_state=0)
    onset = _onsets(s)
    slope = np.polyfit(np.arange(21), onset.mean(0), 1)[0]
    assert slope * 20 == pytest.approx(-1.0, abs=0.05)
    assert s.background_range[1] == pytest.approx(528.0 - 1.0 - 3.0)


def test_edge_onset_on_averaged_noisy_spectra(si):
    # Column averages of 40 noisy spectra (~600 counts per channel) stand in
    # for denoised data: the onset must stay close to the clean one.
    e = _energy(si)
    kw = dict(background_range=si.background_range, search_range=si.edge_search_range)
    noisy = metrics.edge_onset(si.signal.data.astype(float).mean(0), e, **kw)
    clean = metrics.edge_onset(si.clean.data.astype(float).mean(0), e, **kw)
    assert np.mean(np.abs(noisy - clean)) < 0.2


def test_states_shift_and_prepeak(si_states):
    s = si_states
    state = s.state.data
    assert np.array_equal(state[:, 1::2], np.ones((40, 40)))
    shift = STATE_PARAMETERS[1]["shift"] - STATE_PARAMETERS[0]["shift"]
    # Ground truth includes the chemical shift.
    d_truth = s.edge_onset.data[:, 1::2] - s.edge_onset.data[:, 0::2]
    np.testing.assert_allclose(d_truth, shift + 1.5 / 79)
    # Measured: neighbouring columns differ by the drift step plus the shift.
    onset = _onsets(s)
    d = onset[:, 1::2] - onset[:, 0::2] - 1.5 / 79
    assert np.abs(d - shift).max() < 0.05
    # Pre-peak ratio, measured on the clean data with background removal.
    pp = metrics.prepeak_height(
        s.clean, window=s.prepeak_window, background_range=s.background_range
    )
    ratio = pp[:, 1::2] / pp[:, 0::2]
    expected = STATE_PARAMETERS[1]["prepeak"] / STATE_PARAMETERS[0]["prepeak"]
    assert np.abs(ratio - expected).max() < 0.05
    # The ground-truth map is the metric applied to clean_edge.
    np.testing.assert_allclose(
        s.prepeak_height.data,
        metrics.prepeak_height(s.clean_edge, window=s.prepeak_window),
    )
    np.testing.assert_allclose(pp, s.prepeak_height.data, rtol=5e-3)


@pytest.mark.parametrize("edge", ["N K", "Mn L2,3"])
def test_other_edges_keep_their_shift_drift_and_background(edge):
    state = np.zeros((8, 40), dtype=int)
    state[:, 1::2] = 1
    s = lowdose_spectrum_image((8, 40), state=state, edge=edge, random_state=2)
    p = EDGE_SETS[edge]
    e = _energy(s)
    # The axis starts 28 eV below the edge, as the O K one does.
    assert e[0] == pytest.approx(p["edge"]["onset"] - 28.0)
    assert edge in s.signal.metadata.General.title
    # The measured position follows the truth up to one constant per state
    # (each state's edge has its own shape), whatever the drift.
    offset = _onsets(s) - s.edge_onset.data
    for k in (0, 1):
        assert np.ptp(offset[state == k]) < 0.03
    shift = p["states"][1]["shift"] - p["states"][0]["shift"]
    d_truth = s.edge_onset.data[:, 1::2] - s.edge_onset.data[:, 0::2]
    np.testing.assert_allclose(d_truth, shift + 1.5 / 39)
    # clean - clean_edge is a power law: exspy's fit in the pre-edge window
    # removes it.
    removed = s.clean.inav[::13, ::4].remove_background(
        signal_range=s.background_range, fast=True, show_progressbar=False
    )
    ref = s.clean_edge.inav[::13, ::4].data
    assert np.abs(removed.data - ref).max() < 0.01 * ref.max()


def test_uniform_state_1():
    s0 = lowdose_spectrum_image(shape=(3, 5), state=0, drift=0.0)
    s1 = lowdose_spectrum_image(shape=(3, 5), state=1, drift=0.0)
    np.testing.assert_allclose(s1.edge_onset.data - s0.edge_onset.data, 1.0)
    assert np.all(s1.state.data == 1)
    d = _onsets(s1) - _onsets(s0)
    assert np.abs(d - 1.0).max() < 0.05


def test_thickness_plural_scattering(si):
    e = _energy(si)
    edge = si.clean_edge.data[:, 0].astype(float)  # column 0, all rows
    on = si.edge_onset.data[0, 0]
    far = (e >= on + 25) & (e <= on + 30)  # plural-scattering hump
    main = (e >= on + 8) & (e <= on + 10)  # main near-edge peak
    ratio = edge[:, far].mean(1) / edge[:, main].mean(1)
    assert np.all(np.diff(ratio) > 0)
    assert ratio[-1] > 1.25 * ratio[0]
    # A uniform thickness gives identical rows.
    u = lowdose_spectrum_image(shape=(3, 4), thickness=0.9, drift=0.0)
    assert np.allclose(u.clean.data, u.clean.data[:1, :1], rtol=1e-5)


def test_exspy_remove_background_matches_clean_edge(si):
    sub = si.clean.inav[::10, ::16]
    removed = sub.remove_background(
        signal_range=si.background_range, fast=True, show_progressbar=False
    )
    ref = si.clean_edge.inav[::10, ::16].data
    e = _energy(si)
    region = (e >= 528.0) & (e <= 551.5)
    err = np.abs(removed.data[..., region] - ref[..., region])
    assert err.max() < 0.01 * ref.max()


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(shape=(0, 5)), "at least 1 pixel"),
        (dict(shape=(4,)), "pair of integers"),
        (dict(n_channels=8), "at least 16"),
        (dict(counts_at_edge=-1.0), "counts_at_edge must be positive"),
        (dict(counts_at_edge=0.0), "counts_at_edge must be positive"),
        (dict(state=np.zeros((3, 3), int)), "shape"),
        (dict(state=np.full((4, 5), 2)), "0 or 1"),
        (dict(state=2), "0 or 1"),
        (dict(thickness=(0.0, 1.0)), "positive"),
        (dict(thickness=-0.5), "positive"),
        (dict(thickness=(0.5, 1.0, 2.0)), "pair"),
        (dict(offset=526.0), "background fit"),
        (dict(n_channels=40), "main edge peak"),
        (dict(scale=0.0), "scale must be positive"),
        (dict(edge="Fe L2,3"), "edge must be one of"),
    ],
)
def test_bad_inputs(kwargs, match):
    kwargs.setdefault("shape", (4, 5))
    with pytest.raises(ValueError, match=match):
        lowdose_spectrum_image(**kwargs)


# --------------------------------------------------------------------------
# Metric functions on analytic spectra
# --------------------------------------------------------------------------


def _gauss_edge(e, centre, sigma=1.5):
    """Erf step into a Gaussian peak at ``centre``: half maximum is known."""
    return np.exp(-0.5 * ((e - centre) / sigma) ** 2) * (e <= centre) + (e > centre) * (
        0.6 + 0.4 * np.exp(-0.5 * ((e - centre) / sigma) ** 2)
    )


def test_edge_onset_analytic():
    e = np.arange(500.0, 560.0, 0.25)
    centres = np.array([[530.0, 530.1], [531.37, 540.0]])
    spectra = _gauss_edge(e, centres[..., None])
    onset = metrics.edge_onset(spectra, e, smooth=0)
    assert onset.shape == (2, 2)
    expected = centres - np.sqrt(2 * np.log(2)) * 1.5  # half max, leading side
    np.testing.assert_allclose(onset, expected, atol=0.02)
    # fraction moves the level; a pre-peak separated by a dip is ignored.
    low = metrics.edge_onset(spectra, e, fraction=0.2, smooth=0)
    assert np.all(low < onset)
    pre = spectra + 0.8 * np.exp(-0.5 * ((e - (centres[..., None] - 8)) / 0.5) ** 2)
    np.testing.assert_allclose(metrics.edge_onset(pre, e, smooth=0), onset, atol=0.02)
    # No rise inside the window -> nan.
    assert np.isnan(metrics.edge_onset(np.exp(-(e - 500.0)), e, smooth=0))


def test_edge_onset_with_background_and_zeros():
    e = np.arange(500.0, 560.0, 0.25)
    bg = 50.0 * (e / 500.0) ** -3.5
    spec = bg + 10.0 * 0.5 * (1 + erf((e - 535.0) / 1.0))
    onset = metrics.edge_onset(spec, e, background_range=(500.0, 525.0), smooth=0)
    assert onset == pytest.approx(535.0, abs=0.02)
    # All-zero and negative spectra do not raise.
    out = metrics.edge_onset(
        np.stack([np.zeros_like(e), -np.ones_like(e)]), e, background_range=(500, 525)
    )
    assert out.shape == (2,)


def test_power_law_background_exact():
    e = 400.0 + 0.5 * np.arange(200)
    edges = np.append(e - 0.25, e[-1] + 0.25)
    k = 1 - 3.2
    counts = 1e6 * (edges[1:] ** k - edges[:-1] ** k) / k
    bg = metrics.power_law_background(counts, e, (400.0, 450.0))
    np.testing.assert_allclose(bg, counts, rtol=1e-6)
    zeros = metrics.power_law_background(np.zeros((3, 200)), e, (400.0, 450.0))
    assert np.all(np.isfinite(zeros))


def test_prepeak_height_and_mse():
    e = np.arange(520.0, 540.0, 0.1)
    spec = 3.0 * np.exp(-0.5 * ((e - 530.0) / 0.5) ** 2) + 5.0 * (e > 535.0)
    assert metrics.prepeak_height(spec, e, window=(528.0, 532.0)) == pytest.approx(3.0)
    assert metrics.prepeak_height(spec, e, window=(528.0, 536.0)) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="window"):
        metrics.prepeak_height(spec, e)
    with pytest.raises(ValueError, match="window"):
        metrics.prepeak_height(spec, e, window=(600.0, 610.0))
    with pytest.raises(ValueError, match="energy_axis"):
        metrics.edge_onset(spec)
    with pytest.raises(ValueError, match="energy_axis"):
        metrics.edge_onset(spec, e[:-1])
    a = np.zeros((2, 3, 4))
    b = np.ones((2, 3, 4))
    assert metrics.mse(a, b) == 1.0
    assert metrics.mse(a, 2 * b, per_spectrum=True).shape == (2, 3)
