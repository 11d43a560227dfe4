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
    return {"daeu": daeu, "mtaeu": mtaeu, "denoiser": denoiser}


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

    def built_here():
        from eels_ae.distributed import _CACHE

        return [type(m).__name__ for m in _CACHE.values()]

    # The workers rebuilt the models from their weights (the last one kept).
    built = client.run(built_here)
    assert sorted(sum(built.values(), [])) in (
        ["DenoisingAE"],
        ["DenoisingAE", "DenoisingAE"],
    ), built
    # The single-process path.
    s2 = _lazy()
    with dask.config.set(scheduler="synchronous"):
        s2.apply_model(models["daeu"])
        denoised_local = s2.denoise_ae(model=models["denoiser"]).data.compute()
    local = s2.learning_results.loadings
    np.testing.assert_array_equal(on_cluster, local)
    np.testing.assert_array_equal(denoised_cluster, denoised_local)
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
