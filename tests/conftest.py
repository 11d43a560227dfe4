import matplotlib

matplotlib.use("agg")

import hyperspy.api as hs  # noqa: E402
import pytest  # noqa: E402

hs.preferences.General.show_progressbar = False


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
