"""The Sphinx documentation builds without warnings and autodoc really runs."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")


def test_docs_build_without_warnings(tmp_path):
    if not (DOCS / "conf.py").exists():
        pytest.skip("no docs/ in this checkout")
    # Stale generated API stubs (e.g. of a removed entry) would warn.
    shutil.rmtree(DOCS / "api" / "generated", ignore_errors=True)
    html = tmp_path / "html"
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "-d",
        str(tmp_path / "doctrees"),
        str(DOCS),
        str(html),
    ]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "agg"},
    )
    if proc.returncode != 0:
        print(proc.stdout)
        print(proc.stderr, file=sys.stderr)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stderr[-5000:]}"
    for page in ("index.html", "user_guide/unmixing.html", "api.html"):
        assert (html / page).is_file(), f"{page} was not built"
    daeu = html / "api" / "generated" / "eels_ae.DAEU.html"
    assert daeu.is_file(), "autosummary did not generate the DAEU page"
    assert "warmup_epochs" in daeu.read_text(encoding="utf-8")
