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
        s = s.inav[:, 0]  # a line scan
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
