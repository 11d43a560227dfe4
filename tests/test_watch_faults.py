"""The watch mode under faults, with real processes: a session killed
(SIGKILL) at random moments, outputs being written included, and started
again on the same folders, 20 times; bad files among the good ones. Every
good file ends done once and whole, nothing partial stays, and the bad
files are listed with their reason."""

from __future__ import annotations

import csv
import multiprocessing
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

import eels_ae

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(),
    reason="needs fork (a new interpreter per restart costs seconds)",
)

GOOD = 6
CYCLES = 20


def _session(model, folder, out):
    from eels_ae.cli import main

    os._exit(
        main(
            [
                "apply",
                str(model),
                "--watch",
                str(folder),
                "-o",
                str(out),
                "--settle",
                "0.2",
                "--poll",
                "0.05",
                "--idle-timeout",
                "1.5",
                "-q",
            ]
        )
    )


@pytest.fixture
def session_folders(tmp_path):
    folder, out = tmp_path / "session", tmp_path / "results"
    folder.mkdir()
    for i in range(GOOD):
        syn = eels_ae.data.chequerboard_spectrum_image(
            "ml", shape=(6, 8), block=3, dose=2e3, random_state=i
        )
        syn.signal.save(folder / f"scan{i}.hspy")
        if i == 0:
            syn.signal.decomposition(
                algorithm="vca", output_dimension=2, random_state=0, print_info=False
            )
            model = syn.signal.learning_results.decomposition_algorithm.save(
                tmp_path / "model.safetensors"
            )
    (folder / "corrupt.hspy").write_bytes(os.urandom(4096))
    import hyperspy.api as hs

    hs.signals.Signal2D(np.ones((8, 8))).save(folder / "image.hspy")
    return model, folder, out


def test_kills_and_restarts_lose_nothing_and_leave_nothing_partial(session_folders):
    model, folder, out = session_folders
    context = multiprocessing.get_context("fork")
    rng = np.random.default_rng(0)
    t0 = time.monotonic()
    for _ in range(CYCLES):
        proc = context.Process(target=_session, args=(model, folder, out))
        proc.start()
        time.sleep(rng.uniform(0.05, 1.2))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
    # A file written in two parts while the last session runs.
    data = (folder / "scan0.hspy").read_bytes()
    late = folder / "late.hspy"
    last = context.Process(target=_session, args=(model, folder, out))
    last.start()
    with open(late, "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        time.sleep(0.6)
        f.write(data[len(data) // 2 :])
    last.join(timeout=60)
    assert last.exitcode == 1  # some files failed (the bad ones)
    assert time.monotonic() - t0 < 60

    rows = list(csv.DictReader(open(out / "summary.csv", newline="")))
    ok = [Path(r["file"]).name for r in rows if r["status"] == "ok"]
    good = sorted([f"scan{i}.hspy" for i in range(GOOD)] + ["late.hspy"])
    assert sorted(ok) == good  # every good file done, and once
    import hyperspy.api as hs

    for name in good:
        stem = Path(name).stem
        maps = hs.load(out / f"{stem}_abundances.hspy")
        np.testing.assert_allclose(maps.data.sum(axis=0), 1.0, atol=1e-6)
        assert (out / f"{stem}_endmembers.hspy").is_file()
        assert (out / f"{stem}.png").stat().st_size > 1000
    failed = {
        Path(r["file"].split(":")[0]).name: r["message"]
        for r in rows
        if r["status"] == "failed"
    }
    assert {"corrupt.hspy", "image.hspy"} <= set(failed)
    assert all(failed.values())  # with their reason
    assert not list(out.glob(".eels_ae-partial-*"))  # nothing partial
    assert not (out / "corrupt_abundances.hspy").exists()


def test_an_unwritable_output_folder_is_a_clear_error(session_folders, tmp_path):
    model, folder, _ = session_folders
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    from eels_ae.cli import main

    code = main(["apply", str(model), str(folder), "-o", str(blocked / "out"), "-q"])
    assert code == 2
