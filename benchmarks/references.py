"""Known references: eels_ae.fit_references against HyperSpy's linear fitting.

On the synthetic K-edge chequerboard (4 references x 903 channels, true
endmembers as references) at two image sizes, and on the bundled real STO /
LSMO image (two references taken from its own layers), it times

- HyperSpy: ``ScalableFixedPattern`` components and
  ``multifit(optimizer="lstsq")`` (ordinary least squares, all pixels at once),
- ``eels_ae.fit_references(nonnegative=False)`` (the same problem),
- ``eels_ae.fit_references()`` (non-negative, the default),
- ``eels_ae.fit_references(sum_to_one=True)`` (non-negative and sum to one),

and reports the largest difference between HyperSpy's and eels_ae's ordinary
least-squares coefficients, and the coefficient error against the truth on
the synthetic data. Results: ``benchmarks/results/references.{md,json}``.

Run: ``python benchmarks/references.py`` (under a minute, no torch).
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
    write_results,
)

warnings.filterwarnings("ignore")


def hyperspy_lstsq(s, refs):
    """Coefficients from HyperSpy's own linear model fitting."""
    import hyperspy.api as hs

    axis = s.axes_manager.signal_axes[0]

    def plain(data):
        out = hs.signals.Signal1D(np.asarray(data, dtype=np.float64))
        out.axes_manager.signal_axes[0].scale = axis.scale
        out.axes_manager.signal_axes[0].offset = axis.offset
        return out

    m = plain(s.data).create_model()
    for k, ref in enumerate(refs):
        comp = hs.model.components1D.ScalableFixedPattern(plain(ref))
        comp.name = f"r{k}"
        m.append(comp)
    m.set_parameters_not_free(only_nonlinear=True)
    m.multifit(optimizer="lstsq", show_progressbar=False)
    return np.stack([m[f"r{k}"].yscale.map["values"] for k in range(len(refs))])


def timed(fn, repeats=3):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def cases():
    import eels_ae
    from eels_ae.data.examples import load_example

    for shape in ((64, 64), (128, 128)):
        syn = eels_ae.data.chequerboard_spectrum_image(
            "k", shape=shape, block=shape[0] // 8, dose=1e4, random_state=0
        )
        refs = [syn.endmembers.inav[k] for k in range(len(syn.names))]
        yield f"synthetic K set {shape[0]} x {shape[1]}", syn.signal, refs, syn
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    yield (
        "real STO/LSMO 49 x 6",
        s,
        [s.inav[:, :10].mean(), s.inav[:, 21:27].mean()],
        None,
    )


def main():
    import eels_ae

    info = machine_info()
    rows, payload = [], {"machine": info, "cases": []}
    for label, s, refs, syn in cases():
        theirs, t_hs = timed(
            lambda s=s, refs=refs: hyperspy_lstsq(s, [r.data for r in refs])
        )
        res = {"case": label, "hyperspy_lstsq_s": t_hs}
        for key, kw in (
            ("ols", dict(nonnegative=False)),
            ("nonnegative", {}),
            ("fcls", dict(sum_to_one=True)),
        ):
            fit, t = timed(
                lambda kw=kw, s=s, refs=refs: eels_ae.fit_references(s, refs, **kw)
            )
            coef = fit.coefficients.data.reshape(len(refs), -1)
            res[f"{key}_s"] = t
            res[f"{key}_median_chi2"] = float(np.median(fit.reduced_chi2.data))
            if key == "ols":
                res["max_diff_vs_hyperspy"] = float(
                    np.abs(coef - theirs.reshape(len(refs), -1)).max()
                )
            if syn is not None:
                truth = syn.abundance_array.reshape(len(refs), -1)
                res[f"{key}_mean_abs_error"] = float(np.abs(coef - truth).mean())
        payload["cases"].append(res)

        def err(k, res=res, known=syn is not None):
            return f"{res[f'{k}_mean_abs_error']:.3f}" if known else "-"

        row = (
            f"| {label} | {t_hs:.3f} | {res['ols_s']:.3f} | "
            f"{t_hs / res['ols_s']:.1f}x | {res['max_diff_vs_hyperspy']:.1e} | "
            f"{res['nonnegative_s']:.3f} | {res['fcls_s']:.3f} | "
            f"{err('ols')} / {err('nonnegative')} / {err('fcls')} | "
            f"{res['nonnegative_median_chi2']:.2f} |"
        )
        rows.append(row)
        print(row, flush=True)
    md = [
        "# Known references: eels_ae.fit_references and HyperSpy's linear fitting",
        "",
        doc_body(__doc__),
        "",
        "Times are the best of 3, in seconds, including everything each call "
        "returns (eels_ae: coefficient maps, chi-square map, residual and fit "
        "signals; HyperSpy: the fitted model).",
        "",
        "| data | HyperSpy lstsq (s) | eels_ae OLS (s) | HyperSpy / eels_ae | "
        "largest OLS difference | eels_ae non-negative (s) | eels_ae "
        "non-negative + sum to one (s) | mean error vs truth: OLS / NN / FCLS | "
        "median reduced chi-square (NN) |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *machine_section(info, other="process"),
    ]
    print(write_results("references", payload, "\n".join(md) + "\n"))


if __name__ == "__main__":
    main()
