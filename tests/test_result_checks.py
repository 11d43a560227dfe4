"""Results that mean nothing are flagged after every fit: a model that
explains the data much worse than a linear one could, coinciding endmembers,
negative endmembers, a degenerate scale split, an endmember no pixel holds;
and nothing is flagged on ordinary data, real or synthetic."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import eels_ae
from eels_ae.data.examples import load_example
from eels_ae.result_checks import check_unmixing_result

QUIET = {"show_progressbar": False, "random_state": 0}
FLAG = "Compare the result with the raw spectra"


def _spectra(data):
    data = np.asarray(data, dtype=np.float64)
    return data.reshape(-1, data.shape[-1])


@pytest.fixture(scope="module")
def over_subtracted():
    """The real STO / LSMO scan with 1.3x its power-law background (HyperSpy's
    fit before Ti L) subtracted: most values negative beyond the window."""
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    s.change_dtype("float64")
    removed = s.remove_background(
        signal_range=(370.0, 450.0), fast=True, show_progressbar=False
    )
    background = s.data - removed.data
    E = s.axes_manager.signal_axes[0].axis
    return _spectra((s.data - 1.3 * background)[..., E > 460])


def test_a_network_that_cannot_fit_the_data_says_so(over_subtracted):
    # Non-negative endmembers cannot represent mostly negative spectra.
    with pytest.warns(UserWarning, match="much worse than a linear model"):
        est = eels_ae.DAEU(2, **QUIET).fit(over_subtracted)
    checks = est.fit_checks_
    assert checks["relative_residual"] > checks["svd_relative_residual"] + 0.1


def test_negative_endmembers_are_named(over_subtracted):
    with pytest.warns(UserWarning, match=r"negative in \d+% of the channels"):
        est = eels_ae.VCA(2, random_state=0).fit(over_subtracted)
    assert max(est.fit_checks_["negative_channels"]) > 0.5


def test_coinciding_endmembers_are_named():
    # Every pixel the same spectrum (Poisson noise), three endmembers asked.
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    mean = np.asarray(s.data, dtype=np.float64).mean(axis=(0, 1))
    X = np.random.default_rng(3).poisson(np.tile(mean, (200, 1))).astype(float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = eels_ae.NFINDR(3, random_state=0).fit(X)
    flagged = [str(w.message) for w in caught if FLAG in str(w.message)]
    assert len(flagged) == 1 and "are the same spectrum" in flagged[0]
    assert est.fit_checks_["smallest_angle"] < 1.0


def test_a_degenerate_scale_split_and_an_unused_endmember_are_caught():
    rng = np.random.default_rng(0)
    phase = np.abs(rng.normal(10, 3, size=(2, 50)))
    fractions = rng.dirichlet([1, 1], size=300)
    X = fractions @ phase
    # The data as 0.05 x (40 x phase 0) + 0.95 x (near-zero spectrum): fits,
    # but the fractions mean nothing.
    huge = np.vstack([40 * phase[0], 1e-3 * phase[1]])
    A = np.column_stack([fractions[:, 0] / 40, 1 - fractions[:, 0] / 40])
    checks = check_unmixing_result(X, A, np.ones(len(X)), huge)
    assert any("degenerate" in p for p in checks.problems)
    unused = np.column_stack([np.ones(300) * 0.97, np.full(300, 0.03)])
    checks = check_unmixing_result(X, unused, np.ones(300), phase)
    assert any(
        "no pixel holds more than 3% of component 1" in p for p in checks.problems
    )
    # The truth passes.
    assert check_unmixing_result(X, fractions, np.ones(300), phase).problems == ()


@pytest.mark.parametrize("name", ["vca", "nfindr", "daeu", "drift_aware"])
def test_nothing_is_flagged_on_the_real_file_and_a_chequerboard(name):
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    syn = eels_ae.data.chequerboard_spectrum_image(
        "k", shape=(24, 24), dose=2e3, random_state=5
    )
    cls = eels_ae.registry.get(name).estimator
    params = {"random_state": 0} if name in ("vca", "nfindr", "drift_aware") else QUIET
    for data, R in ((np.asarray(s.data, float), 2), (syn.signal.data, 3)):
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=f".*{FLAG}")
            est = cls(R, **params).fit(
                data if name == "drift_aware" else _spectra(data)
            )
        assert est.fit_checks_["problems"] == []


@pytest.mark.parametrize("name", ["vca", "daeu"])
def test_a_spike_taken_for_a_phase_is_named_with_its_pixel(name):
    # One pixel of the real scan with a cosmic-ray-like spike (three
    # channels at 50x their level): with 3 components it becomes one.
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    s.change_dtype("float32")
    s.data[30, 3, 600:603] = 50 * s.data[30, 3, 590:610].mean()
    options = {} if name == "vca" else {"show_progressbar": False}
    with pytest.warns(
        UserWarning, match=r"is a few pixels \(component \d: pixel \(x=3, y=30\)\)"
    ):
        s.decomposition(
            algorithm=name,
            output_dimension=3,
            random_state=0,
            print_info=False,
            **options,
        )
    # Without the spike, nothing is said.
    clean = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*few pixels")
        clean.decomposition(
            algorithm=name,
            output_dimension=3,
            random_state=0,
            print_info=False,
            **options,
        )
