"""The multichannel rotationally invariant VAE: patches, model, estimator, s.rvae."""

import warnings

import dask.array as da
import hyperspy.api as hs
import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

import eels_ae
from eels_ae import RVAE
from eels_ae.data import motif_maps
from eels_ae.metrics import circular_correlation
from eels_ae.models import RotationalVAE
from eels_ae.patches import interior_shape, patch_stream
from eels_ae.validation import NonFiniteDataError

WINDOW = 13
#: The quality fixtures train with the default settings (measured over seeds
#: and thread counts in benchmarks/results/rvae_reliability.md).
QUALITY = dict(window=WINDOW, random_state=0, show_progressbar=False)
QUICK = dict(
    window=8, max_epochs=2, hidden_width=16, random_state=0, show_progressbar=False
)


# -- data and fitted models (trained once per module) ---------------------------
@pytest.fixture(scope="module")
def train_maps():
    return motif_maps((96, 96), min_distance=16, random_state=1)


@pytest.fixture(scope="module")
def test_maps():
    """A second, larger image (other motifs): codes are judged on unseen data."""
    return motif_maps((160, 160), min_distance=16, random_state=5)


@pytest.fixture(scope="module")
def rvae(train_maps):
    return RVAE(**QUALITY).fit(train_maps.maps)


@pytest.fixture(scope="module")
def plain(train_maps):
    """The same model with rotation and translation off: a plain VAE on patches."""
    return RVAE(rotation=False, translation=False, **QUALITY).fit(train_maps.maps)


@pytest.fixture(scope="module")
def small():
    return motif_maps((28, 28), min_distance=12, random_state=3)


def centre_codes(model, m):
    """Codes, and the interior-grid index and truth of the motif centres of ``m``."""
    codes = model.encode(m.maps)
    return (codes, *m.centre_codes(codes))


def class_ari(model, m):
    return m.score(model.encode(m.maps))["class_ari"]


# -- quality against the ground truth -----------------------------------------
@pytest.mark.slow
def test_angle_recovered_over_the_full_circle(rvae, test_maps):
    codes, idx, labels, angles = centre_codes(rvae, test_maps)
    angle = codes.angle[idx]
    assert len(labels) > 30
    for label in (0, 1):
        keep = labels == label
        # The decoder's template sets a per-class zero of the angle: the
        # correlation is invariant to that offset, and 1 only over the full
        # circle (an angle known modulo pi scores ~0 on uniform angles).
        r = circular_correlation(angle[keep], angles[keep])
        assert r >= 0.9, (label, r)
    assert np.ptp(angle) > 1.5 * np.pi


@pytest.mark.slow
def test_content_latents_separate_the_classes(rvae, plain, test_maps):
    ari = class_ari(rvae, test_maps)
    plain_ari = class_ari(plain, test_maps)
    assert ari >= 0.9
    # Without rotational invariance the latents mix class with orientation.
    assert plain_ari <= ari - 0.3, (ari, plain_ari)


@pytest.mark.slow
def test_latents_are_used_not_collapsed(rvae, test_maps):
    codes = rvae.encode(test_maps.maps)
    z = codes.z.reshape(-1, codes.z.shape[-1])
    sd = codes.z_sd.reshape(z.shape)
    # Collapse (atomai's unit-noise MSE): spread ~1e-3 against a sd of ~1.
    assert np.all(z.std(axis=0) > 5 * np.median(sd, axis=0))


@pytest.mark.slow
def test_reconstruction_follows_the_maps(rvae, test_maps):
    codes = rvae.encode(test_maps.maps, reconstruct=True)
    h = WINDOW // 2
    rows, cols = codes.reconstruction.shape[:2]
    clean = rvae._normalize_maps(test_maps.clean)[h : h + rows, h : h + cols]
    rec = codes.reconstruction
    # Two latents, an angle and a shift rebuild a window coarsely (measured:
    # R^2 0.47-0.65 against the clean maps over seeds and thread counts); a
    # collapsed model gives ~0.
    assert ((rec - clean) ** 2).mean() < 0.7 * clean.var()
    corr = [
        np.corrcoef(rec[..., k].ravel(), clean[..., k].ravel())[0, 1] for k in range(3)
    ]
    # Per channel 0.67-0.80 for the two large channels; the third holds only
    # the small odd parts (satellite, heavy lobe): 0.28-0.82.
    assert np.mean(corr) > 0.45 and min(corr) > 0.15, corr


def test_unit_noise_likelihood_collapses_the_latents(train_maps):
    """The failure the noise-scaled likelihood avoids: MSE with unit noise."""
    model = RVAE(noise_variance=1.0, **{**QUALITY, "max_epochs": 5})
    model.fit(train_maps.maps)
    codes = model.encode(train_maps.maps)
    z = codes.z.reshape(-1, codes.z.shape[-1])
    assert np.all(z.std(axis=0) < 0.2 * np.median(codes.z_sd.reshape(z.shape), 0))


# -- the model --------------------------------------------------------------------
def test_decoder_turns_its_patch_with_the_angle():
    torch.manual_seed(0)
    model = RotationalVAE(9, 2, 2, hidden=16).eval()
    z = torch.randn(3, 2)
    with torch.no_grad():
        base = model.decode(z, torch.zeros(3))
        turned = model.decode(z, torch.full((3,), np.pi / 2))
    # A quarter turn from +x towards +y on a square grid is exact.
    expected = torch.rot90(base, -1, dims=(1, 2))
    assert torch.allclose(turned, expected, atol=1e-5)
    assert not torch.allclose(base, turned, atol=1e-3)


def test_encoder_is_exactly_equivariant_to_quarter_turns():
    torch.manual_seed(0)
    model = RotationalVAE(7, 3, 2, hidden=16).eval()
    x = torch.rand(5, 7, 7, 3)
    # Training encodes the four turns as one batch, inference one at a time.
    trained_path = model.encode(x)
    with torch.no_grad():
        q = model.encode(x)
        for key, value in q.items():
            expected = trained_path[key].detach()
            assert torch.allclose(value, expected, atol=1e-5), key
        for k in (1, 2, 3):
            t = model.encode(torch.rot90(x, -k, dims=(1, 2)))
            turn = torch.remainder(t["angle"] - q["angle"] - k * np.pi / 2, 2 * np.pi)
            assert torch.allclose(torch.cos(turn), torch.ones(5), atol=1e-5)
            assert torch.allclose(t["z_mu"], q["z_mu"], atol=1e-5)
            # The shift turns with the content: (dx, dy) -> (-dy, dx) once.
            c, s = np.cos(k * np.pi / 2), np.sin(k * np.pi / 2)
            expected = q["shift"] @ torch.tensor([[c, s], [-s, c]], dtype=torch.float32)
            assert torch.allclose(t["shift"], expected, atol=1e-5)


def test_rotate_patches_turns_a_motif():
    from eels_ae.data.motifs import render_motif
    from eels_ae.models.rvae import rotate_patches

    a = torch.tensor(render_motif(0, 0.3, (13, 13), (6, 6))[None], dtype=torch.float32)
    b = render_motif(0, 0.8, (13, 13), (6, 6))
    turned = rotate_patches(a, torch.tensor([0.5]))[0].numpy()
    # Bilinear interpolation blurs a little; the unturned motif is far off.
    assert np.abs(turned - b).max() < 0.25 * np.abs(a[0].numpy() - b).max()
    quarter = rotate_patches(a, torch.tensor([np.pi / 2]))
    assert torch.allclose(quarter, torch.rot90(a, -1, dims=(1, 2)), atol=1e-5)


def test_loss_is_finite_and_differentiable():
    torch.manual_seed(0)
    model = RotationalVAE(6, 3, 2, hidden=16)
    x = torch.rand(8, 6, 6, 3)
    loss = model.loss(x, torch.tensor([0.01, 0.02, 0.01]))
    loss.backward()
    assert torch.isfinite(loss)
    assert model.angle_head.weight.grad.abs().sum() > 0


# -- patches ----------------------------------------------------------------------
@pytest.mark.parametrize("window", [5, 6])
@pytest.mark.parametrize("lazy", [False, True])
def test_patch_stream_matches_sliding_windows(window, lazy, monkeypatch):
    import eels_ae.patches

    monkeypatch.setattr(eels_ae.patches, "BAND_BYTES", 4000)  # many small bands
    maps = np.random.default_rng(0).random((23, 17, 2)).astype(np.float32)
    X = da.from_array(maps, chunks=(7, 17, 2)) if lazy else maps
    stream = patch_stream(X, window)
    assert stream.n_bands > 3
    got = np.concatenate([p for _, p in stream.bands()])
    ref = np.moveaxis(sliding_window_view(maps, (window, window), axis=(0, 1)), 2, -1)
    assert got.shape == (np.prod(interior_shape(maps.shape, window)), window, window, 2)
    np.testing.assert_array_equal(got, ref.reshape(got.shape))
    # Pixel (i, j) of the interior grid is map pixel (i + w//2, j + w//2).
    h = window // 2
    i, j = 3, 4
    k = i * interior_shape(maps.shape, window)[1] + j
    assert got[k][h, h].tolist() == maps[i + h, j + h].tolist()


def test_patch_stream_subsamples_and_never_holds_all_patches():
    # 512 x 512 x 3 with a 32-pixel window: 2.8 GB of patches if materialised.
    maps = da.zeros((512, 512, 3), dtype=np.float32, chunks=(512, 512, 3))
    stream = patch_stream(maps, 32)
    _, first = next(stream.bands())
    assert first.nbytes < 100 * 2**20
    assert stream.n_bands > 20
    sub = patch_stream(maps[:64, :64], 8, fraction=0.25)
    n = sum(len(b) for b in sub.batches(64, np.random.default_rng(0)))
    assert 0.15 * 57 * 57 < n < 0.35 * 57 * 57


# -- the estimator ----------------------------------------------------------------
def test_codes_layout_and_decoding(small):
    model = RVAE(**QUICK).fit(small.maps)
    rows, cols = interior_shape(small.maps.shape, 8)
    codes = model.transform(small.maps)
    assert model.code_names_ == ["angle", "shift_x", "shift_y", "z1", "z2"]
    assert codes.shape == (rows * cols, 5)
    enc = model.encode(small.maps)
    np.testing.assert_allclose(codes[:, 0], enc.angle.ravel())
    np.testing.assert_allclose(codes[:, 3:], enc.z.reshape(-1, 2))
    assert np.all(np.abs(codes[:, 0]) <= np.pi)
    patches = model.inverse_transform(codes[:4])
    assert patches.shape == (4, 8, 8, 3)
    np.testing.assert_allclose(
        patches,
        model.decode(codes[:4, 3:], angle=codes[:4, 0], shift=codes[:4, 1:3]),
        atol=1e-6,
    )
    grid, extent = model.manifold(n=3)
    assert grid.shape == (3, 3, 8, 8, 3)
    assert extent == (-2.0, 2.0, -2.0, 2.0)


def test_normalize_options(small):
    maps = small.maps
    joint = RVAE(normalize="joint", **QUICK).fit(maps)
    assert np.all(joint.input_range_ == [maps.min(), maps.max()])
    weighted = RVAE(normalize=[1, 2, (0, 1)], **QUICK).fit(maps)
    np.testing.assert_allclose(weighted.output_range_, [[0, 1], [0, 2], [0, 1]])
    out = weighted._normalize_maps(maps)
    np.testing.assert_allclose(out.max(axis=(0, 1)), [1, 2, 1], rtol=1e-5)
    np.testing.assert_allclose(out.min(axis=(0, 1)), [0, 0, 0], atol=1e-5)
    with pytest.raises(ValueError, match="one range per channel"):
        RVAE(normalize=[1, 2], **QUICK).fit(maps)
    with pytest.raises(ValueError, match="not known"):
        RVAE(normalize="pixel", **QUICK).fit(maps)


def test_translation_warmup_epochs_are_trained_but_not_kept(small):
    model = RVAE(**{**QUICK, "max_epochs": 4}, translation_warmup=0.5)
    model.fit(small.maps)
    assert model.model_.translation_warmup == 2
    assert len(model.loss_curve_) == 4
    # The first two epochs (no shift) are never the model kept.
    assert model.best_loss_ == min(model.loss_curve_[2:])
    assert model.encode(small.maps).shift is not None


def test_bad_maps_get_clear_errors(small):
    maps = small.maps.copy()
    with pytest.raises(ValueError, match="larger than the maps"):
        RVAE(window=40).fit(maps)
    with pytest.raises(ValueError, match="integer >= 2"):
        RVAE(window=1).fit(maps)
    with pytest.raises(
        ValueError, match=r"translation_warmup must be a number in \[0, 1\)"
    ):
        RVAE(translation_warmup=1.0, **QUICK).fit(maps)
    with pytest.raises(ValueError, match="rows, columns, channels"):
        RVAE().fit(maps[..., None])
    const = maps.copy()
    const[..., 1] = 0.5
    with pytest.raises(ValueError, match=r"channel\(s\) 1 .* constant"):
        RVAE(**QUICK).fit(const)
    maps[3, 5, 0] = np.nan
    maps[7, 2, 2] = np.inf
    with pytest.raises(NonFiniteDataError, match=r"2 non-finite .*\(x=5, y=3\)"):
        RVAE(**QUICK).fit(maps)
    fitted = RVAE(**QUICK).fit(small.maps)
    with pytest.raises(ValueError, match="trained on 3"):
        fitted.transform(small.maps[..., :2])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        fitted.decode(np.zeros((4, 3)))


# -- HyperSpy: s.rvae -------------------------------------------------------------
@pytest.fixture(scope="module")
def motif_signal():
    m = motif_maps((36, 40), min_distance=12, random_state=4)
    s = m.spectrum_image(n_channels=48, dose=500, random_state=0)
    s.axes_manager[0].offset, s.axes_manager[0].scale = 2.0, 0.5
    return m, s


def test_rvae_without_decomposition_runs_nmf_on_a_copy(motif_signal):
    _, s = motif_signal
    before = s.data.copy()
    with pytest.warns(UserWarning, match="no decomposition, so an NMF with 3"):
        r = s.rvae(**QUICK)
    assert s.learning_results.loadings is None
    np.testing.assert_array_equal(s.data, before)
    assert r.channels == [0, 1, 2] and "NMF" in r.source
    # Interior grid: half a window in from the border, calibration kept.
    x, y = r.angle.axes_manager.signal_axes
    assert (x.size, y.size) == (40 - 8 + 1, 36 - 8 + 1)
    assert x.offset == pytest.approx(2.0 + 4 * 0.5) and x.scale == 0.5
    assert x.units == "nm" and y.offset == pytest.approx(4.0)
    assert r.latent.axes_manager.navigation_shape == (2,)
    assert r.reconstruction.data.shape == r.input.data.shape == (3, 29, 33)
    assert "angle" in r.angle.metadata.General.title


def test_rvae_uses_the_decomposition_and_lazy_matches(motif_signal):
    _, s = motif_signal
    s = s.deepcopy()
    s.decomposition(algorithm="NMF", output_dimension=4, print_info=False)
    loadings = s.learning_results.loadings.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NMF warning: the decomposition is used
        r = s.rvae(channels=[0, 2, 3], **QUICK)
    np.testing.assert_array_equal(s.learning_results.loadings, loadings)
    assert r.channels == [0, 2, 3] and r.model.n_features_in_ == 3
    lazy = s.as_lazy()
    lazy.learning_results = s.learning_results
    rl = lazy.rvae(channels=[0, 2, 3], **QUICK)
    np.testing.assert_allclose(rl.latent.data, r.latent.data, atol=1e-5)
    # Apply the trained model to another acquisition, without training.
    r2 = s.rvae(channels=[0, 2, 3], model=r.model)
    assert r2.model is r.model
    np.testing.assert_allclose(r2.angle.data, r.angle.data)


def test_rvae_bad_calls(motif_signal):
    _, s = motif_signal
    s = s.deepcopy()
    s.decomposition(algorithm="NMF", output_dimension=3, print_info=False)
    with pytest.raises(ValueError, match=r"channels \[5\] are out of range.*3 comp"):
        s.rvae(channels=[0, 5])
    with pytest.raises(ValueError, match="2 navigation dimensions, got 1"):
        s.inav[:, 0].rvae()
    with pytest.raises(TypeError, match="unexpected keyword.*Valid RVAE"):
        s.rvae(windw=8)
    with pytest.raises(ValueError, match="larger than the maps"):
        s.rvae(window=60)
    s.learning_results.loadings[5, 0] = np.nan
    with pytest.raises(NonFiniteDataError, match=r"1 non-finite"):
        s.rvae(**QUICK)


def test_result_figures_and_histograms(motif_signal):
    _, s = motif_signal
    with pytest.warns(UserWarning):
        r = s.rvae(**QUICK)
    hists = r.histograms(bins=10)
    assert list(hists) == ["angle", "z1", "z2"]
    n_pixels = r.angle.data.size
    assert all(h.data.sum() == n_pixels for h in hists.values())
    assert r.plot_histograms().axes
    ax = r.plot_manifold(n=3)
    assert ax.images[0].get_array().shape == (24, 24, 3)  # RGB tiles
    assert r.plot_latent_distribution(c=r.angle).collections
    r.plot_angle()
    r.plot_latent()
    r.plot_reconstruction()
    assert r.decode([0.0, 0.0], angle=1.0).shape == (1, 8, 8, 3)
    assert "RVAEResult" in repr(r)


def test_rvae_is_installed_on_signals():
    assert hs.signals.Signal1D.rvae is eels_ae.hyperspy_glue.rvae


def test_integer_counts_get_their_maps_without_hyperspy_refusing_them():
    """int16 detector counts (as dm files hold): the NMF behind the maps runs
    on a float copy; the user's signal keeps its dtype and data."""
    import warnings

    from eels_ae.data.examples import load_example

    s = load_example()
    s.data = np.round(s.data).astype("int16")
    before = s.data.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = s.rvae(
            n_components=3,
            window=4,
            max_epochs=1,
            patches_per_epoch=50,
            random_state=0,
            show_progressbar=False,
        )
    assert result.angle.data.size > 0
    assert s.data.dtype == np.int16 and np.array_equal(s.data, before)
