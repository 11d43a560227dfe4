"""N-FINDR as an estimator and a decomposition name: synthetic truth and the
real STO / LSMO image."""

import numpy as np
import pytest
from conftest import assert_la_m_endmember_follows_the_lsmo_layer

import eels_ae
from eels_ae.data.examples import load_example
from eels_ae.metrics import unmixing_scores


@pytest.fixture(scope="module")
def chequerboard():
    # Another seed and size than the benchmark and the docs use.
    return eels_ae.data.chequerboard_spectrum_image(
        "ml", shape=(40, 40), block=5, dose=2e4, random_state=21
    )


def _scores(syn, est):
    X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])
    A = est.fit_transform(X)
    return unmixing_scores(
        syn.endmember_array, syn.abundance_array, est.components_, A.T
    )


def test_nfindr_recovers_the_synthetic_endmembers(chequerboard):
    found = _scores(chequerboard, eels_ae.NFINDR(3, random_state=0))
    vca = _scores(chequerboard, eels_ae.VCA(3, random_state=0))
    # Measured: 1.0 degrees and NMSE 0.07 (VCA: 1.9 and 0.18).
    assert found.mean_sad_deg < 2.0
    assert found.mean_sad_deg < vca.mean_sad_deg + 0.5
    assert found.mean_nmse < 0.15


def test_decomposition_name_eager_and_lazy_agree(chequerboard):
    s = chequerboard.signal.deepcopy()
    s.decomposition(
        algorithm="nfindr", output_dimension=3, print_info=False, random_state=0
    )
    lazy = chequerboard.signal.as_lazy()
    lazy.decomposition(
        algorithm="nfindr", output_dimension=3, print_info=False, random_state=0
    )
    eager_lr, lazy_lr = s.learning_results, lazy.learning_results
    np.testing.assert_allclose(eager_lr.factors, lazy_lr.factors, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(eager_lr.loadings).sum(axis=1), 1, atol=1e-6)
    assert eager_lr.decomposition_algorithm.indices_.shape == (3,)


def test_real_interface_the_la_m_endmember_follows_the_lsmo_layer():
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    E = s.axes_manager.signal_axes[0].axis
    rows = s.data.shape[0]
    X = s.data.reshape(-1, s.data.shape[-1]).astype(np.float64)
    for intensity in ("fixed", "per_pixel"):
        est = eels_ae.NFINDR(2, random_state=0, intensity=intensity)
        A = est.fit_transform(X)
        assert_la_m_endmember_follows_the_lsmo_layer(est.components_, A, E, rows)
