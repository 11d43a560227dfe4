"""Spectral VAE benchmark: training throughput, peak memory and quality, side by side.

On one synthetic spectrum image whose edge onset shifts along x and whose edge
intensity grows along y (:func:`eels_ae.data.edge_variation_spectrum_image`,
Poisson noise), each method runs in its own process (so that its peak memory
is its own) on the same spectra:

- ``eels_ae.VAE`` (Gaussian likelihood with the estimated noise level, the
  default), on the eager signal and on a lazy (dask) one;
- ``eels_ae.VAE(likelihood="poisson")``;
- HyperSpy PCA (full SVD) and NMF (scikit-learn), 2 components;
- atomai 0.8.1's ``VAE`` with the same latent size, epochs, batch size and
  learning rate, on the data scaled to [0, 1] (atomai's convention), with
  its MSE loss (run from the venv ``benchmarks/_scratch/atomai_venv``, if it
  exists; never a dependency of eels_ae).

Every row gives the fit time, the training throughput (spectra x epochs /
fit time), the peak resident memory of the process and its rise during the
fit, how well the two latents (or loadings) encode the true parameters (R^2
of a quadratic fit of onset and ratio on them), whether the latents are used
(spread of the latent means / mean posterior sd, per latent; < 1 is a
collapsed latent) and the reconstruction's squared error to the clean
spectra relative to the raw data's.

Run:

- ``python benchmarks/vae.py``: 64 x 128 pixels x 128 channels, 50 epochs
  (a few minutes on 2 idle cores);
- ``python benchmarks/vae.py --shape 16 32 --epochs 2`` checks the code path.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ATOMAI_PYTHON = HERE / "_scratch" / "atomai_venv" / "bin" / "python"

#: Method label -> child name.
METHODS = {
    "eels_ae VAE (gaussian, eager)": "vae",
    "eels_ae VAE (gaussian, lazy)": "vae_lazy",
    "eels_ae VAE (poisson)": "vae_poisson",
    "HyperSpy PCA (SVD), 2 comp.": "pca",
    "HyperSpy NMF, 2 comp.": "nmf",
    "atomai 0.8.1 VAE (MSE, [0, 1] data)": "atomai",
}


def _rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------
# Children: one method each, in its own process
# --------------------------------------------------------------------------


def child(name, folder, args):
    """Fit one method on ``folder/data.npz``; write latents/reconstruction/stats."""
    import torch

    torch.set_num_threads(args.threads)
    d = np.load(Path(folder) / "data.npz")
    X = d["X"]
    shape = tuple(d["shape"])
    # Libraries first: the memory "rise in fit" is the fit's own.
    if name == "atomai":
        import atomai.models  # noqa: F401
    else:
        import hyperspy.api  # noqa: F401

        import eels_ae  # noqa: F401
    before = _rss_mib()
    epochs = None
    sd = None
    if name == "atomai":
        z, sd, rec, fit_s = _atomai(X, args, folder)
        epochs = args.epochs
    elif name in ("pca", "nmf"):
        z, rec, fit_s = _hyperspy_decomposition(name, X, shape, args)
    else:
        z, sd, rec, fit_s, epochs = _eels_vae(name, X, shape, args)
    stats = {
        "fit_s": fit_s,
        "epochs": epochs,
        "rss_before_mib": before,
        "peak_rss_mib": _peak_mib(),
        "threads": torch.get_num_threads(),
    }
    np.savez(
        Path(folder) / f"{name}.npz",
        z=z,
        rec=rec,
        sd=np.zeros(0) if sd is None else sd,
    )
    (Path(folder) / f"{name}.json").write_text(json.dumps(stats))


def _signal(X, shape, lazy=False):
    import hyperspy.api as hs

    hs.preferences.General.show_progressbar = False
    s = hs.signals.Signal1D(X.reshape(shape + (-1,)))
    return s.as_lazy() if lazy else s


def _eels_vae(name, X, shape, args):
    import eels_ae

    s = _signal(X, shape, lazy=name == "vae_lazy")
    if name == "vae_lazy":
        s.data = s.data.rechunk((max(1, shape[0] // 4), shape[1], -1))
    model = eels_ae.VAE(
        likelihood="poisson" if name == "vae_poisson" else "gaussian",
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        tol=None,
        device=args.device,
        random_state=0,
        show_progressbar=False,
    )
    t0 = time.perf_counter()
    model.fit(s)
    fit_s = time.perf_counter() - t0
    z, sd = model.transform(s, return_std=True)
    rec = np.asarray(model.reconstruct(s))
    return z, sd, rec, fit_s, model.n_epochs_


def _hyperspy_decomposition(name, X, shape, args):
    s = _signal(X.astype(np.float64), shape)
    kw = {"algorithm": "SVD", "svd_solver": "full"} if name == "pca" else {}
    if name == "nmf":
        kw = {"algorithm": "NMF", "random_state": 0, "max_iter": 500}
    t0 = time.perf_counter()
    s.decomposition(output_dimension=2, print_info=False, **kw)
    fit_s = time.perf_counter() - t0
    z = s.learning_results.loadings[:, :2]
    rec = s.get_decomposition_model(2).data.reshape(X.shape)
    return z, rec, fit_s


def _atomai(X, args, folder):
    import torch
    from atomai.models import VAE

    top = float(X.max())
    Xs = (X / top).astype(np.float32)  # atomai's convention: data in [0, 1]
    model = VAE(in_dim=(X.shape[1],), latent_dim=2, seed=0)
    cwd = os.getcwd()
    os.chdir(folder)  # atomai saves the model to ./model.tar every epoch
    try:
        t0 = time.perf_counter()
        model.fit(
            Xs,
            training_cycles=args.epochs,
            batch_size=args.batch_size,
            optimizer=lambda p: torch.optim.Adam(p, lr=args.learning_rate),
        )
        fit_s = time.perf_counter() - t0
    finally:
        os.chdir(cwd)
    z, z_logsd = model.encode(Xs)
    rec = model.decode(z) * top
    return z, np.exp(z_logsd), np.asarray(rec).reshape(X.shape), fit_s


# --------------------------------------------------------------------------
# Parent: data, children, scores, tables
# --------------------------------------------------------------------------


def run_child(name, folder, args):
    python = str(ATOMAI_PYTHON) if name == "atomai" else sys.executable
    cmd = [python, __file__, "--child", name, "--folder", folder]
    cmd += ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    cmd += ["--learning-rate", str(args.learning_rate)]
    cmd += ["--threads", str(args.threads), "--device", args.device]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode:
        print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
        raise RuntimeError(f"{name} failed (exit {proc.returncode})")
    stats = json.loads((Path(folder) / f"{name}.json").read_text())
    stats["wall_s"] = wall
    out = np.load(Path(folder) / f"{name}.npz")
    return stats, out["z"], out["sd"], out["rec"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", type=int, nargs=2, default=(64, 128))
    p.add_argument("--channels", type=int, default=128)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads of every child (1: a tiny MLP gains nothing "
        "from more, and a shared CPU makes 2 threads much slower)",
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--methods", nargs="*", default=list(METHODS.values()))
    p.add_argument("--name", default="vae", help="results/<name>.json/.md")
    p.add_argument(
        "--render",
        action="store_true",
        help="only rewrite results/<name>.md from results/<name>.json",
    )
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args.child, args.folder, args)

    sys.path.insert(0, str(HERE))
    import warnings

    if args.render:
        from _common import RESULTS, machine_markdown, write_results

        payload = json.loads((RESULTS / f"{args.name}.json").read_text())
        md = markdown(payload)
        info = payload["machine"]
        write_results(
            args.name, payload, md + "\n## Machine\n\n" + machine_markdown(info)
        )
        return print(md)

    warnings.filterwarnings("ignore")
    from _common import machine_info, machine_markdown, write_results

    import eels_ae
    from eels_ae.metrics import latent_r2

    ny, nx = args.shape
    d = eels_ae.data.edge_variation_spectrum_image(
        shape=(ny, nx), n_channels=args.channels, random_state=0
    )
    X = d.signal.data.reshape(-1, args.channels)
    clean = d.clean.data.reshape(X.shape)
    onset, ratio = d.onset.data.ravel(), d.ratio.data.ravel()
    noise_mse = float(np.mean((X - clean) ** 2))
    load = [os.getloadavg()[0]]
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        np.savez(Path(folder) / "data.npz", X=X, shape=np.array([ny, nx]))
        for label, name in METHODS.items():
            if name not in args.methods:
                continue
            if name == "atomai" and not ATOMAI_PYTHON.exists():
                print(f"skipped {label}: no venv at {ATOMAI_PYTHON.parent.parent}")
                continue
            print(f"running {label} ...", flush=True)
            stats, z, sd, rec = run_child(name, folder, args)
            n_fit = len(X) * (stats["epochs"] or 1)
            row = dict(
                stats,
                spectra_per_s=n_fit / stats["fit_s"] if stats["epochs"] else None,
                r2_onset=latent_r2(z, onset),
                r2_ratio=latent_r2(z, ratio),
                spread=(z.std(0) / sd.mean(0)).tolist() if sd.size else None,
                mse_to_clean_ratio=float(np.mean((rec - clean) ** 2)) / noise_mse,
                latent_mean_std=z.std(0).tolist(),
                mean_posterior_sd=sd.mean(0).tolist() if sd.size else None,
            )
            row["peak_rise_mib"] = row["peak_rss_mib"] - row["rss_before_mib"]
            rows[label] = row
            print(json.dumps({k: _short(v) for k, v in row.items()}), flush=True)
    load.append(os.getloadavg()[0])

    info = machine_info()
    info["torch_threads"] = args.threads
    payload = {
        "machine": info,
        "data": {
            "shape": [ny, nx],
            "channels": args.channels,
            "spectra": len(X),
            "raw_mse_to_clean": noise_mse,
        },
        "settings": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "device": args.device,
            "threads": args.threads,
        },
        "load_average_1min": load,
        "results": rows,
        "command": " ".join(["python benchmarks/vae.py", *(argv or sys.argv[1:])]),
    }
    md = markdown(payload)
    path = write_results(
        args.name, payload, md + "\n## Machine\n\n" + machine_markdown(info)
    )
    print(md)
    print(f"written {path}")


def _short(v):
    if isinstance(v, float):
        return round(v, 4)
    if isinstance(v, list):
        return [round(x, 4) for x in v]
    return v


def markdown(payload):
    d, st, rows = payload["data"], payload["settings"], payload["results"]
    lines = [
        "# Spectral VAE: throughput, memory and quality",
        "",
        f"{d['shape'][0]} x {d['shape'][1]} = {d['spectra']} spectra x "
        f"{d['channels']} channels (`edge_variation_spectrum_image`, Poisson "
        f"noise; onset shifts 5 eV along x, edge ratio 0.3-1.5 along y); "
        f"{st['epochs']} epochs, batch {st['batch_size']}, Adam "
        f"{st['learning_rate']:g}, `tol=None`; device {st['device']}, "
        f"{st['threads']} torch thread(s) per process; 1-min load average "
        f"{payload['load_average_1min'][0]:.1f} at start, "
        f"{payload['load_average_1min'][1]:.1f} at end "
        f"({'shared' if max(payload['load_average_1min']) > 1.5 else 'idle'} "
        "machine).",
        "",
        "| method | fit (s) | spectra/s (training) | peak RSS (MiB) | rise in fit "
        "(MiB) | R² onset | R² ratio | latent spread (sd of means / posterior "
        "sd) | MSE to clean / raw |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in rows.items():
        sps = f"{r['spectra_per_s']:.0f}" if r["spectra_per_s"] else "-"
        spread = ", ".join(f"{v:.3g}" for v in r["spread"]) if r["spread"] else "-"
        lines.append(
            f"| {label} | {r['fit_s']:.1f} | {sps} | {r['peak_rss_mib']:.0f} | "
            f"{r['peak_rise_mib']:.0f} | {r['r2_onset']:.3f} | {r['r2_ratio']:.3f} "
            f"| {spread} | {r['mse_to_clean_ratio']:.3f} |"
        )
    lines += ["", *ratios(rows), ""]
    lines += [
        "- **spectra/s**: spectra x epochs / fit time (setup included). PCA and NMF "
        "are not trained by epochs: compare their fit time.",
        "- **peak RSS**: the child process's peak resident memory (imports "
        "included); **rise in fit**: peak minus the resident memory before "
        "fitting.",
        "- **R²**: of a quadratic fit of the true onset / edge ratio on the two "
        "latent means (loadings for PCA/NMF): 1 is a perfect encoding.",
        "- **latent spread**: per latent, the sd across pixels of the posterior "
        "means divided by the mean posterior sd. Below 1: the latent collapsed "
        "onto the prior (it carries nothing).",
        "- **MSE to clean / raw**: squared error of the reconstruction to the "
        "noise-free spectra, relative to that of the raw data (< 1: denoised).",
        "- R² does not see scale: latents that collapsed onto the prior but whose "
        "means still vary by ~1e-3 can correlate with a factor; the latent spread "
        "and the reconstruction error show whether they carry it.",
        "- atomai's fit time includes its own saving of the model after every "
        "epoch (it has no option to turn that off).",
        "",
        f"Command: `{payload['command']}`",
    ]
    return "\n".join(lines) + "\n"


def ratios(rows):
    """How eels_ae compares: fit-time ratios printed under the table."""
    out = []
    ours = rows.get("eels_ae VAE (gaussian, eager)")
    if ours is None:
        return out
    for label, r in rows.items():
        if r is ours:
            continue
        out.append(
            f"- {label}: fit time {r['fit_s'] / ours['fit_s']:.2g}x that of the "
            f"eels_ae VAE; peak RSS {r['peak_rss_mib'] / ours['peak_rss_mib']:.2g}x."
        )
    return out


if __name__ == "__main__":
    main()
