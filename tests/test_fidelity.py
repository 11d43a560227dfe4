"""The fidelity check of denoised output, and denoising on real files."""

import warnings

import hyperspy.api as hs
import numpy as np
import pytest

import eels_ae  # noqa: F401  (registers s.denoise_ae)
from eels_ae.data import lowdose_spectrum_image
from eels_ae.data.examples import load_example
from eels_ae.fidelity import Z_LIMIT, denoising_fidelity, fit_noise_model


@pytest.fixture(scope="module")
def sto_lsmo():
    """Real STO / LSMO / STO spectrum image (49 x 6 pixels, 1024 channels)."""
    return load_example()


def _pca_model(s, k):
    c = s.deepcopy()
    c.decomposition(output_dimension=k, print_info=False)
    return c.get_decomposition_model(k).data


def test_noise_model_recovers_poisson_gain_and_offset():
    rng = np.random.default_rng(4)
    level = np.linspace(2, 100, 300)[None] * rng.uniform(0.5, 2.0, (300, 1))
    counts = 3.0 * rng.poisson(level) + rng.normal(0, 10.0, level.shape)
    gain, offset = fit_noise_model(counts, 3.0 * level)
    assert gain == pytest.approx(3.0, rel=0.1)  # variance 9 * level = 3 * (3 level)
    assert offset == pytest.approx(100.0, rel=0.25)  # read noise 10


def test_faithful_reconstructions_of_real_data_pass(sto_lsmo):
    raw = sto_lsmo.data
    for k in (5, 10):
        report = denoising_fidelity(raw, _pca_model(sto_lsmo, k))
        assert report.z_max.shape == report.region_z.shape == raw.shape[:2]
        assert not report.unfaithful.any()
        assert 0.5 < np.median(report.chi2) < 1.2


def test_an_erased_drift_is_caught_in_blocks_of_pixels():
    # The same low-dose image with and without its 1.5 eV drift: each
    # pixel's edge moves by at most 1.5 eV, lost in its noise (~15 counts
    # per channel), but not in a block of 16 pixels.
    drifted = lowdose_spectrum_image(shape=(32, 64), random_state=4)
    still = lowdose_spectrum_image(shape=(32, 64), drift=0.0, random_state=4)
    raw = drifted.signal.data
    honest = denoising_fidelity(raw, drifted.clean.data)
    assert not honest.unfaithful.any()
    erased = denoising_fidelity(raw, still.clean.data)
    assert erased.z_max.max() < Z_LIMIT  # invisible pixel by pixel
    flagged_columns = np.flatnonzero(erased.unfaithful.any(axis=0))
    # The drift grows from 0 (x = 0) to 1.5 eV (x = 63): caught where it is
    # large, not where it is a fraction of a channel.
    assert flagged_columns.max() >= 56 and flagged_columns.min() >= 8
    assert erased.unfaithful[:, 48:].mean() > 0.5


def test_a_denoiser_that_invents_edges_is_caught(sto_lsmo):
    raw = np.asarray(sto_lsmo.data, dtype=np.float64)
    e = sto_lsmo.axes_manager[-1].axis
    # One mean spectrum everywhere (scaled to each pixel's total): the La M
    # edge of the LSMO layer (rows ~17-29) appears in the STO pixels too.
    mean = raw.mean(axis=(0, 1))
    collapsed = mean * (raw.sum(-1, keepdims=True) / mean.sum())
    report = denoising_fidelity(raw, collapsed, energy=e)
    flagged_rows = report.unfaithful.any(axis=1)
    assert flagged_rows[18:28].mean() >= 0.7  # the LSMO layer
    assert report.unfaithful.mean() > 0.15
    message = report.summary(lambda i: f"pixel {i}", units="eV")
    assert "more than the noise allows" in message and "eV" in message
    # The largest deviation sits on an edge of the data (Ti L, La M).
    worst = report.z_energy.ravel()[np.argmax(report.z_max)]
    assert 450 < worst < 475 or 820 < worst < 870
    assert report.z_max.max() > 2 * Z_LIMIT


def test_too_few_spectra_are_refused(sto_lsmo):
    line = sto_lsmo.sum("x")  # 49 spectra of ~9000 counts per channel
    before = line.data.copy()
    with pytest.raises(ValueError, match="at least 64 spectra.*n_samples = 49.*PCA"):
        line.denoise_ae(max_epochs=1, show_progressbar=False)
    np.testing.assert_array_equal(line.data, before)


def test_denoising_real_data_stays_within_the_noise(sto_lsmo):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out, model = sto_lsmo.denoise_ae(
            return_model=True, max_epochs=5, random_state=1, show_progressbar=False
        )
    z = out.metadata.Denoising.fidelity_z
    assert z.data.shape == (49, 6)
    # A few pixels at most sit just above the limit (measured: 9 of 294, z
    # up to 6.6, after 5 epochs; PCA-5 reaches 4.9), far from a denoiser
    # that copies edges between layers (z 15 and more, 22 % of the pixels).
    assert (z.data > Z_LIMIT).mean() < 0.05 and z.data.max() < 10
    flagged = [str(w.message) for w in caught if "noise allows" in str(w.message)]
    assert len(flagged) <= 1
    _, report = model.denoise(sto_lsmo, return_fidelity=True)
    np.testing.assert_allclose(report.z_max, z.data)
    # Edges where the raw data have them and nowhere else: the La M jump of
    # each row follows the raw one (LSMO rows high, STO rows low).
    e = sto_lsmo.axes_manager[-1].axis

    def la_jump(d):
        pre = d[..., (e >= 810) & (e < 828)].mean(-1)
        return (d[..., (e >= 833) & (e < 860)].mean(-1) / pre - 1).mean(1)

    raw_j, den_j = la_jump(sto_lsmo.data), la_jump(out.data)
    assert np.corrcoef(raw_j, den_j)[0, 1] > 0.95
    # STO rows: no La M added (measured: mean 0.03, up to 0.09 in the three
    # border rows, against a per-row noise of about 0.02 and LSMO jumps of 0.3+).
    assert np.abs(den_j - raw_j)[:15].mean() < 0.05


def _cu_image(n=16, seed=0):
    """Int16 counts mixed from the four real spectra of EELS_SI.dm4 (Cu L2,3
    at 931 eV on a large background), with a thickness gradient."""
    real = load_example("EELS_SI.dm4").isig[760.0:1100.0]
    spec = np.clip(real.data.reshape(4, -1).astype(np.float64), 0, None)
    yy, xx = np.mgrid[:n, :n] / n
    w = np.stack([np.exp(-((xx - 0.3) ** 2 + (yy - 0.4) ** 2) / 0.1), xx, yy], -1)
    w = np.concatenate([w, 1 - w.mean(-1, keepdims=True)], -1)
    w /= w.sum(-1, keepdims=True)
    clean = (w @ spec) * (1.5 + xx)[..., None] * 3
    data = np.random.default_rng(seed).poisson(clean).astype(np.int16)
    s = hs.signals.Signal1D(data)
    s.set_signal_type("EELS")
    axis, ref = s.axes_manager.signal_axes[0], real.axes_manager.signal_axes[0]
    axis.name, axis.units = "Energy loss", "eV"
    axis.offset, axis.scale = ref.offset, ref.scale
    return s, clean


def test_background_free_output_matches_hyperspy_on_int16_counts():
    s, clean = _cu_image()
    assert s.data.dtype == np.int16
    br = (800.0, 920.0)
    out = s.denoise_ae(
        background_range=br, max_epochs=15, random_state=0, show_progressbar=False
    )
    assert s.data.dtype == np.int16  # the user's signal is untouched
    # HyperSpy's own background subtraction of the noise-free data, pixel by
    # pixel. (Of the mean spectrum it differs by 70 counts in the pre-edge:
    # these real backgrounds are not one power law, so the fit is not linear
    # in the data; of the noisy data it is biased by the noise.)
    truth = s._deepcopy_with_new_data(clean.astype(np.float32))
    ref = truth.remove_background(
        signal_range=br, fast=True, show_progressbar=False
    ).data.mean(axis=(0, 1))
    e = s.axes_manager[-1].axis
    edge = (e >= 935) & (e < 1000)
    pre = (e >= 850) & (e < 920)
    got = out.data.mean(axis=(0, 1))
    height = ref[edge].mean()
    assert height > 50
    assert abs(got[pre].mean() - ref[pre].mean()) < 0.1 * height  # no pedestal
    assert got[edge].mean() == pytest.approx(height, rel=0.1)
