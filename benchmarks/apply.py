"""Model files: size, save, load and apply times next to the training time.

For each model type: train on one synthetic acquisition, save, load, and apply
the loaded model to a *new* 64 x 64 spectrum image (eager and lazy), through
the HyperSpy layer (``s.apply_model``). The target of the template issue:
load + apply of a DAEU model on 64 x 64 x 200 in <= 0.05 s on this CPU
(Brun et al. 2024 quotes about 0.1 s for inference alone).

Run alone on an idle machine (one torch process at a time)::

    python benchmarks/apply.py
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def main(repeat=5):
    warnings.filterwarnings("ignore")
    import hyperspy.api as hs
    from _common import best_of, machine_info, machine_markdown, write_results

    import eels_ae
    from eels_ae.data import chequerboard_spectrum_image, lowdose_spectrum_image

    hs.preferences.General.show_progressbar = False
    quiet = dict(random_state=0, show_progressbar=False, device="cpu")
    first = chequerboard_spectrum_image("ml", shape=(64, 64), random_state=0).signal
    new = chequerboard_spectrum_image("ml", shape=(64, 64), random_state=1).signal
    low1 = lowdose_spectrum_image(shape=(64, 64), random_state=0).signal
    low2 = lowdose_spectrum_image(shape=(64, 64), random_state=1).signal
    X = first.data.reshape(-1, first.data.shape[-1])

    def train_classifier():
        dae = eels_ae.DenoisingAE(max_epochs=10, **quiet).fit(low1)
        labels = (np.arange(64 * 64).reshape(64, 64) // 64) % 2
        return eels_ae.LatentClassifier(dae, random_state=0).fit(low1, labels)

    cases = {
        "VCA": (lambda: eels_ae.VCA(3, random_state=0).fit(X), new),
        "DAEU": (lambda: eels_ae.DAEU(3, **quiet).fit(X), new),
        "VAE": (lambda: eels_ae.VAE(max_epochs=20, **quiet).fit(low1), low2),
        "DenoisingAE": (
            lambda: eels_ae.DenoisingAE(max_epochs=10, **quiet).fit(low1),
            low2,
        ),
        "LatentClassifier": (train_classifier, low2),
    }
    rows = {}
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        for name, (train, target) in cases.items():
            t = time.perf_counter()
            model = train()
            fit_s = time.perf_counter() - t
            if name in ("VCA", "DAEU"):
                # As from HyperSpy: the axis is recorded by s.decomposition.
                model.energy_axis_ = eels_ae.hyperspy_glue.apply.signal_energy_axis(
                    first
                )
            path = Path(folder) / f"{name}.safetensors"
            save_s, _ = best_of(lambda m=model, p=path: m.save(p), repeat)
            load_s, loaded = best_of(lambda p=path: eels_ae.load_model(p), repeat)
            apply_s, _ = best_of(lambda m=loaded, s=target: s.apply_model(m), repeat)
            lazy = target.as_lazy()

            def apply_lazy(m=loaded, s=lazy):
                out = s.apply_model(m)
                if out is not None and hasattr(out, "compute"):
                    out.compute()
                return out

            lazy_s, _ = best_of(apply_lazy, max(1, repeat // 2))
            both_s, _ = best_of(
                lambda p=path, s=target: s.apply_model(eels_ae.load_model(p)), repeat
            )
            rows[name] = dict(
                file_kib=path.stat().st_size / 1024,
                fit_s=fit_s,
                save_s=save_s,
                load_s=load_s,
                apply_s=apply_s,
                apply_lazy_s=lazy_s,
                load_plus_apply_s=both_s,
            )
            print(name, {k: round(v, 4) for k, v in rows[name].items()}, flush=True)
    load1 = os.getloadavg()[0]
    info = machine_info()
    lines = [
        "# Model files: save, load, apply",
        "",
        "Trained on one synthetic acquisition, applied (loaded from its file) "
        "to a new 64 x 64 one through `s.apply_model`; best of "
        f"{repeat} runs. Machine idle apart from this run (load average "
        f"{load0:.2f} before, {load1:.2f} after). DAEU/VCA: 3 x 200 chequerboard "
        "set; VAE, DenoisingAE, LatentClassifier: 64 x 64 x 240 low-dose set "
        "(short trainings: the apply time does not depend on them).",
        "",
        "| model | file (KiB) | train (s) | save (s) | load (s) | apply (s) "
        "| apply lazy (s) | load + apply (s) | apply / train |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['file_kib']:.1f} | {r['fit_s']:.2f} | {r['save_s']:.4f} "
            f"| {r['load_s']:.4f} | {r['apply_s']:.4f} | {r['apply_lazy_s']:.4f} "
            f"| {r['load_plus_apply_s']:.4f} | {r['apply_s'] / r['fit_s']:.4f} |"
        )
    target = rows["DAEU"]["load_plus_apply_s"]
    lines += [
        "",
        f"Target: DAEU load + apply on 64 x 64 x 200 <= 0.05 s: {target:.4f} s "
        f"({'met' if target <= 0.05 else 'missed'}).",
        "",
        "## Machine",
        "",
        machine_markdown(info),
    ]
    md = "\n".join(lines)
    write_results("apply", {"machine": info, "rows": rows}, md)
    print(md)


if __name__ == "__main__":
    main()
