"""A notebook served by Voila, for tests and scripts that click a panel in a
real browser (headless Chromium from Debian's ``chromium`` package, driven
by Playwright): the way the training panel is used."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

#: What a browser test needs besides eels_ae's own requirements.
BROWSER_PACKAGES = ("voila", "ipykernel", "playwright", "nbformat")


def chromium_executable():
    """Path of the system's Chromium, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing_for_browser():
    """What is missing to run a notebook in a browser (empty when nothing)."""
    import importlib.util

    missing = [p for p in BROWSER_PACKAGES if importlib.util.find_spec(p) is None]
    if chromium_executable() is None:
        missing.append("chromium (apt-get install chromium)")
    return missing


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served_notebook(source, folder, timeout=120):
    """Serve a one-cell notebook of ``source`` with Voila from ``folder``
    (its working directory); yields the page's URL. The server's log is
    ``folder / "voila.log"`` (read it when a test fails)."""
    import nbformat

    folder = Path(folder)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(nb, folder / "panel.ipynb")
    port = _free_port()
    log = open(folder / "voila.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voila",
            "panel.ipynb",
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
        ],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                # Ready once it listens; the page itself (the notebook run)
                # is made when the browser asks for it.
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "Voila did not start: "
                        + (folder / "voila.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
