"""Spectral VAE (estimator, s.vae and its figures) against a known ground truth."""

import dask.array as da
import numpy as np
import pytest
import torch
from exspy.signals import EELSSpectrum
from matplotlib.figure import Figure

import eels_ae
from eels_ae import VAE
from eels_ae.data import edge_variation_spectrum_image
from eels_ae.hyperspy_glue import VAEResult
from eels_ae.metrics import latent_r2
from eels_ae.models import SpectrumVAE
from eels_ae.validation import NonFiniteDataError

FAST = dict(max_epochs=60, tol=None, random_state=0, device="cpu")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # A tiny MLP: thread hand-offs cost more than they save on a shared CPU.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def data():
    return edge_variation_spectrum_image(shape=(24, 32), random_state=0)


@pytest.fixture(scope="module")
def result(data):
    return data.signal.vae(**FAST)


def codes(signal):
    """A stack of latent maps as (n_pixels, latent_dim)."""
    return signal.data.reshape(signal.data.shape[0], -1).T


# -- quality on ground truth ---------------------------------------------------


def test_latents_recover_the_true_parameters(result, data):
    z = codes(result.latent)
    assert latent_r2(z, data.onset.data.ravel()) >= 0.9
    assert latent_r2(z, data.ratio.data.ravel()) >= 0.9


def test_latents_are_used_not_collapsed(result):
    mu, sd = codes(result.latent), codes(result.latent_std)
    spread = mu.std(axis=0) / sd.mean(axis=0)
    assert np.all(spread > 5), spread
    assert np.all(result.model.latent_spread_ > 5)


def test_unit_noise_likelihood_collapses_and_warns(data):
    # atomai's default: MSE = unit-variance Gaussian on data scaled to [0, 1].
    scale = float(np.abs(data.signal.data).max())
    with pytest.warns(UserWarning, match="collapsed"):
        vae = VAE(noise_variance=scale**2, **dict(FAST, max_epochs=20)).fit(data.signal)
    assert np.all(vae.latent_spread_ < 1)


def test_reconstruction_is_closer_to_the_truth_than_the_data(result, data):
    clean = data.clean.data
    err = np.mean((result.reconstruction.data - clean) ** 2)
    noise = np.mean((data.signal.data - clean) ** 2)
    assert err < 0.5 * noise
    # The MSE map is the per-pixel error to the data.
    mse = np.mean((result.reconstruction.data - data.signal.data) ** 2, axis=-1)
    np.testing.assert_allclose(result.mse.data, mse, rtol=1e-4)


def test_poisson_likelihood(data):
    r = data.signal.vae(likelihood="poisson", **FAST)
    assert r.model.noise_variance_ is None
    z = codes(r.latent)
    assert latent_r2(z, data.onset.data.ravel()) >= 0.9
    assert latent_r2(z, data.ratio.data.ravel()) >= 0.9
    assert r.reconstruction.data.min() > 0  # a rate is positive
    noise = np.mean((data.signal.data - data.clean.data) ** 2)
    assert np.mean((r.reconstruction.data - data.clean.data) ** 2) < 0.5 * noise


def test_estimated_noise_variance_matches_the_poisson_noise(result, data):
    # Poisson: the variance is the mean count.
    assert result.model.noise_variance_ == pytest.approx(
        data.clean.data.mean(), rel=0.3
    )


# -- eager, lazy, arrays, reproducibility ------------------------------------


def test_lazy_equals_eager(result, data):
    lazy = data.signal.as_lazy()
    lazy.data = lazy.data.rechunk((8, 32, 128))
    r = lazy.vae(**FAST)
    assert r.reconstruction._lazy
    np.testing.assert_allclose(r.latent.data, result.latent.data, atol=1e-4)
    np.testing.assert_allclose(
        r.reconstruction.data.compute(),
        result.reconstruction.data,
        rtol=1e-4,
        atol=1e-2,
    )
    np.testing.assert_allclose(r.mse.data, result.mse.data, rtol=1e-3)


class CountingReads:
    """An array-like data source that counts the reads of its values (dask's
    zero-size read for the array's metadata is not one)."""

    def __init__(self, data):
        self.data, self.reads = data, 0
        self.shape, self.dtype, self.ndim = data.shape, data.dtype, data.ndim

    def __getitem__(self, key):
        out = self.data[key]
        self.reads += out.size > 0
        return out


def test_lazy_result_reads_the_data_once(result, data):
    source = CountingReads(data.signal.data)
    lazy = data.signal.as_lazy()
    lazy.data = da.from_array(source, chunks=(8, 32, 128), asarray=True)
    n_chunks = lazy.data.npartitions
    r = lazy.vae(model=result.model)
    # Latents, sds, MSE and the mean maps: one read of each chunk.
    assert source.reads == n_chunks
    np.testing.assert_allclose(r.latent.data, result.latent.data, atol=1e-4)
    np.testing.assert_allclose(r.mse.data, result.mse.data, rtol=1e-3)
    assert source.reads == n_chunks  # the reconstruction is still lazy


def test_trained_model_on_lazy_data_with_nan_says_where(result, data):
    s = data.signal.deepcopy()
    s.data[5, 7, 3] = np.inf
    lazy = s.as_lazy()
    with pytest.raises(NonFiniteDataError, match=r"x=7, y=5"):
        lazy.vae(model=result.model)


def test_arrays_without_hyperspy(data):
    # Seeds and lazy fitting: tests/test_contract.py.
    X = data.signal.data.reshape(-1, 128)
    a = VAE(**dict(FAST, max_epochs=8)).fit(X)
    za = a.transform(X)
    assert za.shape == (X.shape[0], 2)
    mean, sd = a.transform(X, return_std=True)
    np.testing.assert_array_equal(mean, za)
    assert np.all(sd > 0)
    rec = a.reconstruct(da.from_array(X, chunks=(100, 128)))
    assert isinstance(rec, da.Array)
    np.testing.assert_allclose(rec.compute(), a.reconstruct(X), rtol=1e-5, atol=1e-3)
    assert a.n_features_in_ == 128 and len(a.loss_curve_) == a.n_epochs_ == 8


def test_inverse_transform_decodes_to_data_units(result, data):
    z = codes(result.latent)
    spectra = result.model.inverse_transform(z)
    assert spectra.shape == (z.shape[0], 128)
    np.testing.assert_allclose(
        spectra, result.reconstruction.data.reshape(-1, 128), rtol=1e-4, atol=1e-2
    )


def test_normalize_spectrum_reconstructs_in_data_units(data):
    X = data.signal.data.reshape(-1, 128)
    vae = VAE(normalize="spectrum", **dict(FAST, max_epochs=30)).fit(X)
    rec = vae.reconstruct(X)
    clean = data.clean.data.reshape(-1, 128)
    assert np.mean((rec - clean) ** 2) < 0.5 * np.mean((X - clean) ** 2)
    # Decoded shapes come at a typical intensity of the data.
    decoded = vae.inverse_transform(vae.transform(X))
    assert 0.5 < decoded.mean() / X.mean() < 2


# -- HyperSpy outputs ------------------------------------------------------------


def test_outputs_are_calibrated_signals(result, data):
    s = data.signal
    assert isinstance(result, VAEResult)
    assert result.latent.axes_manager.navigation_shape == (2,)
    for m in (result.latent, result.latent_std, result.mse):
        for a, b in zip(
            m.axes_manager.signal_axes, s.axes_manager.navigation_axes, strict=True
        ):
            assert (a.name, a.size, a.offset, a.scale, a.units) == (
                b.name,
                b.size,
                b.offset,
                b.scale,
                b.units,
            )
    assert "latent" in result.latent.metadata.General.title
    assert result.mse.metadata.General.title == "VAE reconstruction MSE"
    rec = result.reconstruction
    assert type(rec) is EELSSpectrum
    assert rec.axes_manager.signal_axes[0].offset == s.axes_manager[-1].offset
    assert rec.metadata.General.title.endswith("(VAE reconstruction)")
    assert rec.data.shape == s.data.shape


@pytest.mark.filterwarnings("ignore:latent")
def test_signal_not_modified(data):
    s = data.signal.deepcopy()
    before = s.data.copy()
    title = s.metadata.General.title
    s.vae(**dict(FAST, max_epochs=2))
    np.testing.assert_array_equal(s.data, before)
    assert s.metadata.General.title == title
    assert s.learning_results.loadings is None


def test_model_reuse_on_another_signal(result, data):
    curve = list(result.model.loss_curve_)
    r2 = data.clean.vae(model=result.model)
    assert r2.model is result.model and result.model.loss_curve_ == curve
    # The clean image has the same factors: its latents match the noisy ones.
    for k in range(2):
        corr = np.corrcoef(codes(r2.latent)[:, k], codes(result.latent)[:, k])[0, 1]
        assert corr > 0.95


def test_model_reuse_checks_the_energy_axis(result, data):
    s = data.signal.deepcopy()
    s.axes_manager[-1].offset += 5.0
    with pytest.raises(ValueError, match="energy axis does not match"):
        s.vae(model=result.model)
    with pytest.raises(ValueError, match="128"):
        data.signal.isig[:100].vae(model=result.model)
    with pytest.raises(TypeError, match="model.set_params"):
        data.signal.vae(model=result.model, latent_dim=3)
    with pytest.raises(TypeError, match="eels_ae.VAE"):
        data.signal.vae(model=eels_ae.DenoisingAE())


# -- bad input -----------------------------------------------------------------


def test_nan_error_says_where(data):
    s = data.signal.deepcopy()
    s.data[2, 3, 10] = np.nan
    with pytest.raises(NonFiniteDataError, match=r"x=3, y=2"):
        s.vae(**FAST)
    X = s.data.reshape(-1, 128)
    with pytest.raises(NonFiniteDataError, match="row 67"):
        VAE(**FAST).fit(X)


def test_wrong_dimensions_and_parameters(data):
    import hyperspy.api as hs

    with pytest.raises(ValueError, match="navigation"):
        data.signal.inav[0, 0].vae()
    with pytest.raises(ValueError, match="signal dimension"):
        VAE().fit(hs.signals.Signal2D(np.ones((4, 8, 8))))
    with pytest.raises(ValueError, match=r"\(rows, columns, channels\)"):
        VAE().fit(np.zeros((2, 4, 5, 16)))
    with pytest.raises(TypeError, match="latent_dim"):
        data.signal.vae(laten_dim=2)
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="latent_dim"):
            data.signal.vae(latent_dim=bad)
    with pytest.raises(ValueError, match="likelihood"):
        VAE(likelihood="bernoulli").fit(np.ones((10, 16)))
    with pytest.raises(ValueError, match="hidden"):
        VAE(hidden_layers=(0,)).fit(np.ones((10, 16)))
    with pytest.raises(ValueError, match="noise_var"):
        VAE(likelihood="poisson", noise_variance=1.0).fit(np.ones((10, 16)))
    with pytest.raises(ValueError, match="negative"):
        VAE(likelihood="poisson").fit(-np.ones((10, 16)))
    with pytest.raises(ValueError, match="all zeros"):
        VAE().fit(np.zeros((10, 16)))


def test_inverse_transform_checks_shape(result):
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        result.model.inverse_transform(np.zeros((3, 3)))


# -- figures ---------------------------------------------------------------------


def test_figures(result):
    figs = [
        result.plot_latent_distribution(),
        result.plot_latent_distribution(c=result.mse),
        result.plot_reconstruction_summary(),
        result.plot_pixels(),
        result.plot_pixels(pixels=[(0, 0), (5.0, 3.0)]),
        result.plot_latent_grid(n=3),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    assert len(figs[-1].axes) == 9
    assert len(figs[3].axes) == 3  # lowest, median and highest error
    with pytest.raises(ValueError, match="coordinate"):
        result.plot_pixels(pixels=[(1,)])


def test_line_scan(data):
    line = edge_variation_spectrum_image(shape=(1, 48), random_state=1)
    r = line.signal.vae(latent_dim=1, batch_size=8, **FAST)
    assert r.latent.data.shape == (1, 1, 48)
    axis = r.latent.axes_manager.signal_axes[0]
    assert (axis.name, axis.units, axis.size) == ("x", "nm", 48)
    assert r.reconstruction.data.shape == line.signal.data.shape
    # One factor (the onset): the single latent follows it.
    corr = np.corrcoef(r.latent.data.ravel(), line.onset.data)[0, 1]
    assert abs(corr) > 0.9
    for f in (
        r.plot_latent_distribution(),
        r.plot_reconstruction_summary(),
        r.plot_pixels(pixels=[3, 40]),
        r.plot_latent_grid(n=4),
    ):
        assert isinstance(f, Figure)


# -- building blocks -----------------------------------------------------------


@pytest.mark.parametrize("log_output", [False, True])
def test_spectrum_vae_module(log_output):
    net = SpectrumVAE(50, latent_dim=3, hidden=(32, 16), log_output=log_output)
    x = torch.rand(4, 50)
    out, mu, logvar = net(x)
    assert out.shape == (4, 50) and mu.shape == logvar.shape == (4, 3)
    net.set_mean_spectrum(torch.full((50,), 2.0))
    decoded = net.decode(torch.zeros(1, 3))
    # Started at the mean spectrum (up to the small initial weights).
    np.testing.assert_allclose(decoded.detach().numpy(), 2.0, atol=0.5)
    net2 = SpectrumVAE(50, latent_dim=3, hidden=(32, 16), log_output=log_output)
    net2.load_state_dict(net.state_dict())
    torch.testing.assert_close(net2.decode(torch.zeros(1, 3)), decoded)


def test_variation_generator():
    d = edge_variation_spectrum_image(shape=(5, 6), shift=4.0, ratio=(0.5, 1.0))
    onset = d.onset.data
    assert np.all(onset[:, -1] - onset[:, 0] == pytest.approx(4.0))
    assert np.all(np.ptp(onset, axis=0) == 0)  # constant along y
    assert d.ratio.data[0, 0] == 0.5 and d.ratio.data[-1, 0] == 1.0
    assert np.all(d.clean.data > 0)
    assert d.signal.axes_manager[-1].units == "eV"
    # A larger ratio means more counts above the edge.
    assert d.clean.data[-1, 0, -1] > d.clean.data[0, 0, -1]
    with pytest.raises(ValueError, match="energy axis"):
        edge_variation_spectrum_image(onset=600.0)
    with pytest.raises(ValueError, match="n_channels"):
        edge_variation_spectrum_image(n_channels=8)
