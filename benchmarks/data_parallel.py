"""Data-parallel training (torchrun, DDP on gloo) with 2 CPU processes vs 1.

DAEU (3 components, 100 epochs without early stopping, seed 0) on a 48 x 48
synthetic M/L chequerboard image (dose 1e4), through
``eels_ae.training.ddp_check``: time per epoch of the main training, whole
fit time, final (best) epoch loss and the quality against the truth (SAD in
degrees, abundance NMSE). Under torchrun each process trains on its share of
the spectra (5 and 4 of 9 blocks) and the epoch loss is summed over both.

On this 2-core machine the two processes share the cores that one process
uses with 2 threads, so no speed-up is expected here: the figure to read is
that the per-epoch cost does not grow and the quality holds; on several
machines or GPUs each process brings its own cores.

Run: ``python benchmarks/data_parallel.py`` (about 2 minutes, nothing else
running). Results: ``benchmarks/results/data_parallel.{md,json}``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import doc_body, machine_info, machine_section, write_results  # noqa: E402

EPOCHS = 100


def main():
    from eels_ae.training.ddp_check import compare

    info = machine_info()
    with tempfile.TemporaryDirectory() as tmp:
        alone, ranks = compare(tmp, max_epochs=EPOCHS)
    rows = [("1 process (2 threads)", alone), ("2 processes, DDP (gloo)", ranks[0])]
    table = [
        "| run | samples per epoch and process | s / epoch | fit (s) | best loss "
        "| SAD (deg) | NMSE |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in rows:
        shares = (
            str(r["samples_per_epoch"])
            if r is alone
            else " + ".join(str(x["samples_per_epoch"]) for x in ranks)
        )
        table.append(
            f"| {label} | {shares} | {r['seconds_per_epoch']:.4f} | "
            f"{r['fit_seconds']:.1f} | {r['best_loss']:.5f} | {r['sad']:.2f} | "
            f"{r['nmse']:.3f} |"
        )
    ratio = ranks[0]["seconds_per_epoch"] / alone["seconds_per_epoch"]
    same = ranks[0]["components_sha"] == ranks[1]["components_sha"]
    md = [
        "# Data-parallel training: 2 CPU processes vs 1",
        "",
        doc_body(__doc__),
        "",
        "Timings were taken with nothing else running on the machine.",
        "",
        *table,
        "",
        f"Time per epoch, 2 processes / 1: {ratio:.2f}. Both processes hold "
        f"the same endmembers: {same}.",
        "",
        *machine_section(info),
    ]
    payload = {"machine": info, "alone": alone, "ranks": ranks}
    print(write_results("data_parallel", payload, "\n".join(md) + "\n"))


if __name__ == "__main__":
    main()
