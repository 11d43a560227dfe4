"""Lazy inference on a ``dask.distributed`` cluster: the same results as the
single-process path, with the model sent as weights."""

from __future__ import annotations

import pickle

import dask
import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import eels_ae  # noqa: E402
from eels_ae.data.examples import load_example  # noqa: E402
from eels_ae.distributed import ModelWeights, map_model_blocks  # noqa: E402
from eels_ae.validation import NonFiniteDataError  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def models():
    s = load_example()
    s.decomposition(
        algorithm="daeu",
        output_dimension=2,
        random_state=0,
        max_epochs=10,
        abundances="encoder",
        show_progressbar=False,
        print_info=False,
    )
    daeu = s.learning_results.decomposition_algorithm
    s.decomposition(
        algorithm="mtaeu",
        output_dimension=2,
        random_state=0,
        max_epochs=4,
        show_progressbar=False,
        print_info=False,
    )
    mtaeu = s.learning_results.decomposition_algorithm
    _, denoiser = s.denoise_ae(
        max_epochs=2, random_state=0, return_model=True, show_progressbar=False
    )
    s.decomposition(
        algorithm="drift_aware",
        output_dimension=2,
        random_state=0,
        n_iter=2,
        print_info=False,
    )
    drift = s.learning_results.decomposition_algorithm
    vae = s.vae(max_epochs=5, tol=None, random_state=0, device="cpu").model
    return {
        "daeu": daeu,
        "mtaeu": mtaeu,
        "denoiser": denoiser,
        "drift": drift,
        "vae": vae,
    }


def _built_here():
    from eels_ae.distributed import _CACHE

    return [type(m).__name__ for m in _CACHE.values()]


def _built_on_workers(client):
    """The models the workers built from weights (each keeps its last)."""
    return sorted(sum(client.run(_built_here).values(), []))


def _lazy(chunks=(2, 7, 1024)):
    s = load_example(lazy=True)
    s.data = s.data.rechunk(chunks)
    return s


def test_unmixing_and_denoising_on_two_workers_equal_one_process(client, models):
    # On the cluster (the active client is dask's scheduler).
    s = _lazy()
    s.apply_model(models["daeu"])
    on_cluster = np.array(s.learning_results.loadings)
    denoised_cluster = s.denoise_ae(model=models["denoiser"]).data.compute()
    assert len(client.scheduler_info()["workers"]) == 2
    # The workers rebuilt the models from their weights (the last one kept).
    built = _built_on_workers(client)
    assert built in (["DenoisingAE"], ["DenoisingAE", "DenoisingAE"]), built
    # The single-process path.
    s2 = _lazy()
    with dask.config.set(scheduler="synchronous"):
        s2.apply_model(models["daeu"])
        denoised_local = s2.denoise_ae(model=models["denoiser"]).data.compute()
    local = s2.learning_results.loadings
    # Equal to float32 rounding: the workers' encoders see other block
    # shapes and thread counts, so the last bits of a sum may differ.
    np.testing.assert_allclose(on_cluster, local, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(denoised_cluster, denoised_local, rtol=1e-5)
    # A spatial autoencoder applies itself spectrum by spectrum (FCLS with
    # its endmembers): also chunk by chunk on the workers.
    s3, s4 = _lazy(), _lazy()
    s3.apply_model(models["mtaeu"])
    with dask.config.set(scheduler="synchronous"):
        s4.apply_model(models["mtaeu"])
    np.testing.assert_array_equal(
        s3.learning_results.loadings, s4.learning_results.loadings
    )
    e = load_example()
    e.apply_model(models["mtaeu"])
    np.testing.assert_allclose(
        s3.learning_results.loadings, e.learning_results.loadings, atol=1e-6
    )
    # And both equal eager inference.
    e = load_example()
    e.apply_model(models["daeu"])
    np.testing.assert_allclose(on_cluster, e.learning_results.loadings, atol=1e-6)


def test_drift_aware_unmixing_and_vae_maps_on_two_workers(client, models):
    """The two models that summarise a whole image: the drift-aware shifts
    (two passes, the map smoothed in between) and the VAE's latent and error
    maps, computed chunk by chunk on the workers, equal one process."""
    s = _lazy()
    s.apply_model(models["drift"])
    assert set(_built_on_workers(client)) == {"DriftAwareUnmixing"}
    r = _lazy().vae(model=models["vae"])
    assert set(_built_on_workers(client)) == {"VAE"}
    s2 = _lazy()
    with dask.config.set(scheduler="synchronous"):
        s2.apply_model(models["drift"])
        r2 = _lazy().vae(model=models["vae"])
    for a, b in [
        (s.learning_results.loadings, s2.learning_results.loadings),
        (s.learning_results.energy_shift.data, s2.learning_results.energy_shift.data),
    ]:
        np.testing.assert_array_equal(a, b)
    # float32 torch: a worker's one thread sums in another order than two
    # (measured: 4 of 588 latent values differ, by 2.4e-7).
    np.testing.assert_allclose(r.latent.data, r2.latent.data, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r.mse.data, r2.mse.data, rtol=1e-5)
    e = load_example()
    e.apply_model(models["drift"])
    np.testing.assert_allclose(
        s.learning_results.energy_shift.data,
        e.learning_results.energy_shift.data,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        s.learning_results.loadings, e.learning_results.loadings, atol=1e-6
    )
    np.testing.assert_allclose(
        r.latent.data, load_example().vae(model=models["vae"]).latent.data, atol=1e-5
    )


def test_bad_values_found_on_a_worker_name_their_pixel(client, models):
    e = load_example()
    e.data[2, 5, 10] = np.nan
    s = e.as_lazy()
    s.data = s.data.rechunk((2, 7, 1024))
    # Raised on a worker, pickled to the client with its message.
    with pytest.raises(NonFiniteDataError, match=r"pixel \(x=5, y=2\)"):
        s.apply_model(models["daeu"])


def test_latent_codes_on_the_cluster_equal_eager(client, models):
    """The denoiser's latent codes (what the latent classifier reads) of a
    lazy signal, computed chunk by chunk on the workers, with the 3 x 3
    neighbourhoods crossing chunk borders."""
    denoiser = models["denoiser"]
    lazy = denoiser.transform(_lazy(chunks=(2, 7, 1024)))
    eager = denoiser.transform(load_example())
    np.testing.assert_allclose(lazy, eager, rtol=1e-5, atol=1e-6)


def test_the_graph_carries_weights_not_the_estimator(models):
    s = _lazy()
    X = s.data.reshape(-1, 1024)
    lazy = map_model_blocks(models["daeu"], X, "transform", chunks=(X.chunks[0], (2,)))
    import io

    import cloudpickle

    referenced = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            referenced.add(f"{module}.{name}")
            return super().find_class(module, name)

    for task in dict(lazy.__dask_graph__()).values():
        Recorder(io.BytesIO(cloudpickle.dumps(task))).load()
    assert "eels_ae.distributed.ModelWeights" in referenced
    code = [
        r
        for r in referenced
        if r.startswith(("eels_ae.estimators", "eels_ae.models", "torch"))
    ]
    assert not code, code
    # Pickled, a ModelWeights is its bytes; rebuilt, it is the model.
    w = ModelWeights.of(models["daeu"])
    back = pickle.loads(pickle.dumps(w))
    assert back.checksum == w.checksum
    np.testing.assert_array_equal(back.model.components_, models["daeu"].components_)
    assert isinstance(back.model, eels_ae.DAEU)
