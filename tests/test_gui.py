"""The training panel (``s.eels_ae_gui()``), driven through its widgets as
HyperSpy's own GUI tests do (``display=False``)."""

from __future__ import annotations

import os
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
    p["n_components"].value = "2"
    p["params"]["max_epochs"].value = "12"
    p["params"]["random_state"].value = "4"
    p["start"].click()
    assert p["start"].disabled  # while training, in a thread
    p["wait"](timeout=300)
    assert p["error"] is None, p["error"]
    assert p["status"].value.startswith("done")
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
    assert f"saved {tmp_path / 'panel.safetensors'}" in p["status"].value
    loaded = eels_ae.load_model(tmp_path / "panel.safetensors")
    np.testing.assert_allclose(
        loaded.components_, s.learning_results.factors.T, rtol=1e-6
    )
    # Readable by others as any new file (the umask's mode), not 0600.
    umask = os.umask(0)
    os.umask(umask)
    mode = (tmp_path / "panel.safetensors").stat().st_mode & 0o777
    assert mode == 0o666 & ~umask


def test_the_panel_runs_twice_and_the_signal_stays_usable():
    # A second Start in the same panel, then decomposition calls from code
    # on the same signal (they failed when learning_results held the panel's
    # callback, whose widgets cannot be copied).
    s = load_example()
    p = _panel(s)
    p["n_components"].value = "2"
    p["params"]["max_epochs"].value = "4"
    for seed in (1, 2):
        p["params"]["random_state"].value = str(seed)
        p["start"].click()
        p["wait"](timeout=300)
        assert p["error"] is None, p["error"]
        assert p["status"].value.startswith("done")
    assert s.learning_results.decomposition_algorithm.callbacks is None
    first = s.learning_results.factors.copy()
    with pytest.raises(ValueError, match="output_dimension"):
        s.decomposition(algorithm="daeu", show_progressbar=False)
    np.testing.assert_array_equal(s.learning_results.factors, first)  # kept
    s.decomposition(
        algorithm="vca", output_dimension=2, show_progressbar=False, print_info=False
    )
    assert s.learning_results.factors.shape[1] == 2


def test_stop_ends_training_early_and_keeps_the_notebook_free():
    s = load_example()
    p = _panel(s)
    p["algorithm"].value = "vae"
    assert p["n_components"].layout.display == "none"
    assert "latent_dim" in p["params"]
    p["params"]["max_epochs"].value = "5000"
    p["start"].click()
    deadline = time.monotonic() + 120
    while len(p["losses"]) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # the caller is not blocked by the training
    p["stop"].click()
    p["wait"](timeout=120)
    assert not p["thread"].is_alive()
    assert p["error"] is None, p["error"]
    assert p["status"].value.startswith("stopped at epoch")
    assert 3 <= len(p["losses"]) < 5000
    # The bar shows where it stopped, not a full run.
    assert p["progress"].value < p["progress"].max
    assert p["result"].latent.axes_manager.navigation_size == 2  # latent maps


def test_text_typed_into_a_number_field_is_refused_with_its_name():
    # ipywidgets' number fields put the old value back in the browser and
    # train with it; the panel reads the text itself and says what is wrong.
    s = load_example()
    p = _panel(s)
    p["params"]["max_epochs"].value = "fifty"
    assert "max_epochs: 'fifty' is not a whole number" in p["status"].value
    p["start"].click()
    assert p["thread"] is None  # nothing started
    assert "not started" in p["status"].value and "fifty" in p["status"].value
    assert s.learning_results.factors is None
    p["params"]["max_epochs"].value = "2"
    assert p["status"].value == "ready"
    p["params"]["learning_rate"].value = "1e-3x"
    p["start"].click()
    assert p["thread"] is None
    assert "learning_rate: '1e-3x' is not a number" in p["status"].value


def test_a_failed_training_is_reported_in_the_panel():
    s = load_example()
    p = _panel(s)
    p["algorithm"].value = "nfindr"
    p["n_components"].value = "5000"  # more endmembers than channels
    p["start"].click()
    p["wait"](timeout=60)
    assert "failed" in p["status"].value and "5000" in p["status"].value
    assert not p["start"].disabled and p["save"].disabled
