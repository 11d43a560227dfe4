"""Every trainable algorithm on the GPU and on the CPU, on the same data.

For each algorithm (the unmixing autoencoders DAEU, uDAS, MTAEU, CNNAEU,
VAEU; the VAE; the denoiser; the rVAE) and each device (the CPU, and CUDA
when PyTorch sees it): two fits with the same seed (reproducible on that
device: the largest difference between their results), the time of the
first, and its quality against the truth (endmember SAD for unmixing, MSE
to the noise-free image for the denoiser and the VAE's reconstruction,
class ARI of the rVAE's content latents). The CUDA results must match the
CPU's quality (not bit for bit: the kernels differ). Data: a 64 x 64 TiMnFe
oxide scene at 1000 counts (340 channels), a 32 x 32 crop of it for the
denoiser, 96 x 96 motif maps for the rVAE.

Run: ``python benchmarks/gpu.py`` (unattended, about 4 minutes on a GPU
machine; on a machine without CUDA it runs the CPU half and says so).
Results: ``benchmarks/results/gpu.{md,json}``.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    doc_body,
    machine_info,
    machine_section,
    warm_up,
    write_results,
)

warnings.filterwarnings("ignore")
UNMIXING = ("daeu", "udas", "mtaeu", "cnnaeu", "vaeu")


def sad(truth, components):
    from eels_ae.metrics import match_components, sad_matrix

    order = match_components(truth, components)
    return float(np.degrees(np.diag(sad_matrix(truth, components[order]))).mean())


def relative_mse(output, clean, noisy):
    """The output's squared error to the noise-free data over the noise's."""
    mse = float(np.mean((output - clean) ** 2))
    return "MSE / noise", mse / float(np.mean((noisy - clean) ** 2))


def cases():
    """name -> (make estimator(device), data, result(est) -> array, quality)."""
    import eels_ae
    from eels_ae.data import motif_maps, scenes

    syn = scenes.oxide_scene(
        maps="layers", shape=(64, 64), dose=1000, drift=0.0, random_state=3
    )
    cube, clean = syn.signal.data, syn.clean.data
    spectra = cube.reshape(-1, cube.shape[-1])
    truth = syn.endmember_array
    out = {}
    for name in UNMIXING:
        cls = eels_ae.ALGORITHMS[name]
        image = name in ("mtaeu", "cnnaeu")
        out[name] = (
            lambda dev, cls=cls: cls(
                3, random_state=0, device=dev, show_progressbar=False
            ),
            cube if image else spectra,
            lambda est: est.components_,
            lambda est: ("SAD (deg)", sad(truth, est.components_)),
        )
    crop, crop_clean = cube[:32, :32], clean[:32, :32]
    out["denoise_ae"] = (
        lambda dev: eels_ae.DenoisingAE(
            random_state=0, device=dev, show_progressbar=False
        ),
        crop,
        lambda est: est.denoise(crop),
        lambda est: relative_mse(est.denoise(crop), crop_clean, crop),
    )
    out["vae"] = (
        lambda dev: eels_ae.VAE(random_state=0, device=dev, show_progressbar=False),
        spectra,
        lambda est: est.transform(spectra),
        lambda est: relative_mse(
            est.reconstruct(spectra), clean.reshape(spectra.shape), spectra
        ),
    )
    maps = motif_maps((96, 96), min_distance=16, random_state=1)
    out["rvae"] = (
        lambda dev: eels_ae.RVAE(
            window=13, random_state=0, device=dev, show_progressbar=False
        ),
        maps.maps,
        lambda est: est.encode(maps.maps).z,
        lambda est: ("class ARI", maps.score(est.encode(maps.maps))["class_ari"]),
    )
    return out


def run_case(make, data, result, quality, device):
    t = time.perf_counter()
    first = make(device).fit(data)
    seconds = time.perf_counter() - t
    second = make(device).fit(data)
    a, b = np.asarray(result(first)), np.asarray(result(second))
    label, value = quality(first)
    return {
        "seconds": seconds,
        "quality_label": label,
        "quality": float(value),
        "repeat_max_diff": float(np.max(np.abs(a - b))),
        "scale": float(np.max(np.abs(a))),
    }


def main():
    import torch

    warm_up()
    info = machine_info()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if "cuda" in devices:
        info["gpu"] = torch.cuda.get_device_name(0)
    rows = {}
    for name, case in cases().items():
        rows[name] = {}
        for dev in devices:
            rows[name][dev] = run_case(*case, dev)
            r = rows[name][dev]
            print(
                f"{name:11s} {dev:5s} {r['seconds']:7.2f} s  {r['quality_label']} "
                f"{r['quality']:.3f}  repeat diff {r['repeat_max_diff']:.2e}",
                flush=True,
            )
    md = ["# GPU against CPU", "", doc_body(__doc__), ""]
    if "cuda" not in devices:
        md += [
            "**Not yet run on a GPU**: PyTorch saw no CUDA device on this "
            "machine; the CPU half only.",
            "",
        ]
    gpu_head = "CUDA s | CUDA quality | CUDA repeat diff | speed-up |"
    md += [
        "| algorithm | quality | CPU s | CPU quality | CPU repeat diff | "
        + (gpu_head if len(devices) > 1 else ""),
        "|---|---|---|---|---|" + ("---|---|---|---|" if len(devices) > 1 else ""),
    ]
    agree = True
    for name, by in rows.items():
        c = by["cpu"]
        line = (
            f"| {name} | {c['quality_label']} | {c['seconds']:.2f} | "
            f"{c['quality']:.3f} | {c['repeat_max_diff']:.1e} |"
        )
        if "cuda" in by:
            g = by["cuda"]
            line += (
                f" {g['seconds']:.2f} | {g['quality']:.3f} | "
                f"{g['repeat_max_diff']:.1e} | {c['seconds'] / g['seconds']:.1f}x |"
            )
            worse = (
                g["quality"] - c["quality"] > 1.0
                if c["quality_label"].startswith("SAD")
                else (
                    g["quality"] < c["quality"] - 0.05
                    if "ARI" in c["quality_label"]
                    else g["quality"] > 1.2 * c["quality"]
                )
            )
            agree &= not worse
        md.append(line)
    if len(devices) > 1:
        md += [
            "",
            "CUDA quality "
            + ("matches" if agree else "does NOT match")
            + " the CPU's on every algorithm (SAD within 1 degree, MSE within "
            "1.2x, ARI within 0.05).",
        ]
    md += [""] + machine_section(info)
    print(write_results("gpu", {"rows": rows, "machine": info}, "\n".join(md)))


if __name__ == "__main__":
    main()
