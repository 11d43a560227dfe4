"""Real dm3/dm4 spectrum images, eager and lazy, and streaming of dask data."""

import tracemalloc

import dask.array as da
import numpy as np
import pytest
from conftest import fast_daeu_params
from exspy.signals import EELSSpectrum, LazyEELSSpectrum

import eels_ae
from eels_ae.data.examples import EXAMPLE_FILES, load_example
from eels_ae.metrics import spectral_angle

DM3 = "DMReader_SpectrumImage_SI-EELS.dm3"


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("name", sorted(EXAMPLE_FILES))
def test_real_files_unmix(name, lazy):
    s = load_example(name, lazy=lazy)
    assert isinstance(s, LazyEELSSpectrum if lazy else EELSSpectrum)
    R = 3
    for algorithm, params in (
        ("vca", {"random_state": 0}),
        ("daeu", fast_daeu_params()),
    ):
        s.decomposition(
            algorithm=algorithm, output_dimension=R, print_info=False, **params
        )
        lr = s.learning_results
        n_nav = s.axes_manager.navigation_size
        assert lr.loadings.shape == (n_nav, R)
        assert lr.factors.shape == (s.axes_manager.signal_size, R)
        np.testing.assert_allclose(lr.loadings.sum(axis=1), 1.0, atol=1e-5)
        factors = s.get_decomposition_factors()
        assert factors.axes_manager.signal_axes[0].offset == (
            s.axes_manager.signal_axes[0].offset
        )
        model = s.get_decomposition_model()
        data = np.asarray(s.data)
        model_data = np.asarray(model.data)
        # Sum-to-one abundances cannot follow thickness (intensity) changes,
        # yet three endmembers must still beat the mean spectrum, in both the
        # least-squares residual and the spectral shape (angle) of each pixel.
        X = data.reshape(-1, data.shape[-1])
        M = model_data.reshape(X.shape)
        mean = np.broadcast_to(X.mean(axis=0), X.shape)
        assert np.linalg.norm(M - X) < 0.95 * np.linalg.norm(mean - X)
        assert spectral_angle(M, X).mean() < spectral_angle(mean, X).mean()


@pytest.mark.parametrize("algorithm", ["daeu", "vca"])
def test_lazy_equals_eager_on_real_data(algorithm):
    eager = load_example(DM3)
    lazy = load_example(DM3, lazy=True)
    params = fast_daeu_params() if algorithm == "daeu" else {"random_state": 3}
    for s in (eager, lazy):
        s.decomposition(
            algorithm=algorithm, output_dimension=3, print_info=False, **params
        )
    le, ll = eager.learning_results, lazy.learning_results
    np.testing.assert_allclose(
        ll.factors, le.factors, rtol=1e-4, atol=1e-4 * np.abs(le.factors).max()
    )
    np.testing.assert_allclose(ll.loadings, le.loadings, atol=1e-4)
    assert isinstance(ll.decomposition_algorithm, eels_ae.ALGORITHMS[algorithm])


def test_lazy_with_small_nav_chunks_matches_eager(small_ml):
    eager = small_ml.signal.deepcopy()
    lazy = small_ml.signal.as_lazy(chunks=(8, 8, 200))
    for s in (eager, lazy):
        s.decomposition(
            algorithm="daeu", output_dimension=3, print_info=False, **fast_daeu_params()
        )
    np.testing.assert_allclose(
        lazy.learning_results.loadings, eager.learning_results.loadings, atol=1e-4
    )
    # Row order of the loadings follows the pixels, whatever the chunks.
    maps = lazy.get_decomposition_loadings().data
    np.testing.assert_allclose(maps, eager.get_decomposition_loadings().data, atol=1e-4)


def test_lazy_unsupported_options_and_failures_keep_results(small_ml):
    lazy = small_ml.signal.as_lazy()
    lazy.decomposition(
        algorithm="vca", output_dimension=3, print_info=False, random_state=0
    )
    before = lazy.learning_results.factors.copy()
    with pytest.raises(NotImplementedError, match="centre"):
        lazy.decomposition(centre="signal", algorithm="daeu", output_dimension=3)
    with pytest.raises(ValueError, match="larger than the number of channels"):
        lazy.decomposition(algorithm="daeu", output_dimension=999)
    np.testing.assert_array_equal(lazy.learning_results.factors, before)


def test_lazy_nan_is_reported():
    data = np.random.default_rng(0).random((10, 12, 30)).astype(np.float32)
    data[3, 4, 5] = np.nan
    s = EELSSpectrum(data).as_lazy()
    with pytest.raises(
        ValueError, match=r"1 non-finite value\(s\).*pixel \(x=4, y=3\)"
    ):
        s.decomposition(algorithm="daeu", output_dimension=2)


def _lazy_mixture(n, B, R, chunk_rows, seed=0):
    """A dask spectrum array generated chunk by chunk, never stored whole."""
    E = np.random.default_rng(seed).random((R, B)) + np.linspace(2, 0.2, B)
    n_blocks = n // chunk_rows

    def block(block_id=None):
        rng = np.random.default_rng([seed, block_id[0]])
        A = rng.dirichlet(np.ones(R), size=chunk_rows)
        return rng.poisson(200 * (A @ E)).astype(np.float32)

    X = da.map_blocks(block, dtype=np.float32, chunks=((chunk_rows,) * n_blocks, (B,)))
    return X, E


def test_daeu_streams_dask_data_without_materialising_it():
    n, B = 64_000, 256  # 66 MB of float32, in chunks of 1 MB
    X, _ = _lazy_mixture(n, B, 3, chunk_rows=1_000)
    est = eels_ae.DAEU(
        n_components=3,
        max_epochs=3,
        warmup_epochs=1,
        tol=None,
        max_init_samples=1_000,
        random_state=0,
    )
    est._block_rows = 1_000
    # Import everything training touches first: tracemalloc counts imports too.
    eels_ae.DAEU(n_components=3, max_epochs=1, warmup_epochs=1).fit(X[:200].compute())
    tracemalloc.start()
    est.fit(X)
    A = est.transform(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    nbytes = n * B * 4
    assert est.n_epochs_ == 4
    assert A.shape == (n, 3)
    # All epochs ran, yet numpy never held more than a small part of the data.
    assert peak < 0.25 * nbytes, (peak, nbytes)


def test_streamed_equals_in_memory_for_same_blocks():
    X, _ = _lazy_mixture(3_000, 64, 3, chunk_rows=500)
    Xn = X.compute()
    results = []
    for data in (X, Xn):
        est = eels_ae.DAEU(
            n_components=3, max_epochs=4, warmup_epochs=2, random_state=1
        )
        est._block_rows = 1_000
        results.append(est.fit(data))
    np.testing.assert_allclose(
        results[0].components_, results[1].components_, rtol=1e-5
    )
    assert results[0].loss_curve_ == pytest.approx(results[1].loss_curve_, rel=1e-6)
