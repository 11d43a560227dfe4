"""The installed ``eels-ae`` command, run in subprocesses on the real files."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import hyperspy.api as hs
import numpy as np
import pytest

import eels_ae
from eels_ae.data.examples import example_path

DM3 = Path(example_path("DMReader_SpectrumImage_SI-EELS.dm3"))
DM4 = Path(example_path("EELS_SI.dm4"))


def _command():
    exe = shutil.which("eels-ae", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("the eels-ae console script is not installed beside Python")
    return exe


def run(*args, timeout=300):
    return subprocess.run(
        [_command(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def nfindr_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "session.safetensors"
    r = run("train", DM3, "-a", "nfindr", "-n", "2", "-o", out)
    assert r.returncode == 0, r.stderr
    return out


def test_help_and_list_come_from_the_registry(capsys):
    r = run("--help")  # the installed command
    assert r.returncode == 0
    assert "examples:" in r.stdout and "exit codes" in r.stdout
    from eels_ae.cli import main

    assert main(["list"]) == 0  # in this process: a new interpreter costs ~5 s
    listed = capsys.readouterr().out
    for name in eels_ae.registry.REGISTRY:
        assert name in listed


def test_train_writes_model_figure_summary_and_info_reads_it(nfindr_model):
    assert nfindr_model.with_suffix(".png").stat().st_size > 1000
    summary = json.loads(nfindr_model.with_suffix(".json").read_text())
    assert summary["algorithm"] == "nfindr" and summary["channels"] == 1024
    info = run("info", nfindr_model)
    assert info.returncode == 0
    assert "NFINDR" in info.stdout and "nfindr (unmixing" in info.stdout
    assert "350-861.5 eV, 1024 channels" in info.stdout
    doc = json.loads(run("info", nfindr_model, "--json").stdout)
    assert doc["params"]["n_components"] == 2
    assert len(doc["checksum"]) == 64
    # The model is the one Python trains with the same call.
    s = hs.load(DM3)
    s.decomposition(algorithm="nfindr", output_dimension=2, random_state=0)
    loaded = eels_ae.load_model(nfindr_model)
    np.testing.assert_allclose(
        loaded.components_, s.learning_results.factors.T, rtol=1e-5
    )


def test_apply_a_batch_a_bad_file_does_not_stop_it_or_leave_output(
    nfindr_model, tmp_path
):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(DM3, inputs / "a.dm3")
    shutil.copy(DM4, inputs / "b.dm4")  # another energy axis: strict fails
    (inputs / "c.dm4").write_bytes(b"not a DigitalMicrograph file" * 100)
    out = tmp_path / "out"
    r = run("apply", nfindr_model, inputs, "-o", out, "-q")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "energy axis" in r.stderr and "c.dm4" in r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "a.png",
        "a_abundances.hspy",
        "a_endmembers.hspy",
        "summary.csv",
    ]
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert [r["status"] for r in rows] == ["ok", "failed", "failed"]
    # The saved abundances are those of apply_model in Python, calibrated.
    maps = hs.load(out / "a_abundances.hspy")
    s = hs.load(DM3)
    eels_ae.apply_model(s, eels_ae.load_model(nfindr_model))
    expected = s.get_decomposition_loadings()
    np.testing.assert_allclose(maps.data, expected.data, rtol=1e-5, atol=1e-6)
    x = maps.axes_manager.signal_axes[0]
    assert x.scale == s.axes_manager.navigation_axes[0].scale
    # With --energy-axis resample the dm4 is interpolated onto the model's axis.
    r = run(
        "apply",
        nfindr_model,
        inputs / "b.dm4",
        "-o",
        out,
        "--energy-axis",
        "resample",
        "-q",
    )
    assert r.returncode == 0, r.stderr
    assert "interpolat" in r.stdout
    # The endmembers on the file's own axis: the model's range, NaN outside.
    factors = hs.load(out / "b_endmembers.hspy")
    energy = factors.axes_manager.signal_axes[0].axis
    inside = (energy >= 350.0) & (energy <= 861.5)
    assert np.isfinite(factors.data[:, inside]).all()
    assert np.isnan(factors.data[:, ~inside]).all()
    assert hs.load(out / "b_abundances.hspy").data.shape[0] == 2


def test_exit_codes_say_what_failed(nfindr_model, tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(nfindr_model.read_bytes()[:-50])
    r = run("apply", bad, DM3, "-o", tmp_path / "o")  # the installed command
    assert r.returncode == 3 and "model" in r.stderr.lower()
    # The same entry point in this process (faster than a new interpreter).
    from eels_ae.cli import main

    def code(*args):
        return main([str(a) for a in args]), capsys.readouterr().err

    out = tmp_path / "m.safetensors"
    c, err = code("train", DM3, "-a", "nosuch", "-n", "2")
    assert c == 2 and "daeu" in err
    c, err = code("train", DM3, "-a", "vca", "-n", "2", "-p", "max_iters=3", "-o", out)
    assert c == 2 and "Valid VCA parameters" in err
    c, err = code("train", tmp_path / "missing.dm4", "-a", "vca", "-n", "2", "-o", out)
    assert c == 4 and "no such file" in err
    c, err = code("train", DM3, "-a", "vca", "-o", out)
    assert c == 2 and "--n-components" in err
    c, err = code("train", DM3, "-a", "nfindr", "-n", "5000", "-o", out)
    assert c == 5 and "5000" in err  # training failed on the data
    assert not out.exists()


def test_watch_waits_for_complete_files(nfindr_model, tmp_path):
    folder = tmp_path / "session"
    folder.mkdir()
    out = tmp_path / "results"
    proc = subprocess.Popen(
        [
            _command(),
            "apply",
            str(nfindr_model),
            "--watch",
            str(folder),
            "-o",
            str(out),
            "--settle",
            "1.5",
            "--poll",
            "0.2",
            "--idle-timeout",
            "6",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        data = DM3.read_bytes()
        # An acquisition being written: half now, the rest later.
        target = folder / "acq1.dm3"
        with open(target, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            time.sleep(1.0)
            f.write(data[len(data) // 2 :])
        time.sleep(1.0)
        shutil.copy(DM3, folder / "acq2.dm3")
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, stdout + stderr
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert [Path(r["file"]).name for r in rows] == ["acq1.dm3", "acq2.dm3"]
    assert all(r["status"] == "ok" for r in rows)
    a = hs.load(out / "acq1_abundances.hspy").data
    b = hs.load(out / "acq2_abundances.hspy").data
    np.testing.assert_array_equal(a, b)


def test_train_and_apply_a_network_on_the_cpu(tmp_path):
    model = tmp_path / "daeu.safetensors"
    r = run(
        "train",
        DM3,
        "-a",
        "daeu",
        "-n",
        "2",
        "--device",
        "cpu",
        "-p",
        "max_epochs=15",
        "-o",
        model,
        "-q",
    )
    assert r.returncode == 0, r.stderr
    info = json.loads(run("info", model, "--json").stdout)
    assert info["class"].endswith("DAEU") and info["params"]["max_epochs"] == 15
    r = run("apply", model, DM3, "-o", tmp_path / "out", "--lazy", "-q")
    assert r.returncode == 0, r.stderr
    # A dependency's notes on HyperSpy's import paths are not the user's.
    assert "deprecated" not in r.stderr
    maps = hs.load(tmp_path / "out" / "DMReader_SpectrumImage_SI-EELS_abundances.hspy")
    assert np.allclose(maps.data.sum(axis=0), 1.0, atol=1e-3)


def test_apply_on_a_two_worker_cluster_equals_one_process(nfindr_model, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("x1.dm3", "x2.dm3", "x3.dm3"):
        shutil.copy(DM3, inputs / name)
    one, two = tmp_path / "one", tmp_path / "two"
    assert run("apply", nfindr_model, inputs, "-o", one, "-q").returncode == 0
    r = run("apply", nfindr_model, inputs, "-o", two, "--workers", "2", "-q")
    assert r.returncode == 0, r.stderr
    for name in ("x1", "x2", "x3"):
        a = hs.load(one / f"{name}_abundances.hspy").data
        b = hs.load(two / f"{name}_abundances.hspy").data
        np.testing.assert_array_equal(a, b)
    rows = list(csv.DictReader(open(two / "summary.csv")))
    assert sorted(Path(r["file"]).name for r in rows) == ["x1.dm3", "x2.dm3", "x3.dm3"]


def test_a_drift_aware_model_writes_the_shift_map_of_each_scan(tmp_path, capsys):
    from eels_ae.cli import main

    model = tmp_path / "drift.safetensors"
    args = ["train", DM3, "-a", "drift_aware", "-n", "2", "-p", "n_iter=2"]
    assert main([str(a) for a in [*args, "-o", model, "-q"]]) == 0
    out = tmp_path / "out"
    assert main([str(a) for a in ["apply", model, DM3, "-o", out, "--lazy", "-q"]]) == 0
    shift = hs.load(out / "DMReader_SpectrumImage_SI-EELS_energy_shift.hspy")
    s = hs.load(DM3)
    s.apply_model(eels_ae.load_model(model))
    expected = s.learning_results.energy_shift
    assert shift.axes_manager.navigation_shape == ()
    assert shift.data.shape == expected.data.shape == (49, 6)
    np.testing.assert_allclose(shift.data, expected.data, atol=1e-6)
    assert "eV" in shift.metadata.General.title


def test_result_figures_have_calibrated_axes_and_profiles_on_line_scans():
    from matplotlib.figure import Figure

    from eels_ae.hyperspy_glue.result_figures import draw_result

    s = hs.load(DM3)
    s.decomposition(algorithm="vca", output_dimension=2, print_info=False)
    fig = Figure()
    draw_result(fig, "unmixing", s, None)
    maps = fig.axes[1]  # the first abundance map (after the endmembers)
    assert maps.get_xlabel() == "x" and maps.get_ylabel() == "y"
    line = s.inav[2]
    line.decomposition(algorithm="vca", output_dimension=2, print_info=False)
    fig = Figure()
    draw_result(fig, "unmixing", line, None)
    endmembers, profiles = fig.axes
    assert len(profiles.lines) == 2  # one profile per abundance, not 1-px images
    assert len(profiles.lines[0].get_xdata()) == 49
    assert profiles.get_xlabel() == "y"


def test_compare_prints_the_pick_and_writes_its_evidence(tmp_path):
    out = tmp_path / "which.json"
    r = run(
        "compare", DM3, "-n", "2", "--algorithms", "vca,nfindr", "-q", "-o", out,
        "--background-range", "370", "450",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["recommended"] in ("vca", "nfindr")
    assert doc["background_range"] == [370.0, 450.0]
    assert {c["name"] for c in doc["candidates"]} == {"vca", "nfindr"}
    assert all(c["heldout_score"] > 0 for c in doc["candidates"])
    assert f"recommended: {doc['recommended']}" in r.stdout
    assert (tmp_path / "which.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # An existing summary is kept unless --overwrite; a name that is not an
    # unmixing one is a usage error listing the names.
    r = run("compare", DM3, "-n", "2", "-o", out)
    assert r.returncode == 2 and "--overwrite" in r.stderr
    r = run("compare", DM3, "-n", "2", "--algorithms", "nmf", "-o", out, "--overwrite")
    assert r.returncode == 2 and "not eels_ae unmixing names" in r.stderr
    assert "deprecated" not in r.stderr
