"""fit_references: known reference spectra fitted in every pixel."""

import warnings

import numpy as np
import pytest

import eels_ae
from eels_ae.data.examples import load_example
from eels_ae.endmembers import linear_coefficients


@pytest.fixture(scope="module")
def syn():
    return eels_ae.data.chequerboard_spectrum_image(
        "k", shape=(24, 24), block=6, dose=1e4, random_state=31
    )


def test_linear_coefficients_meet_their_constraints():
    rng = np.random.default_rng(2)
    M = rng.random((3, 40))
    X = rng.normal(size=(50, 3)) @ M + rng.normal(0, 0.05, (50, 40))
    ols = linear_coefficients(X, M, nonnegative=False)
    np.testing.assert_allclose(ols, np.linalg.lstsq(M.T, X.T, rcond=None)[0].T)
    s1 = linear_coefficients(X, M, nonnegative=False, sum_to_one=True)
    np.testing.assert_allclose(s1.sum(axis=1), 1.0)
    # The constrained optimum: no feasible move along the plane does better.
    d = np.array([1.0, -1.0, 0.0])
    for eps in (1e-3, -1e-3):
        assert ((X - (s1 + eps * d) @ M) ** 2).sum() >= ((X - s1 @ M) ** 2).sum()
    nn = linear_coefficients(X, M)
    assert (nn >= 0).all()
    both = linear_coefficients(X, M, sum_to_one=True)
    assert (both >= 0).all() and np.allclose(both.sum(axis=1), 1.0)


def test_true_references_give_the_true_abundances_and_chi2_near_one(syn):
    fit = eels_ae.fit_references(syn.signal, syn.endmembers)
    truth = syn.abundance_array.reshape(len(syn.names), -1)
    got = fit.coefficients.data.reshape(len(truth), -1)
    # About 11 counts per channel: the weak carbonate map is the noisiest
    # (measured correlations 0.97, 0.99, 0.98, 0.88; mean error 0.04).
    corr = [np.corrcoef(got[k], truth[k])[0, 1] for k in range(len(truth))]
    assert min(corr) > 0.8 and np.median(corr) > 0.95
    assert np.abs(got - truth).mean() < 0.06
    # Poisson noise only: the reduced chi-square is about 1 everywhere.
    chi2 = fit.reduced_chi2.data
    assert 0.85 < np.median(chi2) < 1.15 and chi2.max() < 1.5
    np.testing.assert_allclose(
        fit.fitted.data + fit.residual.data, syn.signal.data, rtol=1e-4, atol=1e-2
    )
    assert fit.coefficients.axes_manager.navigation_axes[0].name == "reference"


def test_a_missing_reference_shows_in_the_chi2_map(syn):
    refs = syn.endmembers
    fit = eels_ae.fit_references(syn.signal, [refs.inav[k] for k in (0, 2, 3)])
    missing = syn.abundance_array[1].ravel()  # the nitride (N K edge)
    chi2 = fit.reduced_chi2.data.ravel()
    # Where the left-out phase is, the fit fails; elsewhere it still holds.
    # At ~11 counts per channel the reduced chi-square of one pixel scatters
    # by about 0.05; measured medians 1.70 and 0.97.
    assert np.median(chi2[missing > 0.5]) > 1.3
    assert np.median(chi2[missing < 0.01]) < 1.15


def test_references_on_another_axis_are_interpolated_with_a_warning(syn):
    refs = syn.endmembers
    coarse = refs.rebin(scale=(1, 2))  # channels twice as wide, counts summed
    inside = (260.0, 690.0)  # the rebinned axis ends half a channel short
    with pytest.warns(UserWarning, match="interpolated.*scaled by 0.5"):
        fit = eels_ae.fit_references(syn.signal, coarse, signal_range=inside)
    exact = eels_ae.fit_references(syn.signal, refs, signal_range=inside)
    # Same coefficients (unscaled they would double): the counts per channel
    # follow the channel width; the coarser references lose some fine
    # structure of the K edges (measured: mean difference 0.004, largest 0.05).
    diff = np.abs(fit.coefficients.data - exact.coefficients.data)
    assert fit.notes and diff.mean() < 0.01 and diff.max() < 0.1
    short = refs.isig[: refs.axes_manager.signal_axes[0].size // 2]
    with pytest.raises(ValueError, match="signal_range="):
        eels_ae.fit_references(syn.signal, short)


def test_lazy_equals_eager_and_leaves_the_signal_alone(syn):
    s = syn.signal.deepcopy()
    before = s.data.copy()
    eager = eels_ae.fit_references(s, syn.endmembers, sum_to_one=True)
    lazy = eels_ae.fit_references(s.as_lazy(), syn.endmembers, sum_to_one=True)
    np.testing.assert_allclose(
        lazy.coefficients.data, eager.coefficients.data, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        lazy.reduced_chi2.data, eager.reduced_chi2.data, rtol=1e-5
    )
    assert lazy.residual._lazy
    np.testing.assert_allclose(
        np.asarray(lazy.residual.data.compute()), eager.residual.data, atol=1e-3
    )
    np.testing.assert_allclose(eager.coefficients.data.sum(axis=0), 1.0, atol=1e-6)
    np.testing.assert_array_equal(s.data, before)


def test_ordinary_least_squares_agree_with_hyperspy_linear_fitting():
    import hyperspy.api as hs

    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3").isig[420.0:700.0]
    sto = s.inav[:, :10].mean()
    lsmo = s.inav[:, 21:27].mean()
    ours = eels_ae.fit_references(s, [sto, lsmo], nonnegative=False)
    axis = s.axes_manager.signal_axes[0]

    def plain(data):  # a Signal1D on the same energy axis
        out = hs.signals.Signal1D(np.asarray(data, dtype=np.float64))
        out.axes_manager.signal_axes[0].scale = axis.scale
        out.axes_manager.signal_axes[0].offset = axis.offset
        return out

    m = plain(s.data).create_model()
    for k, ref in enumerate((sto, lsmo)):
        comp = hs.model.components1D.ScalableFixedPattern(plain(ref.data))
        comp.name = f"r{k}"
        m.append(comp)
    m.set_parameters_not_free(only_nonlinear=True)  # the scale alone: linear
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.multifit(optimizer="lstsq", show_progressbar=False)
    for k in range(2):
        theirs = m[f"r{k}"].yscale.map["values"]
        np.testing.assert_allclose(
            ours.coefficients.data[k], theirs, rtol=1e-6, atol=1e-8
        )


def test_real_interface_coefficients_follow_the_layers():
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    sto = s.inav[:, :10].mean()
    sto.metadata.General.title = "STO"
    lsmo = s.inav[:, 21:27].mean()
    lsmo.metadata.General.title = "LSMO"
    fit = eels_ae.fit_references(s, [sto, lsmo])
    assert fit.names == ["STO", "LSMO"]
    c_sto, c_lsmo = (fit.coefficients.data[k].mean(axis=1) for k in range(2))
    # Rows of each layer hold about one of their own reference and little of
    # the other (measured in the STO rows: LSMO 0.07 on average, up to 0.21
    # where the thickness changes).
    assert np.all(np.abs(c_sto[:10] - 1) < 0.2)
    assert c_lsmo[:10].mean() < 0.12 and c_lsmo[:10].max() < 0.3
    assert np.all(np.abs(c_lsmo[21:27] - 1) < 0.2)
    assert c_sto[21:27].mean() < 0.12 and c_sto[21:27].max() < 0.3
    assert np.abs(c_sto[40:].mean() - 1) < 0.2  # the STO below the layer
    assert c_lsmo[40:].mean() < 0.2
    chi2 = fit.reduced_chi2.data.mean(axis=1)
    assert np.median(chi2[:10]) < 1.5


def test_one_figure_for_an_image_and_profiles_for_a_line_scan():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    # Spectra cut from the image share its title: numbered, or named.
    fit = eels_ae.fit_references(s, [s.inav[2, 2], s.inav[2, 24]])
    assert fit.names == ["reference 0", "reference 1"]
    fig = fit.plot()
    assert isinstance(fig, Figure) and len(fig.axes) >= 3  # 2 maps + chi-square
    plt.close(fig)
    line = s.inav[2]
    fit = eels_ae.fit_references(
        line, [line.inav[2], line.inav[24]], names=["STO", "LSMO"]
    )
    fig = fit.plot()
    top, bottom = fig.axes
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["STO", "LSMO"]
    assert len(top.lines[0].get_xdata()) == 49  # one point per pixel of the scan
    plt.close(fig)
    with pytest.raises(ValueError, match="names"):
        eels_ae.fit_references(line, [line.inav[2]], names=["a", "b"])


def test_bad_references_get_clear_errors(syn):
    with pytest.raises(ValueError, match=r"\(n_references, 903\)"):
        eels_ae.fit_references(syn.signal, np.ones((2, 10)))
    nan = syn.endmembers.deepcopy()
    nan.data[0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        eels_ae.fit_references(syn.signal, nan)
    other = syn.endmembers.deepcopy()
    other.axes_manager.signal_axes[0].units = "keV"
    with pytest.raises(ValueError, match="convert"):
        eels_ae.fit_references(syn.signal, other)
    with pytest.raises(ValueError, match="low to high"):
        eels_ae.fit_references(syn.signal, syn.endmembers, signal_range=(900, 800))
    with pytest.raises(TypeError, match="HyperSpy signal"):
        eels_ae.fit_references(syn.signal.data, syn.endmembers)
