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
