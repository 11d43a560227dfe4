"""``eels_ae.compare`` and the held-out score behind it."""

import numpy as np
import pytest

import eels_ae
from eels_ae.data.examples import load_example
from eels_ae.model_selection import heldout_score, score_candidates, thinned


def _mixtures(seed=0, shape=(24, 24), counts=20.0):
    rng = np.random.default_rng(seed)
    E = np.linspace(0, 1, 80)
    M = np.stack([np.exp(-(((E - c) / 0.1) ** 2)) + 0.05 for c in (0.25, 0.5, 0.75)])
    A = rng.dirichlet(np.full(3, 0.4), size=shape)
    return rng.poisson(counts * (A @ M)).astype(np.float32), M


def test_the_halves_are_what_the_score_needs():
    X, _ = _mixtures()
    X1, X2, sigma = thinned(X, random_state=0)
    assert sigma is None  # counts: binomial thinning
    np.testing.assert_array_equal(X1 + X2, X)
    assert abs(X1.mean() - X.mean() / 2) < 0.02 * X.mean()
    # Independent halves: their noise does not correlate.
    r = np.corrcoef((X1 - X2).ravel(), (X1 + X2 - X.mean(axis=(0, 1))).ravel())
    assert abs(r[0, 1]) < 0.2
    # Data that are not counts: Gaussian fission around them.
    Y = X - 0.5 * X.mean(axis=(0, 1))
    Y1, Y2, sigma = thinned(Y, random_state=0)
    assert sigma.shape == (80,)
    np.testing.assert_allclose(Y1 + Y2, 2 * Y, atol=1e-4)
    # A model of the true rates scores about 1 per value on either.
    score, rows = heldout_score(X2, np.full_like(X2, X2.mean()))
    assert rows.shape == (24 * 24,) and score > 0


def test_the_held_out_score_prefers_the_right_rank_and_not_the_noise():
    X, _ = _mixtures(seed=1)
    scores = {
        c.name: c
        for c in score_candidates(
            X,
            {
                "two": eels_ae.VCA(2),
                "three": eels_ae.VCA(3),
                "eight": eels_ae.VCA(8),
            },
            seeds=(0, 1),
        )
    }
    # Too few endmembers cannot explain the held-out counts ...
    assert scores["three"].heldout < scores["two"].heldout
    # ... and endmembers fitted to the noise of one half do not predict the
    # other better than the true three by more than noise.
    d = scores["eight"].heldout_rows - scores["three"].heldout_rows
    assert d.mean() > -2 * d.std(ddof=1) / np.sqrt(d.size)
    assert np.isfinite(scores["three"].seed_angle)


def test_compare_picks_reports_plots_and_applies():
    s = load_example()
    report = eels_ae.compare(
        s, 2, algorithms=["vca", "nfindr", "daeu"], show_progressbar=False
    )
    names = [c.name for c in report.scores]
    assert sorted(names) == ["daeu", "nfindr", "vca"]
    assert report.recommended == names[0]  # best score first
    assert report.recommended in report.reason and "held-out" in report.reason
    text = str(report.table)
    assert all(n in text for n in names) and "recommended" in text
    assert "<table>" in report.table._repr_html_()
    fig = report.plot()
    assert len(fig.axes) == 3
    import matplotlib.pyplot as plt

    plt.close(fig)
    report.apply(s)
    est = s.learning_results.decomposition_algorithm
    assert type(est) is eels_ae.ALGORITHMS[report.recommended]
    assert s.learning_results.factors.shape[1] == 2


def test_bad_candidates_are_refused_or_reported():
    s = load_example()
    with pytest.raises(ValueError, match="not eels_ae unmixing names"):
        eels_ae.compare(s, 2, algorithms=["nmf"])
    if len(s.axes_manager.navigation_shape) == 2:
        s = s.inav[0]  # a line scan (49 spectra)
    with pytest.raises(ValueError, match="need an image"):
        eels_ae.compare(s, 2, algorithms=["cnnaeu"])
    # A candidate that cannot be fitted is listed with its error, never
    # picked, and the reason says so.
    from eels_ae.hyperspy_glue.compare import Comparison

    X, _ = _mixtures(seed=2)
    scores = score_candidates(
        X, {"vca": eels_ae.VCA(3), "too many": eels_ae.VCA(500)}, seeds=(0,)
    )
    report = Comparison(scores, 3, 0, np.arange(80))
    assert report.recommended == "vca"
    assert "Could not be fitted: too many" in report.reason
    assert "larger than" in str(report.table)


def _core_loss(seed=0, shape=(20, 20)):
    """Two edges mixed over a power-law background whose height follows a
    thickness ramp (counts)."""
    rng = np.random.default_rng(seed)
    E = np.linspace(300.0, 700.0, 200)
    M = np.stack(
        [
            np.where(E > 450, 1.0, 0.0) * np.exp(-(E - 450) / 150) * (E > 450),
            np.where(E > 560, 1.0, 0.0) * np.exp(-(E - 560) / 120) * (E > 560),
        ]
    )
    M += np.stack([np.exp(-(((E - 455) / 6) ** 2)), np.exp(-(((E - 565) / 6) ** 2))])
    A = rng.dirichlet(np.full(2, 0.5), size=shape)
    thickness = np.linspace(0.6, 1.4, shape[1])[None, :, None]
    background = 4000.0 * (E / 450.0) ** -3.5 * thickness
    X = rng.poisson(background + 400.0 * (A @ M)).astype(np.float64)
    return X, E, M


def test_background_range_scores_recorded_counts_and_unmixes_the_edges():
    import hyperspy.api as hs

    from eels_ae.hyperspy_glue.background import signal_without_background
    from eels_ae.hyperspy_glue.compat import copy_with_new_data
    from eels_ae.metrics import match_components, sad_matrix

    X, E, M = _core_loss()
    s = hs.signals.Signal1D(X)
    s.axes_manager.signal_axes[0].offset = E[0]
    s.axes_manager.signal_axes[0].scale = E[1] - E[0]
    window = (330.0, 430.0)
    keep = E > 430.0

    def background(half):
        work = signal_without_background(copy_with_new_data(s, half), window)[0]
        return half - work.data

    def error(scores):
        C = scores["two"].components
        T = M[:, keep]
        return np.degrees(np.mean(np.diag(sad_matrix(T, C[match_components(T, C)]))))

    candidates = {"one": eels_ae.VCA(1), "two": eels_ae.VCA(2)}
    with_bg = {
        c.name: c
        for c in score_candidates(
            X, candidates, seeds=(0,), channels=keep, background=background
        )
    }
    plain = {
        c.name: c for c in score_candidates(X, candidates, seeds=(0,), channels=keep)
    }
    # The held-out half is scored as recorded counts (its own background
    # plus the reconstruction): a Poisson deviance near 1 per value for the
    # right rank, higher for too few endmembers.
    assert with_bg["two"].heldout < 1.3
    assert with_bg["two"].heldout < with_bg["one"].heldout
    # With the background removed the two edges are found (to the noise of
    # a background extrapolated 270 eV past its window: 12-13 degrees on
    # four seeds); without it the background is an endmember (45 degrees).
    assert error(with_bg) < 20.0
    assert error(plain) > 2 * error(with_bg)


def test_compare_with_background_range_on_the_real_scan():
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    original = s.data.copy()
    report = eels_ae.compare(
        s,
        2,
        algorithms=["vca", "nfindr"],
        background_range=(370, 450),
        show_progressbar=False,
    )
    energy = s.axes_manager.signal_axes[0].axis
    # Only the channels above the background window are unmixed and shown.
    assert report._energy.min() > 450
    assert all(c.components.shape[1] == (energy > 450).sum() for c in report.scores)
    # The scan has La M (LSMO, 832 eV) in some rows and not in others: one
    # endmember of the pick carries a La M step well above the other's.
    best = report.scores[0].components
    e = report._energy
    post, pre = (e > 840) & (e < 860), (e > 800) & (e < 820)
    step = best[:, post].mean(1) - best[:, pre].mean(1)
    assert step.max() > 3 * max(step.min(), 0) + 1e-9 and step.max() > 0
    np.testing.assert_array_equal(s.data, original)
    report.apply(s)
    assert s.learning_results.decomposition_algorithm is not None
    # apply() unmixed the same channels, after the same background removal.
    factors = s.get_decomposition_factors()
    assert np.isnan(factors.data[:, energy <= 450]).all() or (
        np.nanmax(np.abs(factors.data[:, energy <= 450])) == 0
    )
    with pytest.raises(ValueError, match="channel"):
        eels_ae.compare(s, 2, algorithms=["vca"], signal_mask=np.zeros(5, bool))


def test_drifting_spectra_are_predicted_with_their_measured_shifts():
    from eels_ae.data import scenes

    syn = scenes.oxide_scene(
        maps="layers", shape=(32, 32), dose=1000, drift=4.0, random_state=0
    )
    X1, X2, _ = thinned(syn.signal.data, 0)
    est = eels_ae.ALGORITHMS["drift_aware"](3, random_state=0).fit(X1)
    A, scale = est.abundances_and_scale(X1)
    unshifted = heldout_score(X2, scale[:, None] * (A @ est.components_))[0]
    # The held-out half is drifting as the training half: the model's own
    # prediction (aligned, unmixed, shifted back) explains it better.
    assert heldout_score(X2, est.reconstruct(X1))[0] < unshifted
    scores = {
        c.name: c
        for c in score_candidates(
            syn.signal.data,
            {"vca": eels_ae.VCA(3), "drift_aware": est},
            seeds=(0,),
            image=lambda e: hasattr(e, "shifts"),
        )
    }
    d = scores["drift_aware"].heldout_rows - scores["vca"].heldout_rows
    assert d.mean() < -2 * d.std(ddof=1) / np.sqrt(d.size)


def test_a_few_spectra_or_a_noiseless_channel_give_a_clear_answer():
    # The bundled 2 x 2 core-loss file: nothing to compare on four spectra.
    s = load_example("EELS_SI.dm4")
    with pytest.raises(ValueError, match="4 spectra"):
        eels_ae.compare(s, 2)
    # Data that are not counts, one channel constant: its noise measures 0,
    # and without a floor its errors would weigh 1 / 0 in the score.
    X, _ = _mixtures(seed=4)
    Y = X - 0.5
    Y[..., 10] = 3.0
    _, _, sigma = thinned(Y, random_state=0)
    assert sigma.min() > 0
    scores = score_candidates(Y, {"vca": eels_ae.VCA(3)}, seeds=(0,))
    assert 0.5 < scores[0].heldout < 5


def test_map_coherence_tells_smooth_maps_from_noise():
    from eels_ae.spatial import map_coherence

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:32, 0:32]
    smooth = np.stack([np.sin(x / 6.0), np.cos(y / 5.0)], axis=-1)
    noise = rng.standard_normal((32, 32, 2))
    chequer = ((x + y) % 2)[..., None].astype(float)
    assert map_coherence(smooth) > 0.95
    assert abs(map_coherence(noise)) < 0.1
    assert map_coherence(chequer) < -0.9
    assert np.isnan(map_coherence(np.ones((8, 8, 1))))
    # In compare: a column of the table on images, NaN for a line scan.
    X, _ = _mixtures(seed=5)
    image = score_candidates(X, {"vca": eels_ae.VCA(3)}, seeds=(0,))[0]
    flat = score_candidates(X.reshape(-1, 80), {"vca": eels_ae.VCA(3)}, seeds=(0,))[0]
    assert np.isfinite(image.coherence) and np.isnan(flat.coherence)
