"""The training panel clicked in a real browser: a notebook served by Voila,
headless Chromium (Debian's package) driven by Playwright. Start twice,
a decomposition from code on the same signal, text typed into a number
field, Stop and Save, as a user does them in the page.

Needs voila, ipykernel and playwright (``pip install -e ".[test]"``) and
Chromium (``apt-get install chromium``; ``.ci/run`` installs it). Without
them the test is skipped and says what is missing."""

import os

import pytest
from voila_server import chromium_executable, missing_for_browser, served_notebook

pytestmark = pytest.mark.skipif(
    bool(missing_for_browser()),
    reason="no browser test without: " + ", ".join(missing_for_browser()),
)

NOTEBOOK = """\
import warnings
warnings.filterwarnings("ignore")
import ipywidgets as w
from IPython.display import display
import eels_ae
from eels_ae.data.examples import load_example

s = load_example()
s.eels_ae_gui()

# A call from code on the same signal, after the panel's runs (it failed
# once learning_results held the panel's callbacks).
check = w.Button(description="decomposition from code")
said = w.HTML("not checked")
said.add_class("code-check")

def run_check(_):
    try:
        s.decomposition(algorithm="vca", output_dimension=2,
                        print_info=False, show_progressbar=False)
        said.value = f"code call ok: {s.learning_results.factors.shape[1]} components"
    except Exception as err:
        said.value = f"code call failed: {type(err).__name__}: {err}"

check.on_click(run_check)
display(w.HBox([check, said]))
"""

# Every text the status line shows, in order: trainings can end before the
# test looks, so the page records them as they come.
RECORD_STATUS = """() => {
    const status = document.querySelector('.eels-ae-status');
    window.statuses = [status.innerText];
    new MutationObserver(() => window.statuses.push(status.innerText))
        .observe(status, {subtree: true, childList: true, characterData: true});
}"""


def _statuses(page):
    return page.evaluate("() => window.statuses")


def _wait_status(page, start, *words, timeout=240_000):
    """Wait until a status after index ``start`` contains one of ``words``;
    that status."""
    page.wait_for_function(
        """([start, words]) => window.statuses.slice(start).some(
            s => words.some(w => s.includes(w)))""",
        arg=[start, list(words)],
        timeout=timeout,
    )
    return next(s for s in _statuses(page)[start:] if any(w in s for w in words))


def _field(page, name):
    """The text box of the panel's field ``name``."""
    return page.locator(f".widget-text:has(label:text-is('{name}')) input")


def _type(page, name, text):
    box = _field(page, name)
    box.fill(text)
    box.press("Tab")  # the field sends its text when it is left


def _start(page, expected="done"):
    """Click Start; the status that says the run ended as ``expected``."""
    first = len(_statuses(page))
    page.get_by_role("button", name="Start").click()
    ended = _wait_status(page, first, expected, "failed")
    assert expected in ended, _statuses(page)[first:]
    return ended


@pytest.mark.slow
def test_the_training_panel_clicked_in_a_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    from eels_ae import load_model

    with (
        served_notebook(NOTEBOOK, tmp_path) as url,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=chromium_executable())
        try:
            page = browser.new_page()
            page.goto(url, timeout=240_000)
            page.get_by_role("button", name="Save model").wait_for(timeout=240_000)
            page.evaluate(RECORD_STATUS)

            # Text in a number field is refused where the user sees it,
            # and nothing starts with a value they did not choose.
            _type(page, "max_epochs", "fifty")
            said = _wait_status(page, 0, "not a number")
            assert "max_epochs: 'fifty' is not a whole number" in said
            page.get_by_role("button", name="Start").click()
            _wait_status(page, 0, "not started")

            # Two runs in a row, then a call from code on the same signal.
            _type(page, "components", "2")
            _type(page, "max_epochs", "8")
            for seed in ("1", "2"):
                _type(page, "random_state", seed)
                assert _start(page).startswith("done")
            page.get_by_role("button", name="decomposition from code").click()
            page.locator(".code-check").get_by_text("code call").wait_for()
            assert (
                "code call ok: 2 components" in page.locator(".code-check").inner_text()
            ), (tmp_path / "voila.log").read_text()[-3000:]

            # A long run stopped from the page keeps the best weights, and
            # the bar shows where it stopped.
            page.locator(".widget-dropdown select").first.select_option("vae")
            _field(page, "max_epochs").wait_for()
            _type(page, "max_epochs", "5000")
            first = len(_statuses(page))
            page.get_by_role("button", name="Start").click()
            _wait_status(page, first, "training")
            page.get_by_role("button", name="Stop").click()
            stopped = _wait_status(page, first, "stopped at epoch", "failed")
            assert "best weights kept" in stopped
            bar = page.locator(".eels-ae-progress .progress-bar")
            width = bar.evaluate("el => parseFloat(el.style.width)")
            assert width < 100, width

            # Save writes the file where the status says.
            target = tmp_path / "from the page.safetensors"
            _type(page, "file", str(target))
            first = len(_statuses(page))
            page.get_by_role("button", name="Save model").click()
            saved = _wait_status(page, first, "saved")  # or "not saved"
            assert str(target) in saved
        finally:
            browser.close()
    assert load_model(target).n_epochs_ < 5000
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
