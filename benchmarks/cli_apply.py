"""``eels-ae apply`` over a folder of 50 files: one process vs a 2-worker
``dask.distributed`` cluster; and the training panel's overhead.

Files: 50 spectrum images of 32 x 32 pixels x 1024 channels (4 MiB of
float32 each, the size of a small dm4 acquisition), written as ``.hspy``:
spectra of the bundled STO / LSMO image, tiled and given fresh Poisson noise
per file (so a model trained on the real file applies). Models: N-FINDR (2
components; FCLS in numpy) and the denoising autoencoder (PyTorch, 2 epochs:
the network's inference cost does not depend on how long it trained), each
trained with ``eels-ae train`` on the real file. Throughput is files per
second of the whole command (start-up, reading, inference, writing the
``.hspy`` results and PNGs), best of 2 runs.

Panel overhead: the VAE (latent_dim 2, up to 150 epochs, seed 0) on the
real image, through ``s.eels_ae_gui(display=False)`` (Start, wait) vs the
plain ``s.vae`` call, 3 alternating repeats each (``--panel-only`` re-runs
this part alone into the stored results).

Run: ``python benchmarks/cli_apply.py`` (about 10 minutes on 2 cores, nothing
else running). Results: ``benchmarks/results/cli_apply.{md,json}``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import doc_body, machine_info, machine_section, write_results  # noqa: E402

warnings.filterwarnings("ignore")

N_FILES = 50
SHAPE = (32, 32)


def _command():
    return shutil.which("eels-ae", path=str(Path(sys.executable).parent))


def make_files(folder: Path):
    import hyperspy.api as hs

    from eels_ae.data.examples import example_path

    s = hs.load(example_path("DMReader_SpectrumImage_SI-EELS.dm3"))
    spectra = s.data.reshape(-1, s.data.shape[-1])
    rng = np.random.default_rng(0)
    n = SHAPE[0] * SHAPE[1]
    for i in range(N_FILES):
        rows = rng.integers(0, len(spectra), n)
        data = rng.poisson(np.clip(spectra[rows], 0, None)).astype(np.float32)
        out = hs.signals.Signal1D(data.reshape(*SHAPE, -1))
        axis = out.axes_manager.signal_axes[0]
        src = s.axes_manager.signal_axes[0]
        axis.offset, axis.scale, axis.units = src.offset, src.scale, src.units
        axis.name, axis.is_binned = src.name, True
        out.set_signal_type("EELS")
        out.save(folder / f"acq{i:02d}.hspy", overwrite=True)


def timed(args):
    t0 = time.perf_counter()
    r = subprocess.run([_command(), *map(str, args)], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    return dt


def panel_overhead(repeats=3):
    """Seconds of the plain call and of the panel (median of ``repeats``),
    VAE (latent_dim 2, up to 150 epochs, seed 0) on the real image; the same
    seed stops both at the same epoch."""
    from eels_ae.data.examples import load_example

    plain_t, panel_t = [], []
    for _ in range(repeats):
        s = load_example()
        t0 = time.perf_counter()
        s.vae(latent_dim=2, max_epochs=150, random_state=0, show_progressbar=False)
        plain_t.append(time.perf_counter() - t0)
        s = load_example()
        p = s.eels_ae_gui(display=False)["ipywidgets"]
        p["algorithm"].value = "vae"
        p["params"]["latent_dim"].value = 2
        p["params"]["max_epochs"].value = 150
        p["params"]["random_state"].value = 0
        t0 = time.perf_counter()
        p["start"].click()
        p["wait"]()
        panel_t.append(time.perf_counter() - t0)
        assert p["status"].value == "done", p["status"].value
    return float(np.median(plain_t)), float(np.median(panel_t)), len(p["losses"])


def panel_only():
    """Re-measure the panel's overhead into the stored results."""
    import json

    import eels_ae  # noqa: F401

    stored = Path(__file__).resolve().parent / "results" / "cli_apply.json"
    payload = json.loads(stored.read_text())
    plain, panel, epochs = panel_overhead()
    payload["panel"] = {"plain_s": plain, "panel_s": panel, "epochs": epochs}
    render(payload)


def main():
    import eels_ae  # noqa: F401
    from eels_ae.data.examples import example_path

    info = machine_info()
    real = example_path("DMReader_SpectrumImage_SI-EELS.dm3")
    work = Path(tempfile.mkdtemp(prefix="eels_ae_cli_bench_"))
    rows = []
    try:
        folder = work / "in"
        folder.mkdir()
        make_files(folder)
        models = {
            "nfindr": ["-a", "nfindr", "-n", "2"],
            "denoise_ae": ["-a", "denoise_ae", "-p", "max_epochs=2"],
        }
        for name, extra in models.items():
            model = work / f"{name}.safetensors"
            timed(["train", real, *extra, "-o", model, "-q"])
            for label, opts in (
                ("1 process", []),
                ("2-worker dask cluster", ["--workers", "2"]),
            ):
                best = min(
                    timed(
                        [
                            "apply",
                            model,
                            folder,
                            "-o",
                            work / f"out_{name}_{k}",
                            "-q",
                            *opts,
                        ]
                    )
                    for k in range(2)
                )
                rows.append(
                    dict(
                        model=name, how=label, seconds=best, files_per_s=N_FILES / best
                    )
                )
                print(rows[-1], flush=True)
        plain, panel, epochs = panel_overhead()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    render(
        {
            "machine": info,
            "apply": rows,
            "panel": {"plain_s": plain, "panel_s": panel, "epochs": epochs},
        }
    )


def render(payload):
    rows, pan = payload["apply"], payload["panel"]
    table = [
        "| model | how | time for 50 files (s) | files / s | ratio |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        base = next(
            x for x in rows if x["model"] == r["model"] and x["how"] == "1 process"
        )
        table.append(
            f"| {r['model']} | {r['how']} | {r['seconds']:.1f} | "
            f"{r['files_per_s']:.2f} | {r['files_per_s'] / base['files_per_s']:.2f}x |"
        )
    md = [
        "# eels-ae apply: one process vs a dask cluster; the panel's overhead",
        "",
        doc_body(__doc__),
        "",
        "Timings were taken with nothing else running on the machine.",
        "",
        *table,
        "",
        f"Training panel vs plain call (VAE, {pan.get('epochs', '?')} epochs, "
        f"median of 3): plain {pan['plain_s']:.2f} s, panel {pan['panel_s']:.2f} s, "
        f"ratio {pan['panel_s'] / pan['plain_s']:.3f}.",
        "",
        *machine_section(payload["machine"]),
    ]
    print(write_results("cli_apply", payload, "\n".join(md) + "\n"))


if __name__ == "__main__":
    if "--panel-only" in sys.argv:
        panel_only()
    else:
        main()
