"""The training panel (``s.eels_ae_gui()``), driven through its widgets as
HyperSpy's own GUI tests do (``display=False``)."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

import eels_ae  # noqa: E402
from eels_ae.data.examples import load_example  # noqa: E402
from eels_ae.hyperspy_glue.gui import TOOLKEY  # noqa: E402


def _panel(s):
    widgets = s.eels_ae_gui(display=False)
    assert set(widgets) == {"ipywidgets"}
    return widgets["ipywidgets"]


def test_the_toolkey_is_registered_through_the_extension_yaml():
    from hyperspy.ui_registry import UI_REGISTRY

    assert TOOLKEY.startswith("eels_ae.")
    spec = UI_REGISTRY[TOOLKEY]["ipywidgets"]
    assert spec["module"] == "eels_ae.hyperspy_glue.gui"


def test_panel_trains_with_a_live_loss_curve_and_saves_the_model(tmp_path):
    s = load_example()
    p = _panel(s)
    assert p["algorithm"].options == tuple(
        n
        for n, e in eels_ae.registry.REGISTRY.items()
        if e.input != "maps" and e.input != "latent"
    )
    p["algorithm"].value = "daeu"
    p["n_components"].value = 2
    p["params"]["max_epochs"].value = 12
    p["params"]["random_state"].value = 4
    p["start"].click()
    assert p["start"].disabled  # while training, in a thread
    p["wait"](timeout=300)
    assert p["error"] is None, p["error"]
    assert p["status"].value == "done"
    assert len(p["losses"]) >= 12  # every epoch of every phase reached the curve
    assert "<polyline" in p["curve"].value
    assert p["progress"].value == p["progress"].max
    # The panel's result is the plain call's (same seed, same parameters).
    plain = load_example()
    plain.decomposition(
        algorithm="daeu",
        output_dimension=2,
        max_epochs=12,
        random_state=4,
        print_info=False,
    )
    np.testing.assert_allclose(
        s.learning_results.factors, plain.learning_results.factors, rtol=1e-5
    )
    assert p["figure"].value[:8] == b"\x89PNG\r\n\x1a\n"  # endmembers and maps
    p["path"].value = str(tmp_path / "panel.safetensors")
    p["save"].click()
    assert "saved" in p["status"].value
    loaded = eels_ae.load_model(tmp_path / "panel.safetensors")
    np.testing.assert_allclose(
        loaded.components_, s.learning_results.factors.T, rtol=1e-6
    )


def test_stop_ends_training_early_and_keeps_the_notebook_free():
    s = load_example()
    p = _panel(s)
    p["algorithm"].value = "vae"
    assert p["n_components"].layout.display == "none"
    assert "latent_dim" in p["params"]
    p["params"]["max_epochs"].value = 5000
    p["start"].click()
    deadline = time.monotonic() + 120
    while len(p["losses"]) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # the caller is not blocked by the training
    p["stop"].click()
    p["wait"](timeout=120)
    assert not p["thread"].is_alive()
    assert p["error"] is None, p["error"]
    assert p["status"].value.startswith("stopped early")
    assert 3 <= len(p["losses"]) < 5000
    assert p["result"].latent.axes_manager.navigation_size == 2  # latent maps


def test_a_failed_training_is_reported_in_the_panel():
    s = load_example()
    p = _panel(s)
    p["algorithm"].value = "nfindr"
    p["n_components"].value = 5000  # more endmembers than channels
    p["start"].click()
    p["wait"](timeout=60)
    assert "failed" in p["status"].value and "5000" in p["status"].value
    assert not p["start"].disabled and p["save"].disabled
