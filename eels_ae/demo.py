"""The main job on bundled data: unmix a real spectrum image and the
synthetic benchmark, denoise a low-dose spectrum image, learn the spectral
and spatial structure of two images of known structure (VAE, rVAE), and
write figures and a summary a person can read.

Run ``python -m eels_ae.demo`` (or ``eels-ae-demo``); see ``--help``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["main"]


def _save(fig, path):
    fig.savefig(path, dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path.name


def _abundance_figure(loadings, title, abundances):
    """Loading maps side by side, in calibrated navigation units.

    Abundances (sum to one) share one 0-1 scale; other loadings (NMF's are
    in arbitrary units, often above 1) get each their own full range, so no
    map is clipped.
    """
    import matplotlib.pyplot as plt

    ax_x, ax_y = loadings.axes_manager.signal_axes
    extent = [ax_x.low_value, ax_x.high_value, ax_y.high_value, ax_y.low_value]
    n = loadings.axes_manager.navigation_size
    fig, axes = plt.subplots(1, n, figsize=(2.9 * n, 3.2), squeeze=False)
    for i, ax in enumerate(axes[0]):
        data = loadings.data[i]
        lo, hi = (0.0, 1.0) if abundances else (data.min(), data.max())
        im = ax.imshow(
            data, extent=extent, aspect="auto", vmin=lo, vmax=hi, cmap="viridis"
        )
        ax.set(title=f"#{i}", xlabel=_label(ax_x))
        if not abundances:
            fig.colorbar(im, ax=ax, label="loading (arbitrary units)")
    axes[0][0].set_ylabel(_label(ax_y))
    if abundances:
        fig.colorbar(im, ax=axes[0].tolist(), label="abundance (fraction, sums to 1)")
    kind = "abundances" if abundances else "loadings (not abundances)"
    fig.suptitle(f"{title}: {kind}", y=1.03)
    return fig


def _elbow(s):
    """HyperSpy's elbow of the Poisson-normalised scree plot (on a copy)."""
    work = s.deepcopy()
    work.change_dtype("float64")
    work.decomposition(normalize_poissonian_noise=True, print_info=False)
    return int(work.estimate_elbow_position())


def _progress(message):
    """One line of progress, shown at once."""
    print(message, flush=True)


def _label(axis):
    units = axis.units if isinstance(axis.units, str) and axis.units else ""
    return f"{axis.name} ({units})" if units else str(axis.name)


def _real_data(out, lines, seed):
    import hyperspy.api as hs
    import matplotlib.pyplot as plt

    from . import estimate_n_components
    from .data.examples import EXAMPLE_FILES, load_example

    name = "DMReader_SpectrumImage_SI-EELS.dm3"
    s = load_example(name)
    lines += [
        "## Real spectrum image",
        "",
        f"`{name}`: {EXAMPLE_FILES[name]}; loaded with `hs.load` as "
        f"{type(s).__name__} {s.axes_manager.navigation_shape} pixels x "
        f"{s.axes_manager.signal_size} channels.",
        "",
    ]
    figures = []
    evidence = estimate_n_components(s)
    elbow = _elbow(s)
    figures.append(_save(evidence.plot(elbow=elbow), out / "real_n_components.png"))
    lines += [
        f"Number of components: `eels_ae.estimate_n_components` finds "
        f"{evidence.n_components} (spatially coherent loading maps; the "
        f"evidence supports {evidence.n_range[0]}-{evidence.n_range[1]}; "
        f"HyperSpy's elbow: {elbow}); the unmixings below use 3.",
        "",
        "| method | time (s) | mean spectral angle, model vs data (deg) |",
        "|---|---|---|",
    ]
    for algorithm, params in (
        ("NMF", {"random_state": seed}),
        ("vca", {"random_state": seed}),
        ("nfindr", {"random_state": seed}),
        ("daeu", {"random_state": seed}),
    ):
        t0 = time.perf_counter()
        s.decomposition(
            algorithm=algorithm, output_dimension=3, print_info=False, **params
        )
        dt = time.perf_counter() - t0
        X = s.data.reshape(-1, s.data.shape[-1])
        M = s.get_decomposition_model().data.reshape(X.shape)
        from .metrics import spectral_angle

        angle = np.degrees(spectral_angle(M, X)).mean()
        lines.append(f"| {algorithm} | {dt:.2f} | {angle:.2f} |")
        factors = s.get_decomposition_factors()
        loadings = s.get_decomposition_loadings()
        fig = plt.figure(figsize=(7, 4))
        ax = hs.plot.plot_spectra(
            factors, style="overlap", fig=fig, legend=[f"#{i}" for i in range(3)]
        )
        ax.set_ylabel("intensity (counts per channel)")
        kind = "components (not spectra)" if algorithm == "NMF" else "endmembers"
        fig.suptitle(f"{algorithm}: {kind} (factors)")
        figures.append(_save(fig, out / f"real_{algorithm}_endmembers.png"))
        figures.append(
            _save(
                _abundance_figure(loadings, algorithm, algorithm != "NMF"),
                out / f"real_{algorithm}_abundances.png",
            )
        )
        if algorithm == "daeu":
            est = s.learning_results.decomposition_algorithm
            fig, ax = plt.subplots(figsize=(5, 3))
            ax.plot(np.degrees(est.loss_curve_))
            ax.axvline(
                est.warmup_epochs - 0.5,
                color="grey",
                ls=":",
                label="end of encoder warm-up",
            )
            ax.set(
                xlabel="epoch",
                ylabel="mean spectral angle (deg)",
                title="DAEU training loss",
            )
            ax.legend()
            figures.append(_save(fig, out / "real_daeu_loss.png"))
    lines += ["", "Figures: " + ", ".join(f"`{f}`" for f in figures), ""]


def _synthetic(out, lines, seed, dose):
    import matplotlib.pyplot as plt
    from sklearn.decomposition import NMF

    from . import DAEU, NFINDR, VCA
    from .data import chequerboard_spectrum_image
    from .metrics import match_components, unmixing_scores

    lines += [
        "## Synthetic benchmark (Brun et al. 2024 chequerboard, known truth)",
        "",
        f"64 x 64 pixels, 8 x 8 blocks, 9 x 9 averaging, Poisson noise at "
        f"{dose:g} counts per spectrum, seed {seed}. Full study over 5 seeds: "
        "`python benchmarks/unmixing.py`.",
        "",
        "| set | method | SAD (deg) | abundance NMSE | time (s) |",
        "|---|---|---|---|---|",
    ]
    figures = []
    for name in ("ml", "k"):
        syn = chequerboard_spectrum_image(name, dose=dose, random_state=seed)
        X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])
        R = syn.endmember_array.shape[0]
        found = {}
        for label, est in (
            ("NMF (scikit-learn, as in HyperSpy)", NMF(R, random_state=seed)),
            ("VCA + FCLS", VCA(R, random_state=seed)),
            ("N-FINDR + FCLS", NFINDR(R, random_state=seed)),
            ("DAEU", DAEU(R, random_state=seed)),
        ):
            t0 = time.perf_counter()
            A = est.fit_transform(X)
            dt = time.perf_counter() - t0
            sc = unmixing_scores(
                syn.endmember_array, syn.abundance_array, est.components_, A.T
            )
            found[label] = est.components_
            lines.append(
                f"| {name} | {label} | {sc.mean_sad_deg:.2f} | "
                f"{sc.mean_nmse:.3f} | {dt:.2f} |"
            )
        E = syn.endmembers.axes_manager.signal_axes[0].axis
        fig, axes = plt.subplots(1, R, figsize=(3.2 * R, 3), sharex=True)
        for label, comps in found.items():
            perm = match_components(syn.endmember_array, comps)
            for k, ax in enumerate(axes):
                c = comps[perm[k]]
                ax.plot(E, c / np.linalg.norm(c), lw=1, label=label.split(" (")[0])
        for k, ax in enumerate(axes):
            t = syn.endmember_array[k]
            ax.plot(E, t / np.linalg.norm(t), "k--", lw=1, label="truth")
            ax.set(title=syn.names[k], xlabel="energy loss (eV)")
        axes[0].set_ylabel("intensity (unit norm)")
        axes[0].legend(fontsize=7)
        fig.suptitle(f"Synthetic set '{name}': endmembers (unit norm)")
        figures.append(_save(fig, out / f"synthetic_{name}_endmembers.png"))
    lines += ["", "Figures: " + ", ".join(f"`{f}`" for f in figures), ""]


def _denoising(out, lines, seed):
    """Low-dose denoising (Pate et al. 2021 protocol) against PCA, on known truth."""
    import matplotlib.pyplot as plt

    from . import LatentClassifier
    from .data import lowdose_spectrum_image
    from .metrics import edge_onset, mse

    shape = (48, 96)
    yy, xx = np.indices(shape)
    state = (yy // 16 + xx // 16) % 2
    si = lowdose_spectrum_image(shape, state=state, random_state=seed)
    s = si.signal
    E = s.axes_manager[-1].axis

    def onsets(data):
        return edge_onset(
            data,
            E,
            background_range=si.background_range,
            search_range=si.edge_search_range,
        )

    truth = onsets(si.clean.data)
    rows = {}
    rows["raw"] = (s.data, 0.0)
    pca = s.deepcopy()
    t0 = time.perf_counter()
    pca.decomposition(algorithm="SVD", output_dimension=3, print_info=False)
    rows["PCA-3 (HyperSpy)"] = (
        pca.get_decomposition_model(3).data,
        time.perf_counter() - t0,
    )
    t0 = time.perf_counter()
    # 30 of the default 50 epochs keeps the demo short (with 20 the edge
    # onsets were worse than PCA's); the benchmark runs the defaults.
    den, model = s.denoise_ae(random_state=seed, max_epochs=30, return_model=True)
    rows["s.denoise_ae(max_epochs=30)"] = (
        den.data,
        time.perf_counter() - t0,
    )
    lines += [
        "## Low-dose denoising (Pate et al. 2021 protocol, known truth)",
        "",
        f"Synthetic O K edge, {shape[0]} x {shape[1]} pixels, ~15 counts per "
        "channel at the edge, 1.5 eV drift across x, thickness 0.6-1.3 t/lambda "
        "along y, two oxidation states in 16-pixel blocks. Full study: "
        "`python benchmarks/denoise.py`.",
        "",
        "| method | MSE to clean | edge-onset error (eV) | time (s) |",
        "|---|---|---|---|",
    ]
    for label, (data, dt) in rows.items():
        err = np.nanmean(np.abs(onsets(data) - truth))
        lines.append(
            f"| {label} | {mse(data, si.clean.data):.3f} | {err:.3f} | {dt:.1f} |"
        )
    # The latent classifier: trained on one image per state, applied to a new one.
    train = [
        lowdose_spectrum_image((24, 48), state=k, random_state=seed + 10 + k).signal
        for k in (0, 1)
    ]
    clf = LatentClassifier(model, random_state=seed).fit(train, ["state 0", "state 1"])
    accuracy = float((clf.predict(s).data == state).mean())
    lines += [
        "",
        f"Latent classifier (trained on two other images, one per state): "
        f"{100 * accuracy:.1f} % of the pixels of this image classified right.",
    ]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    y, x = 30, 70
    for label, (data, _) in rows.items():
        axes[0].plot(E, data[y, x], lw=0.8 if label == "raw" else 1.2, label=label)
    axes[0].plot(E, si.clean.data[y, x], "k--", lw=1, label="clean truth")
    axes[0].set(xlabel="energy loss (eV)", ylabel="counts", title=f"pixel x={x}, y={y}")
    axes[0].legend(fontsize=7)
    for label, (data, _) in rows.items():
        axes[1].plot(np.nanmean(onsets(data), axis=0), lw=1, label=label)
    axes[1].plot(np.nanmean(truth, axis=0), "k--", lw=1, label="clean truth")
    axes[1].set(
        xlabel="x (pixel)",
        ylabel="edge onset (eV)",
        title="edge onset across x (mean over y): the drift",
    )
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    figure = _save(fig, out / "denoising.png")
    lines += ["", f"Figure: `{figure}`", ""]


def _spatial(out, lines, seed):
    """The spectral VAE and the rVAE, each on data with a known answer."""
    from .data import edge_variation_spectrum_image, motif_maps
    from .metrics import latent_r2

    # Spectral VAE: the edge onset moves along x, the edge grows along y.
    d = edge_variation_spectrum_image(shape=(24, 32), random_state=seed)
    t0 = time.perf_counter()
    r = d.signal.vae(random_state=seed)
    t_vae = time.perf_counter() - t0
    z = r.latent.data.reshape(r.latent.data.shape[0], -1).T
    r2 = [latent_r2(z, truth.data.ravel()) for truth in (d.onset, d.ratio)]
    figures = [
        _save(r.plot_latent_distribution(), out / "vae_latents.png"),
        _save(r.plot_reconstruction_summary(), out / "vae_reconstruction.png"),
    ]
    # rVAE: motifs of two kinds at random angles -> spectra -> NMF -> windows.
    m = motif_maps((96, 96), min_distance=16, random_state=seed + 1)
    s = m.spectrum_image()
    s.decomposition(algorithm="NMF", output_dimension=3, print_info=False)
    t0 = time.perf_counter()
    rv = s.rvae(channels=[0, 1, 2], window=13, random_state=seed)
    t_rvae = time.perf_counter() - t0
    codes = rv.codes
    scores = m.score(codes, random_state=seed)
    corr, ari = scores["angle_correlation"], scores["class_ari"]
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    ax_x, ax_y = rv.angle.axes_manager.signal_axes
    extent = [ax_x.low_value, ax_x.high_value, ax_y.high_value, ax_y.low_value]
    im = axes[0].imshow(
        codes.angle, cmap="twilight", vmin=-np.pi, vmax=np.pi, extent=extent
    )
    fig.colorbar(im, ax=axes[0], label="encoded angle (rad)")
    axes[0].set(title="rVAE angle map", xlabel=_label(ax_x), ylabel=_label(ax_y))
    rv.plot_manifold(n=6, ax=axes[1])
    fig.tight_layout()
    figures.append(_save(fig, out / "rvae.png"))
    lines += [
        "## Spatial and spectral structure: VAE and rVAE (known truth)",
        "",
        f"`s.vae()` on a 24 x 32 EELS image whose edge onset moves 5 eV along x "
        f"and whose edge height grows along y ({t_vae:.1f} s): the two latent "
        f"maps explain the onset with R^2 = {r2[0]:.3f} and the edge height with "
        f"R^2 = {r2[1]:.3f} (quadratic fit).",
        "",
        f"`s.rvae(window=13)` on the NMF maps of a 96 x 96 image of two kinds of "
        f"asymmetric motif at random angles ({t_rvae:.1f} s), scored at its "
        f"{scores['n_motifs']} motif centres: circular correlation of the "
        "encoded angle with the true angle "
        f"{corr[0]:.3f} (rods with a satellite) and {corr[1]:.3f} (three lobes), "
        f"over the full circle; a 2-cluster k-means of the content latents finds "
        f"the two kinds with an adjusted Rand index of {ari:.3f}. Over seeds and on "
        "unseen images: `python benchmarks/rvae_reliability.py`.",
        "",
        "Figures: " + ", ".join(f"`{f}`" for f in figures),
        "",
    ]


def main(argv=None):
    """Command line entry point."""
    import matplotlib

    matplotlib.use("agg")
    import hyperspy.api as hs

    p = argparse.ArgumentParser(
        prog="eels-ae-demo",
        description="Unmix the bundled real spectrum image and the synthetic "
        "benchmark, denoise a low-dose image, run the VAE and rVAE on images of "
        "known structure; write figures and summary.md.",
    )
    p.add_argument("--output", default="eels_ae_output", help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--dose", type=float, default=1e4, help="counts per synthetic spectrum"
    )
    args = p.parse_args(argv)
    hs.preferences.General.show_progressbar = False
    warnings.filterwarnings("ignore", category=UserWarning)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# eels_ae demo", ""]
    t0 = time.perf_counter()
    steps = (
        ("unmixing the real spectrum image (NMF, VCA, N-FINDR, DAEU)", _real_data, ()),
        ("unmixing the synthetic benchmark", _synthetic, (args.dose,)),
        ("denoising a low-dose image (about 65 s on 2 CPU cores)", _denoising, ()),
        ("VAE and rVAE on images of known structure (about 50 s)", _spatial, ()),
    )
    for i, (what, step, extra) in enumerate(steps, 1):
        _progress(f"[{i}/{len(steps)}] {what} ...")
        t = time.perf_counter()
        step(out, lines, args.seed, *extra)
        _progress(f"      done in {time.perf_counter() - t:.1f} s")
    lines.append(f"Total time: {time.perf_counter() - t0:.1f} s.")
    summary = out / "summary.md"
    summary.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nWrote {summary} and the figures next to it.")


if __name__ == "__main__":
    main()
