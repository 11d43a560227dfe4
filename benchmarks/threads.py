"""Two training processes on one machine: PyTorch's threads with and without
eels_ae's :class:`~eels_ae.training.threads.ThreadGovernor`.

Each process trains the default :class:`eels_ae.DenoisingAE` for a fixed
number of epochs on a 48 x 48 x 240 low-dose image and reports its training
time. Three cases, in one run, side by side:

- one process alone (the reference), with and without the governor;
- two processes at once with the governor off (PyTorch's default threads);
- two processes at once with the governor on (the default).

Run on an otherwise idle machine: ``python benchmarks/threads.py``. Results go
to ``benchmarks/results/threads.{md,json}``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine_info, machine_markdown, write_results  # noqa: E402

CHILD = """
import sys, time, warnings
warnings.filterwarnings("ignore")
import eels_ae
from eels_ae.training import threads
threads.ADAPT_THREADS = sys.argv[1] == "on"
from eels_ae.data import lowdose_spectrum_image
s = lowdose_spectrum_image(shape=(48, 48), random_state=0).signal
t = time.perf_counter()
eels_ae.DenoisingAE(max_epochs=int(sys.argv[2]), random_state=0,
                    show_progressbar=False).fit(s)
print(time.perf_counter() - t)
"""


def run(n, governor, epochs):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, governor, str(epochs)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    return [float(p.communicate()[0].strip().splitlines()[-1]) for p in procs]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=8)
    args = ap.parse_args()
    cases = [
        ("one process alone", 1, "on"),
        ("one process alone, governor off", 1, "off"),
        ("two at once, PyTorch default threads", 2, "off"),
        ("two at once, governor", 2, "on"),
    ]
    rows = []
    for name, n, gov in cases:
        times = run(n, gov, args.epochs)
        rows.append(dict(case=name, processes=n, governor=gov, times_s=times))
        print(name, [f"{t:.1f}" for t in times], flush=True)
    alone = rows[0]["times_s"][0]
    lines = [
        "# Two training processes on one machine",
        "",
        f"Each process: `DenoisingAE` defaults, {args.epochs} epochs on a 48 x 48 x "
        "240 low-dose image. The machine was otherwise idle. Slowdown: the "
        "slower of the processes relative to one process alone.",
        "",
        "| case | training time per process (s) | slowdown |",
        "|---|---|---|",
    ]
    for r in rows:
        t = ", ".join(f"{v:.1f}" for v in r["times_s"])
        lines.append(f"| {r['case']} | {t} | {max(r['times_s']) / alone:.2f}x |")
    info = machine_info()
    lines += ["", machine_markdown(info), ""]
    write_results("threads", {"machine": info, "rows": rows}, "\n".join(lines))


if __name__ == "__main__":
    main()
