"""Ensembles: ``s.decomposition(..., ensemble=N)`` and ``EnsembleUnmixing``:
the members matched to each other, the mean as the result, spreads that
follow the real error."""

import numpy as np
import pytest
from scipy.stats import spearmanr

import eels_ae
from eels_ae.data.examples import load_example
from eels_ae.metrics import match_components, sad_matrix


@pytest.fixture(scope="module")
def mixtures():
    """Three peaks mixed with many nearly pure pixels, the counts rising 20x
    down the image: an error made by the noise, which the spread must
    follow."""
    import hyperspy.api as hs

    rng = np.random.default_rng(5)
    E = np.linspace(0, 1, 100)
    M = np.stack([np.exp(-(((E - c) / 0.1) ** 2)) + 0.05 for c in (0.25, 0.5, 0.75)])
    A = rng.dirichlet(np.full(3, 0.3), size=(32, 32))
    counts = np.geomspace(2, 40, 32)[:, None, None]
    s = hs.signals.Signal1D(rng.poisson(counts * (A @ M)).astype(np.float32))
    s.axes_manager[0].name, s.axes_manager[1].name = "x", "y"
    return s, M, A.reshape(-1, 3)


def test_the_spread_follows_the_error_and_lands_like_the_loadings(mixtures):
    s, truth, A_true = mixtures
    s = s.deepcopy()
    s.decomposition(
        algorithm="nfindr",
        output_dimension=3,
        ensemble=5,
        random_state=0,
        print_info=False,
    )
    lr = s.learning_results
    loadings, factors = s.get_decomposition_loadings(), s.get_decomposition_factors()
    assert lr.abundance_std.data.shape == loadings.data.shape
    assert lr.endmember_std.data.shape == factors.data.shape
    for a, b in zip(
        lr.abundance_std.axes_manager._axes, loadings.axes_manager._axes, strict=True
    ):
        for what in ("name", "scale", "offset", "size"):
            assert getattr(a, what) == getattr(b, what)
    M = np.asarray(lr.factors).T
    order = match_components(truth, M)
    err = np.abs(np.asarray(lr.loadings)[:, order] - A_true)
    std = np.asarray(lr.abundance_std.data).reshape(3, -1).T[:, order]
    # Measured on three other seeds of this scene: 0.65-0.66 and 84-96 %.
    assert spearmanr(std.ravel(), err.ravel()).statistic > 0.45
    assert 0.7 < np.mean(err <= 2 * std) < 0.995
    # One figure: endmembers with their bands, maps and spread maps.
    fig = eels_ae.plot_uncertainty(s)
    assert len(fig.axes) == 1 + 2 * 3 + 2 * 3  # plots, maps, colour bars
    assert len(fig.axes[0].collections) == 3  # one band per endmember
    import matplotlib.pyplot as plt

    plt.close(fig)
    with pytest.raises(ValueError, match="ensemble=5"):
        eels_ae.plot_uncertainty(mixtures[0])
    # The result is the single fit with the same seed.
    single = s.deepcopy()
    single.decomposition(
        algorithm="nfindr", output_dimension=3, random_state=0, print_info=False
    )
    np.testing.assert_allclose(lr.factors, single.learning_results.factors)
    np.testing.assert_allclose(lr.loadings, single.learning_results.loadings)


def test_members_are_matched_whatever_their_order(mixtures):
    # VCA's picks come in a different order from seed to seed: matched, each
    # member's endmember is compared with the result's of the same phase.
    X = mixtures[0].data.reshape(-1, 100)
    ens = eels_ae.EnsembleUnmixing(
        eels_ae.VCA(3), n_members=6, random_state=2, show_progressbar=False
    ).fit(X)
    orders = ens.member_orders_
    assert len({tuple(o) for o in orders}) > 1  # the members came in other orders
    for member, order in zip(ens.members_[1:], orders[1:], strict=True):
        angles = sad_matrix(member.components_[order], ens.components_)
        # Each matched endmember is nearest to the result's of its place.
        assert (np.argmin(angles, axis=1) == np.arange(3)).all()
    assert ens.member_angles_.max() < 5.0  # degrees: they agree once matched


def test_resampling_follows_the_data_and_the_seed_repeats():
    syn = eels_ae.data.chequerboard_spectrum_image(
        "ml", shape=(16, 16), dose=1000.0, random_state=4
    )
    X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])

    def fitted(data, seed=0):
        return eels_ae.EnsembleUnmixing(
            eels_ae.NFINDR(3), n_members=3, random_state=seed, show_progressbar=False
        ).fit(data)

    a, b = fitted(X), fitted(X)
    assert a.resample_ == "poisson"
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-6)
    np.testing.assert_allclose(a.abundance_std_, b.abundance_std_, atol=1e-7)
    assert not np.allclose(fitted(X, seed=1).abundance_std_, a.abundance_std_)
    # Background-subtracted-like data (negative values): Gaussian noise of
    # the measured level.
    shifted = X - X.mean(axis=0) * 0.5
    assert fitted(shifted).resample_ == "gaussian"
    sigma = eels_ae.estimators.ensemble.noise_sigma_per_channel(X)
    assert sigma.shape == (X.shape[1],)
    # Poisson noise: the level grows with the counts of the channel.
    level = X.mean(axis=0)
    assert spearmanr(sigma, level).statistic > 0.5


def test_bad_ensembles_are_refused_and_nothing_is_lost():
    s = load_example()
    s.decomposition(algorithm="vca", output_dimension=2, print_info=False)
    before = s.learning_results.factors.copy()
    with pytest.raises(ValueError, match="at least 2 members"):
        s.decomposition(algorithm="vca", output_dimension=2, ensemble=1)
    with pytest.raises(TypeError, match="number of members"):
        s.decomposition(algorithm="vca", output_dimension=2, ensemble="5")
    with pytest.raises(ValueError, match="normalize_poissonian_noise"):
        s.decomposition(
            algorithm="vca",
            output_dimension=2,
            ensemble=3,
            normalize_poissonian_noise=True,
        )
    with pytest.raises(TypeError, match="unmixing estimator"):
        eels_ae.EnsembleUnmixing(eels_ae.VAE(), n_members=2).fit(np.ones((10, 5)))
    np.testing.assert_array_equal(s.learning_results.factors, before)
    assert getattr(s.learning_results, "abundance_std", None) is None


def test_on_the_real_file_lazy_objects_and_model_files(tmp_path):
    s = load_example()
    s.decomposition(
        algorithm=eels_ae.DAEU(2, max_epochs=3, warmup_epochs=1, random_state=0),
        ensemble=3,
        background_range=(370.0, 450.0),
        show_progressbar=False,
        print_info=False,
    )
    ens = s.learning_results.decomposition_algorithm
    assert isinstance(ens, eels_ae.EnsembleUnmixing)
    assert ens.resample_ == "gaussian"  # background-subtracted spectra
    std = s.learning_results.endmember_std.data
    # The channels left out (the window and below) are NaN, as in the factors.
    assert np.isnan(std[:, 0]).all() and np.isfinite(std[:, -1]).all()
    path = ens.save(tmp_path / "ensemble.safetensors")
    loaded = eels_ae.load_model(path)
    other = load_example()
    a = other.apply_model(path)
    np.testing.assert_allclose(loaded.components_, ens.components_, rtol=1e-6)
    assert a is None or a is not None  # applied without error
    np.testing.assert_allclose(
        np.asarray(other.learning_results.loadings),
        np.asarray(s.learning_results.loadings),
        atol=1e-4,
    )
    # A lazy signal, and HyperSpy's own algorithm afterwards clears the spreads.
    lazy = load_example(lazy=True)
    lazy.decomposition(
        algorithm="nfindr",
        output_dimension=2,
        ensemble=3,
        random_state=0,
        print_info=False,
    )
    assert lazy.learning_results.abundance_std.data.shape == (
        lazy.get_decomposition_loadings().data.shape
    )
    # Lazy and background-subtracted: Gaussian resamples drawn chunk by chunk.
    lazy.decomposition(
        algorithm="nfindr",
        output_dimension=2,
        ensemble=3,
        random_state=0,
        background_range=(370.0, 450.0),
        print_info=False,
    )
    assert lazy.learning_results.decomposition_algorithm.resample_ == "gaussian"
    assert np.isfinite(lazy.learning_results.abundance_std.data).all()
    s.decomposition(algorithm="NMF", output_dimension=2, print_info=False)
    assert getattr(s.learning_results, "abundance_std", None) is None


def test_members_that_disagree_are_named_in_a_warning():
    # Oxide layers at 150 counts per spectrum (another size and seed than
    # the benchmark's 200-300): the members' endmembers differ by tens of
    # degrees, and there the spreads cannot be trusted.
    syn = eels_ae.data.scenes.oxide_scene(
        maps="layers", shape=(30, 30), dose=150, drift=1.0, random_state=21
    )
    X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])
    with pytest.warns(UserWarning, match="can be trusted"):
        ens = eels_ae.EnsembleUnmixing(
            eels_ae.NFINDR(3, random_state=0), n_members=4, random_state=0
        ).fit(X)
    assert ens.endmember_angle_.max() > 10
    # Well-exposed pure pixels: no warning.
    clean = eels_ae.data.chequerboard_spectrum_image(
        "k", shape=(24, 24), dose=20000.0, random_state=2
    ).signal.data
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*can be trusted")
        ens = eels_ae.EnsembleUnmixing(
            eels_ae.NFINDR(4, random_state=0), n_members=4, random_state=0
        ).fit(clean.reshape(-1, clean.shape[-1]))
    assert ens.endmember_angle_.max() < 10
