"""estimate_n_components on images made like real ones.

Generated spectrum images with a known number of phases and what real
acquisitions add: power-law backgrounds that dominate the counts, a
thickness ramp, a smooth energy drift, low dose, and X-ray spikes (a few
single-channel counts 50x the spectrum's largest channel in 0.5 % of the
pixels). Kinds: :func:`eels_ae.data.oxide_scene` (3 oxides, two edge sets,
layers or grains), :func:`eels_ae.data.chequerboard_spectrum_image` (3 M/L
or 4 K endmembers) and :func:`eels_ae.data.thickness_line_scan` (2 metals,
a line scan of 64 pixels). Scored: the estimate right, the reported range
(``n_range``) containing the truth, and a confident wrong number (a single
number, ``n_range[0] == n_range[1]``, that is wrong). 2 seeds per case.

Run: ``python benchmarks/n_components_realistic.py`` (about a minute).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import doc_body, machine_info, machine_section, write_results  # noqa: E402

warnings.filterwarnings("ignore")


def _spiked(data, rng, fraction=0.005):
    data = np.array(data, dtype=np.float32)
    flat = data.reshape(-1, data.shape[-1])
    n = max(1, int(fraction * len(flat)))
    rows = rng.choice(len(flat), n, replace=False)
    cols = rng.integers(0, flat.shape[1], n)
    flat[rows, cols] += 50 * flat.max(axis=1)[rows]
    return data


def cases():
    import eels_ae

    d = eels_ae.data
    for seed in (0, 1):
        for edges, maps in (("TiMnFe", "layers"), ("CrCoNi", "grains")):
            for dose, drift, thick in ((1000, 0, (0.6, 1.4)), (200, 1.5, (0.6, 1.4))):
                syn = d.oxide_scene(
                    edges,
                    maps,
                    dose=dose,
                    drift=drift,
                    thickness=thick,
                    random_state=seed,
                )
                label = f"oxide {edges} {maps}, {dose} counts, drift {drift}, t 0.6-1.4"
                yield label, 3, syn.signal.data, seed
        for name, R in (("ml", 3), ("k", 4)):
            syn = d.chequerboard_spectrum_image(
                name, dose=2000, amplitude=2.0, shift=1.0, random_state=seed
            )
            yield f"chequerboard {name}, t 1-2x, drift 1 eV", R, syn.signal.data, seed
        for edges, profile in (("MnFe", "interface"), ("CoNi", "random")):
            syn = d.thickness_line_scan(edges, profile, random_state=seed)
            data = syn.signal.data[None]  # a one-row image
            yield f"line scan {edges} {profile} (64 px)", 2, data, seed


def main():
    import eels_ae

    info = machine_info()
    rows, payload = [], {"machine": info, "results": []}
    for label, truth, data, seed in cases():
        rng = np.random.default_rng(100 + seed)
        for spikes in (False, True):
            cube = _spiked(data, rng) if spikes else data
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ev = eels_ae.estimate_n_components(cube)
            warned = any("no power" in str(w.message) for w in caught)
            low, high = ev.n_range
            res = dict(
                case=label,
                spikes=spikes,
                seed=seed,
                truth=truth,
                estimate=ev.n_components,
                range=[low, high],
                right=ev.n_components == truth,
                in_range=low <= truth <= high,
                confident_wrong=low == high and low != truth,
                warned=warned,
            )
            payload["results"].append(res)
            rows.append(
                f"| {label} | {'yes' if spikes else 'no'} | {seed} | {truth} | "
                f"{ev.n_components} | {low}-{high} | "
                f"{'**wrong, confident**' if res['confident_wrong'] else ''} |"
            )
            print(rows[-1], flush=True)
    r = payload["results"]
    n = len(r)
    summary = (
        f"{sum(x['right'] for x in r)} of {n} right, "
        f"{sum(x['in_range'] for x in r)} of {n} with the truth in the range, "
        f"{sum(x['confident_wrong'] for x in r)} confident wrong numbers."
    )
    print(summary)
    md = [
        "# estimate_n_components on realistic images",
        "",
        doc_body(__doc__),
        "",
        f"**{summary}**",
        "",
        "| image | spikes | seed | truth | estimate | n_range | |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        *machine_section(info),
    ]
    print(write_results("n_components_realistic", payload, "\n".join(md) + "\n"))


if __name__ == "__main__":
    main()
