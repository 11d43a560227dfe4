"""Render the training panel in a real browser and save a screenshot for the
docs (``docs/user_guide/figures/training_panel.png``).

A notebook that opens ``s.eels_ae_gui()`` on the bundled real image and
trains DAEU is served by Voila; headless Chromium (Debian's ``chromium``
package, driven by Playwright) loads the page, waits until the panel's
widgets are drawn and takes the screenshot.

Needs: ``pip install voila ipykernel playwright`` and ``apt-get install
chromium``. Run from the repository root:
``python docs/scripts/render_gui_screenshot.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

CELL = """\
import warnings
warnings.filterwarnings("ignore")
import hyperspy.api as hs
import eels_ae
from eels_ae.data.examples import load_example
from IPython.display import display

s = load_example()  # the bundled STO / LSMO spectrum image
panel = s.eels_ae_gui(display=False)["ipywidgets"]
panel["algorithm"].value = "daeu"
panel["n_components"].value = "2"
panel["params"]["max_epochs"].value = "60"
panel["start"].click()  # trains in a thread
panel["wait"]()
display(panel["box"])
"""

OUT = Path("docs/user_guide/figures/training_panel.png")


def main():
    # The notebook server the browser test of the panel uses.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    from voila_server import chromium_executable, served_notebook

    browser = chromium_executable()
    if browser is None:
        sys.exit("no chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        with served_notebook(CELL, tmp) as url:
            OUT.parent.mkdir(parents=True, exist_ok=True)
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                chromium = pw.chromium.launch(executable_path=browser)
                page = chromium.new_page(viewport={"width": 1000, "height": 1450})
                page.goto(url, timeout=300_000)
                # The panel is drawn once its Save button is.
                page.get_by_text("Save model").wait_for(timeout=300_000)
                page.wait_for_timeout(2000)
                page.screenshot(path=str(OUT), full_page=True)
                chromium.close()
    print(OUT)


if __name__ == "__main__":
    main()
