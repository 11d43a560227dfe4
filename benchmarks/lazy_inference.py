"""Lazy inference of the whole-image models: eager vs lazy in one process vs
a 2-worker ``dask.distributed`` cluster, and whether they agree.

The two models whose results summarise a whole image: the drift-aware
unmixing (three passes over the chunks: two measure each pixel's shift, the
shift map smoothed over the image in the client in between, one unmixes the
aligned spectra) and the VAE (latent, error and mean maps in one pass).
DAEU abundances (one pass, FCLS per spectrum) are the reference of a
per-spectrum model. Data: a synthetic K-edge chequerboard of 128 x 128
pixels x 400 channels with a 1.5 eV drift along x (``random_state=3``),
chunks of 32 x 32 pixels; each model trained on a 48 x 48 scan of another
seed. Times are ``s.apply_model(model)`` / ``s.vae(model=model)`` wall
time, best of 3; the cluster (2 worker processes, 1 thread each) is started
before timing. Agreement: the largest difference from the eager result.

Run: ``python benchmarks/lazy_inference.py`` (a few minutes on 2 cores,
nothing else running). Results: ``benchmarks/results/lazy_inference.{md,json}``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    best_of,
    doc_body,
    machine_info,
    machine_section,
    write_results,
)

warnings.filterwarnings("ignore")

SHAPE = (128, 128)
CHUNKS = (32, 32, -1)


def _data(shape, seed):
    import eels_ae

    return eels_ae.data.chequerboard_spectrum_image(
        "k", shape=shape, block=8, dose=2e4, random_state=seed, shift=1.5
    ).signal


def models():
    train = _data((48, 48), 11)
    out = {}
    for name, kw in (
        ("drift_aware", {}),
        ("daeu", {"show_progressbar": False}),
    ):
        s = train.deepcopy()
        s.decomposition(
            algorithm=name, output_dimension=4, random_state=0, print_info=False, **kw
        )
        out[name] = s.learning_results.decomposition_algorithm
    out["vae"] = train.vae(max_epochs=60, random_state=0, device="cpu").model
    return out


def run(model_name, model, signal):
    """The result arrays of applying ``model`` to ``signal``."""
    s = signal.deepcopy() if not signal._lazy else signal
    if model_name == "vae":
        r = s.vae(model=model)
        return [r.latent.data, r.mse.data]
    s.apply_model(model)
    out = [np.asarray(s.learning_results.loadings)]
    if model_name == "drift_aware":
        out.append(s.learning_results.energy_shift.data)
    return out


def main():
    import dask
    from distributed import Client, LocalCluster

    info = machine_info()
    data = _data(SHAPE, 3)
    trained = models()

    def lazy():
        s = data.as_lazy()
        s.data = s.data.rechunk(CHUNKS)
        return s

    rows = []
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    )
    client = Client(cluster, set_as_default=False)
    try:
        for name, model in trained.items():
            t_eager, eager = best_of(lambda m=model, n=name: run(n, m, data), 3)
            with dask.config.set(scheduler="synchronous"):
                t_sync, sync = best_of(lambda m=model, n=name: run(n, m, lazy()), 3)
            with client.as_current(), dask.config.set(scheduler=client):
                run(name, model, lazy())  # the workers build the model once
                t_clu, clu = best_of(lambda m=model, n=name: run(n, m, lazy()), 3)
            for how, t, res in (
                ("eager", t_eager, eager),
                ("lazy, one process", t_sync, sync),
                ("lazy, 2-worker cluster", t_clu, clu),
            ):
                diff = max(
                    float(np.max(np.abs(a - b)))
                    for a, b in zip(res, eager, strict=True)
                )
                rows.append(
                    dict(model=name, how=how, seconds=t, max_diff_from_eager=diff)
                )
                print(rows[-1], flush=True)
    finally:
        client.close()
        cluster.close()
    render({"machine": info, "rows": rows})


def render(payload):
    rows = payload["rows"]
    table = [
        "| model | how | time (s) | vs eager | largest difference from eager |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        base = next(x for x in rows if x["model"] == r["model"] and x["how"] == "eager")
        table.append(
            f"| {r['model']} | {r['how']} | {r['seconds']:.2f} | "
            f"{r['seconds'] / base['seconds']:.2f}x | {r['max_diff_from_eager']:.1e} |"
        )
    md = [
        "# Lazy inference of the whole-image models: eager, lazy, cluster",
        "",
        doc_body(__doc__),
        "",
        *table,
        "",
        *machine_section(payload["machine"]),
    ]
    path = write_results("lazy_inference", payload, "\n".join(md) + "\n")
    print(path.read_text())


if __name__ == "__main__":
    main()
