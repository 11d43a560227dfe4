"""A training panel for Jupyter, registered with HyperSpy's GUI machinery.

``s.eels_ae_gui()`` (HyperSpy's ``get_gui`` with the toolkey
``"eels_ae.train"``, declared in ``hyperspy_extension.yaml``) shows an
ipywidgets panel: an algorithm from the registry and its main parameters,
Start and Stop, a live loss curve and progress bar fed by the training
callbacks, the endmembers and abundance maps (or the result's maps) when
training ends, and Save for the model file. Training runs in a thread, so
the notebook stays responsive; ``display=False`` returns the widgets (and a
``wait()`` function) to drive the panel from Python, as HyperSpy's own GUI
tests do.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from .. import registry

__all__ = ["eels_ae_gui", "train_panel"]

TOOLKEY = "eels_ae.train"

#: Parameters shown (when the algorithm has them); the others keep defaults.
MAIN_PARAMS = (
    "max_epochs",
    "learning_rate",
    "batch_size",
    "latent_dim",
    "init",
    "intensity",
    "random_state",
    "device",
)


def eels_ae_gui(self, display=True, toolkit=None, **kwargs):
    """Open eels_ae's training panel for this signal (Jupyter, ipywidgets).

    Choose an algorithm and its main parameters, start training (in a
    thread: the notebook stays usable), watch the loss curve, stop, look at
    the endmembers and maps, and save the model file.

    Parameters
    ----------
    display : bool
        Show the panel (True) or return its widgets in a dict (False: for
        scripts and tests).
    toolkit : str, optional
        ``"ipywidgets"`` (the only one eels_ae provides).
    """
    from hyperspy.ui_registry import get_gui

    return get_gui(self, toolkey=TOOLKEY, display=display, toolkit=toolkit, **kwargs)


def _param_widget(name, default):
    import ipywidgets as w

    style = {"description_width": "110px"}
    if name == "random_state":  # reproducible by default in the panel
        return _number_field(0 if default is None else default, name, int)
    if name == "device":
        return w.Dropdown(
            options=["auto", "cpu", "cuda"], value="auto", description=name, style=style
        )
    if isinstance(default, bool):
        return w.Checkbox(value=default, description=name, style=style)
    if isinstance(default, int):
        return _number_field(default, name, int)
    if isinstance(default, float):
        return _number_field(default, name, float)
    if default is None or isinstance(default, str):
        return w.Text(
            value="" if default is None else default, description=name, style=style
        )
    return None


def _number_field(default, name, kind):
    """A text field for a number, read in the kernel (:func:`_read_number`).
    ipywidgets' own number fields put the old value back, in the browser,
    when the text typed is not a number: the user's input is dropped without
    a word and the training runs with a value they did not choose."""
    import ipywidgets as w

    field = w.Text(
        value=str(default),
        description=name,
        style={"description_width": "110px"},
        continuous_update=False,
    )
    field.number_kind = kind
    return field


def _read_number(field):
    """The number in a field of :func:`_number_field`; ValueError that names
    the field and what was typed when it is not one."""
    text = field.value.strip()
    try:
        if field.number_kind is int:
            return int(text)
        value = float(text)
    except ValueError:
        kind = "a whole number" if field.number_kind is int else "a number"
        raise ValueError(f"{field.description}: {text!r} is not {kind}") from None
    if not np.isfinite(value):
        raise ValueError(f"{field.description}: {text!r} is not a finite number")
    return value


def loss_curve_svg(losses, width=360, height=140):
    """The loss curve as an inline SVG polyline (log scale when it spans
    more than a decade), light enough to redraw every epoch."""
    y = np.asarray(losses, dtype=float)
    y = y[np.isfinite(y)]
    if y.size < 2:
        return f"<svg width='{width}' height='{height}'></svg>"
    first, last, n = y[0], y[-1], y.size
    log = y.min() > 0 and y.max() / y.min() > 10
    if log:
        y = np.log10(y)
    lo, hi = y.min(), y.max()
    span = hi - lo if hi > lo else 1.0
    top = 18  # room for the caption
    xs = np.linspace(5, width - 5, y.size)
    ys = height - 5 - (y - lo) / span * (height - 10 - top)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys, strict=True))
    caption = (
        f"training loss{' (log scale)' if log else ''}: {n} epochs, "
        f"{first:.4g} to {last:.4g}"
    )
    return (
        f"<svg width='{width}' height='{height}' style='background:#fafafa'>"
        f"<text x='5' y='13' font-size='11' fill='#333'>{caption}</text>"
        f"<polyline fill='none' stroke='#1f77b4' stroke-width='2' "
        f"points='{points}'/></svg>"
    )


class _LiveCallback:
    """Epoch-end hook: records the loss, moves the progress bar, redraws the
    curve at most every 0.2 s, and stops training when asked."""

    def __init__(self, panel):
        self.panel = panel
        self.last_draw = 0.0

    def on_train_begin(self, info):
        self.panel["progress"].max = max(int(info.max_epochs), 1)
        self.panel["progress"].value = 0
        self.panel["status"].value = f"training: {info.phase}"
        self.panel["progress"].description = "epochs"

    def __call__(self, info):
        p = self.panel
        p["losses"].append(float(info.loss))
        p["progress"].value = min(info.epoch + 1, p["progress"].max)
        now = time.monotonic()
        if now - self.last_draw > 0.2:
            self.last_draw = now
            p["curve"].value = loss_curve_svg(p["losses"])
        if p["stop_flag"].is_set():
            info.stop()


def train_panel(obj, display=True, **kwargs):
    """The ipywidgets panel behind ``s.eels_ae_gui()`` (toolkey
    ``"eels_ae.train"``). See :func:`eels_ae_gui`."""
    import ipywidgets as w

    names = list(registry.trainable())
    algorithm = w.Dropdown(options=names, value="daeu", description="algorithm")
    n_components = _number_field(3, "components", int)
    params_box = w.VBox()
    start = w.Button(description="Start", button_style="success")
    stop = w.Button(description="Stop", button_style="warning", disabled=True)
    save = w.Button(description="Save model", disabled=True)
    path = w.Text(value="model.safetensors", description="file")
    progress = w.IntProgress(value=0, min=0, max=1, description="epochs")
    status = w.HTML("ready")
    # Names for the page's style sheet and for tests that click the panel
    # in a browser (tests/test_gui_browser.py).
    status.add_class("eels-ae-status")
    progress.add_class("eels-ae-progress")
    curve = w.HTML(loss_curve_svg([]))
    figure = w.Image(format="png", layout=w.Layout(display="none"))
    panel = {
        "algorithm": algorithm,
        "n_components": n_components,
        "params": {},
        "start": start,
        "stop": stop,
        "save": save,
        "path": path,
        "progress": progress,
        "status": status,
        "curve": curve,
        "figure": figure,
        "losses": [],
        "stop_flag": threading.Event(),
        "thread": None,
        "model": None,
        "result": None,
        "error": None,
    }

    def show_params(change=None):
        entry = registry.get(algorithm.value)
        defaults = entry.estimator().get_params()
        widgets = {}
        for name in MAIN_PARAMS:
            if name in defaults:
                widget = _param_widget(name, defaults[name])
                if widget is not None:
                    widgets[name] = widget
        panel["params"] = widgets
        params_box.children = tuple(widgets.values())
        n_components.layout.display = "" if entry.kind == "unmixing" else "none"

    def chosen_params(entry):
        """The parameters in the fields; ValueError naming a field whose text
        is not a number."""
        params = {}
        for name, widget in panel["params"].items():
            value = widget.value
            if hasattr(widget, "number_kind"):
                value = _read_number(widget)
            elif isinstance(widget, w.Text):
                value = value.strip() or None
            params[name] = value
        if "callbacks" in entry.estimator._get_param_names():
            params["callbacks"] = [_LiveCallback(panel)]
        if "show_progressbar" in entry.estimator._get_param_names():
            params["show_progressbar"] = False
        return params

    def run(entry, params, components):
        try:
            if entry.kind == "unmixing":
                obj.decomposition(
                    algorithm=entry.name,
                    output_dimension=components,
                    print_info=False,
                    **params,
                )
                panel["model"] = obj.learning_results.decomposition_algorithm
            else:
                result, model = getattr(obj, entry.method)(return_model=True, **params)
                panel["result"], panel["model"] = result, model
            # The panel's callback holds its widgets: the model kept in
            # learning_results (and saved) must not (they cannot be copied).
            if "callbacks" in panel["model"].get_params(deep=False):
                panel["model"].set_params(callbacks=None)
            stopped = panel["stop_flag"].is_set()
            status.value = _end_status(panel["model"], stopped)
            if not stopped:
                progress.value = progress.max  # every phase has ended
            curve.value = loss_curve_svg(panel["losses"])
            _show_results(entry, obj, panel)
            save.disabled = False
        except Exception as err:  # noqa: BLE001 - shown in the panel
            panel["error"] = err
            status.value = f"<b>failed</b>: {type(err).__name__}: {err}"
        finally:
            start.disabled, stop.disabled = False, True

    def on_start(_):
        entry = registry.get(algorithm.value)
        try:
            params = chosen_params(entry)
            components = _read_number(n_components)
        except ValueError as err:
            panel["error"] = err
            status.value = f"<b>not started</b>: {err}"
            return
        panel["losses"].clear()
        panel["stop_flag"].clear()
        panel["error"] = panel["model"] = panel["result"] = None
        start.disabled, stop.disabled, save.disabled = True, False, True
        status.value = "starting"
        figure.layout.display = "none"
        thread = threading.Thread(
            target=run, args=(entry, params, components), daemon=True
        )
        panel["thread"] = thread
        thread.start()

    def on_stop(_):
        panel["stop_flag"].set()
        status.value = "stopping after this epoch"

    def on_save(_):
        try:
            saved = panel["model"].save(path.value)
            status.value = f"saved {saved.resolve()}"
        except Exception as err:  # noqa: BLE001 - shown in the panel
            status.value = f"<b>not saved</b>: {err}"

    def wait(timeout=None):
        """Block until the training thread ends (for scripts and tests)."""
        if panel["thread"] is not None:
            panel["thread"].join(timeout)

    def check_number(change):
        # Said as soon as the field is left, not only at Start.
        try:
            _read_number(change["owner"])
        except ValueError as err:
            status.value = f"<b>not a number</b>: {err}"
        else:
            if status.value.startswith("<b>not"):
                status.value = "ready"

    def watch_numbers(change=None):
        for field in (n_components, *panel["params"].values()):
            if hasattr(field, "number_kind"):
                field.observe(check_number, names="value")

    algorithm.observe(show_params, names="value")
    algorithm.observe(watch_numbers, names="value")
    start.on_click(on_start)
    stop.on_click(on_stop)
    save.on_click(on_save)
    show_params()
    watch_numbers()
    panel["wait"] = wait
    box = w.VBox(
        [
            w.HBox([algorithm, n_components]),
            params_box,
            w.HBox([start, stop]),
            progress,
            status,
            curve,
            figure,
            w.HBox([path, save]),
        ]
    )
    panel["box"] = box
    if display:
        from IPython.display import display as show

        show(box)
        return None
    return panel


def _end_status(model, stopped):
    """What the status line says when a training ends: stopped by the user,
    ended by early stopping (the loss stopped improving), or done."""
    if stopped:
        return (
            f"stopped at epoch {getattr(model, 'n_epochs_', '?')} (best weights kept)"
        )
    done, planned = (
        getattr(model, "n_epochs_", None),
        model.get_params().get("max_epochs"),
    )
    if done is not None and planned is not None and done < planned:
        return (
            f"done: early stopping ended it at epoch {done} of {planned} (the "
            "loss had stopped improving)"
        )
    return "done"


def _show_results(entry, signal, panel):
    """Endmembers and abundance maps (unmixing), or the result's maps, drawn
    into the panel's image (a PNG: safe to set from the training thread)."""
    from .result_figures import result_figure_png

    panel["figure"].value = result_figure_png(
        entry.kind, signal, panel["result"], figsize=(9, 6)
    )
    panel["figure"].layout.display = ""
