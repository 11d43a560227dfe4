import os

import matplotlib

matplotlib.use("agg")

import hyperspy.api as hs  # noqa: E402
import pytest  # noqa: E402

hs.preferences.General.show_progressbar = False

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two test workers on two cores: one thread each (PyTorch and the BLAS
    # under numpy / scikit-learn), fixed for the whole run, so that the
    # workers do not fight for the cores and a seed gives the same result
    # in every test of a worker (the thread governor would switch between
    # one and two threads as the other worker comes and goes).
    import threadpoolctl  # noqa: E402
    import torch  # noqa: E402

    from eels_ae.training import threads  # noqa: E402

    torch.set_num_threads(1)
    threadpoolctl.threadpool_limits(1)
    threads.ADAPT_THREADS = False


def pytest_collection_modifyitems(config, items):
    """Tests marked ``serial`` need the machine to themselves: skipped in
    the parallel run (``-n``), run by the second, serial pass."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    skip = pytest.mark.skip(
        reason="needs an otherwise idle machine: run in the serial pass "
        "(python -m pytest -m serial -p no:xdist)"
    )
    for item in items:
        if "serial" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="session")
def small_ml():
    """A small noisy 3-component chequerboard SI (32 x 32 pixels, 200 channels)."""
    import eels_ae

    return eels_ae.data.chequerboard_spectrum_image(
        "ml", shape=(32, 32), dose=5000.0, random_state=7
    )


def fast_daeu_params():
    """DAEU settings for tests: short but real training."""
    return dict(
        max_epochs=15,
        warmup_epochs=5,
        batch_size=64,
        learning_rate=3e-3,
        random_state=0,
        show_progressbar=False,
    )


def assert_la_m_endmember_follows_the_lsmo_layer(
    components, abundances, energy, rows, layer_min=0.75, contrast=0.4
):
    """On the real STO / LSMO image: one endmember holds the La M4,5 white
    lines (~832 eV, post-edge over pre-edge > 1.5), and the LSMO layer (rows
    ~18-29, where the raw data show La M) holds far more of it than the STO
    on both sides."""
    import numpy as np

    def jump(f):
        post = f[(energy > 830) & (energy < 840)].mean()
        return post / f[(energy > 815) & (energy < 825)].mean()

    la = [jump(f) for f in components]
    k = int(np.argmax(la))
    assert la[k] > 1.5
    share = np.asarray(abundances)[:, k].reshape(rows, -1).mean(axis=1)
    layer = share[20:28].mean()
    assert layer > layer_min
    assert layer - share[:12].mean() > contrast
    assert layer - share[38:].mean() > contrast
