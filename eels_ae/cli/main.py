"""``eels-ae``: train a model on one acquisition, apply it to the following ones.

The sub-commands (``list``, ``train``, ``apply``, ``info``) are derived from
:mod:`eels_ae.registry`: any algorithm registered there that trains on a
spectrum image is a ``train --algorithm`` choice, and any model file it saves
can be applied. ``eels-ae <command> --help`` shows examples.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from .. import registry

__all__ = ["EXIT", "main"]

#: Exit codes: what failed.
EXIT = {
    "ok": 0,
    "some files failed": 1,
    "usage": 2,
    "model file": 3,
    "input file": 4,
    "training": 5,
    "interrupted": 130,
}

#: File types ``apply`` reads in a folder (RosettaSciIO's readers).
EXTENSIONS = (".dm4", ".dm3", ".hspy", ".zspy")


class CommandError(Exception):
    """A failure with its exit code and a message for the user."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def _parse_value(text):
    """A parameter value: a Python literal (number, bool, None, tuple, list,
    quoted string) if it reads as one, else the text itself. Never runs code."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_params(pairs):
    """``["a=1", "b=(2, 3)"]`` -> ``{"a": 1, "b": (2, 3)}``."""
    params = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandError(
                f"--param {pair!r}: write it as NAME=VALUE, e.g. --param "
                "max_epochs=50.",
                EXIT["usage"],
            )
        params[key.strip()] = _parse_value(value.strip())
    return params


def _load_signal(path, lazy):
    import hyperspy.api as hs

    path = Path(path)
    if not path.is_file():
        raise CommandError(f"{path}: no such file.", EXIT["input file"])
    try:
        s = hs.load(path, lazy=lazy)
    except Exception as err:  # noqa: BLE001 - any reader failure is the file's
        raise CommandError(
            f"{path}: could not be read ({type(err).__name__}: {err}).",
            EXIT["input file"],
        ) from None
    if isinstance(s, list):
        spectra = [x for x in s if x.axes_manager.signal_dimension == 1]
        if len(spectra) != 1:
            raise CommandError(
                f"{path} holds {len(s)} signals, {len(spectra)} of them spectra: "
                "eels-ae needs exactly one spectrum image per file.",
                EXIT["input file"],
            )
        s = spectra[0]
    if s.axes_manager.signal_dimension != 1 or s.axes_manager.navigation_size < 2:
        raise CommandError(
            f"{path}: not a spectrum image or line scan of spectra ({s}).",
            EXIT["input file"],
        )
    return s


def _quiet_params(cls, params, progress):
    """``show_progressbar`` where the estimator has it (unless given)."""
    if "show_progressbar" in cls._get_param_names():
        params.setdefault("show_progressbar", progress)
    return params


# -- train ----------------------------------------------------------------------
def _fit(entry, s, args, params):
    """Fit ``entry`` on signal ``s``; returns ``(model, result)``."""
    from ..hyperspy_glue.params import check_params

    cls = entry.estimator
    call = f"eels-ae train --algorithm {entry.name}"
    if args.device is not None and "device" in cls._get_param_names():
        params.setdefault("device", args.device)
    if args.seed is not None and "random_state" in cls._get_param_names():
        params.setdefault("random_state", args.seed)
    _quiet_params(cls, params, not args.quiet)
    if entry.kind == "unmixing":
        if args.n_components is None:
            raise CommandError(
                f"{entry.name} needs --n-components (the number of endmembers).",
                EXIT["usage"],
            )
        try:
            check_params(cls, params, call, exclude={"n_components"})
        except TypeError as err:
            raise CommandError(str(err), EXIT["usage"]) from None
        s.decomposition(
            algorithm=entry.name,
            output_dimension=args.n_components,
            print_info=False,
            **_energy_options(s, args),
            **params,
        )
        return s.learning_results.decomposition_algorithm, None
    if args.signal_range is not None:
        raise CommandError(
            f"--signal-range is for unmixing algorithms, not {entry.name}.",
            EXIT["usage"],
        )
    if args.background_range is not None:
        if "background_range" not in cls._get_param_names():
            raise CommandError(
                f"{entry.name} has no background removal (--background-range).",
                EXIT["usage"],
            )
        params.setdefault("background_range", tuple(args.background_range))
    if entry.method is None:
        raise CommandError(
            f"{entry.name} cannot be trained from the command line: use Python.",
            EXIT["usage"],
        )
    if args.n_components is not None:
        raise CommandError(
            f"--n-components is for unmixing algorithms, not {entry.name}.",
            EXIT["usage"],
        )
    try:
        check_params(cls, params, call)
    except TypeError as err:
        raise CommandError(str(err), EXIT["usage"]) from None
    result, model = getattr(s, entry.method)(return_model=True, **params)
    return model, result


def _add_energy_options(parser, background_help):
    """--background-range and --signal-range (read by :func:`_energy_options`)."""
    parser.add_argument(
        "--background-range",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="pre-edge window (energy units) of the power-law background to "
        + background_help,
    )
    parser.add_argument(
        "--signal-range",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="unmix only the channels in this energy range (unmixing)",
    )


def _energy_options(s, args):
    """``decomposition`` keywords from --background-range and --signal-range
    (channels outside the range left out, HyperSpy's ``signal_mask``)."""
    options = {}
    if args.background_range is not None:
        options["background_range"] = tuple(args.background_range)
    if args.signal_range is not None:
        lo, hi = sorted(args.signal_range)
        energy = s.axes_manager.signal_axes[0].axis
        inside = (energy >= lo) & (energy <= hi)
        if inside.sum() < 2:
            raise CommandError(
                f"--signal-range {lo:g} {hi:g} holds {int(inside.sum())} channel(s) "
                f"of this signal ({energy[0]:g}-{energy[-1]:g}).",
                EXIT["usage"],
            )
        options["signal_mask"] = ~inside
    return options


def cmd_train(args):
    entry = registry.trainable().get(args.algorithm.lower())
    if entry is None:
        raise CommandError(
            f"{args.algorithm!r} is not an algorithm train knows; choose one of "
            f"{', '.join(registry.trainable())} (eels-ae list).",
            EXIT["usage"],
        )
    params = parse_params(args.param)
    out = Path(args.output or f"{Path(args.file).stem}_{entry.name}.safetensors")
    if out.exists() and not args.overwrite:
        raise CommandError(
            f"{out} exists: choose another --output or add --overwrite.",
            EXIT["usage"],
        )
    s = _load_signal(args.file, args.lazy)
    t0 = time.perf_counter()
    try:
        model, result = _fit(entry, s, args, params)
    except CommandError:
        raise
    except Exception as err:  # noqa: BLE001 - reported with its exit code
        raise CommandError(
            f"training {entry.name} on {args.file} failed: {type(err).__name__}: {err}",
            EXIT["training"],
        ) from None
    seconds = time.perf_counter() - t0
    from .outputs import atomic_outputs, write_figure, write_json

    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_outputs(out.parent) as tmp:
        model.save(tmp / out.name)
        write_figure(tmp / f"{out.stem}.png", entry.kind, s, result)
        write_json(
            tmp / f"{out.stem}.json",
            {
                "model": out.name,
                "algorithm": entry.name,
                "trained_on": str(args.file),
                "navigation_shape": list(s.axes_manager.navigation_shape),
                "channels": s.axes_manager.signal_size,
                "params": model.get_params(),
                "seconds": round(seconds, 3),
            },
        )
    print(
        f"{entry.name} trained on {args.file} in {seconds:.1f} s -> {out} "
        f"(figure {out.stem}.png, summary {out.stem}.json)"
    )
    return EXIT["ok"]


# -- compare --------------------------------------------------------------------
def cmd_compare(args):
    """Run the unmixing names on one file and say which to trust
    (:func:`eels_ae.compare`): the table and the reason on the terminal, a
    JSON summary and a PNG figure next to ``--output``."""
    import matplotlib.pyplot as plt

    out = Path(args.output or f"{Path(args.file).stem}_compare.json")
    if out.suffix != ".json":
        out = out.with_suffix(".json")
    if out.exists() and not args.overwrite:
        raise CommandError(
            f"{out} exists: choose another --output or add --overwrite.",
            EXIT["usage"],
        )
    algorithms = None
    if args.algorithms:
        algorithms = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    s = _load_signal(args.file, args.lazy)
    from ..hyperspy_glue import compare

    t0 = time.perf_counter()
    try:
        report = compare(
            s,
            args.n_components,
            algorithms=algorithms,
            seeds=args.seeds,
            random_state=args.seed,
            show_progressbar=not args.quiet,
            **_energy_options(s, args),
        )
    except ValueError as err:
        raise CommandError(str(err), EXIT["usage"]) from None
    seconds = time.perf_counter() - t0
    from .outputs import atomic_outputs, write_json

    with atomic_outputs(out.parent) as tmp:
        fig = report.plot()
        fig.savefig(tmp / f"{out.stem}.png", dpi=80)
        plt.close(fig)
        write_json(
            tmp / out.name,
            {
                "file": str(args.file),
                "n_components": args.n_components,
                "background_range": args.background_range,
                "signal_range": args.signal_range,
                "recommended": report.recommended,
                "reason": report.reason,
                "candidates": [
                    {
                        "name": c.name,
                        "heldout_score": c.heldout if np.isfinite(c.heldout) else None,
                        "seed_angle_deg": c.seed_angle
                        if np.isfinite(c.seed_angle)
                        else None,
                        "map_coherence": c.coherence
                        if np.isfinite(c.coherence)
                        else None,
                        "seconds": round(c.seconds, 3),
                        "error": c.error or None,
                    }
                    for c in report.scores
                ],
                "seconds": round(seconds, 3),
            },
        )
    print(report.table)
    print(f"\nrecommended: {report.recommended}. {report.reason}")
    print(f"-> {out} and {out.stem}.png ({seconds:.1f} s)")
    return EXIT["ok"]


# -- info -----------------------------------------------------------------------
def cmd_info(args):
    import json

    from ..model_files import ModelFileError, model_info

    try:
        info = model_info(args.model)
    except ModelFileError as err:
        raise CommandError(str(err), EXIT["model file"]) from None
    if args.json:
        from .outputs import json_default

        print(json.dumps(info, indent=2, default=json_default))
        return EXIT["ok"]
    axis = info.get("energy_axis") or {}
    lines = [
        f"model file:  {args.model}",
        f"class:       {info['class']}",
        f"algorithm:   {_algorithm_of(info['class'])}",
    ]
    if axis:
        last = axis["offset"] + axis["scale"] * (axis["size"] - 1)
        lines.append(
            f"energy axis: {axis['offset']:g}-{last:g} {axis.get('units', '')}, "
            f"{axis['size']} channels of {axis['scale']:g}"
        )
    prep = info.get("preprocessing") or {}
    if prep.get("background_range") is not None:
        lo, hi = prep["background_range"]
        lines.append(
            f"background:  power law fitted over {lo:g}-{hi:g} and removed "
            f"(exponent pooled over {prep.get('background_pooling') or 0:g} pixels)"
        )
    if prep.get("channels") is not None and axis:
        energy = axis["offset"] + axis["scale"] * np.arange(axis["size"])
        used = energy[np.asarray(prep["channels"], dtype=bool)]
        lines.append(
            f"channels:    {used.size} of {axis['size']} unmixed "
            f"({used.min():g}-{used.max():g} {axis.get('units', '')})"
        )
    lines.append("parameters:")
    lines += [f"  {k} = {v!r}" for k, v in sorted(info["params"].items())]
    lines.append(
        "versions:    "
        + ", ".join(f"{k} {v}" for k, v in (info.get("versions") or {}).items())
    )
    lines.append(f"checksum:    {info['checksum']} (SHA-256, verified)")
    lines.append(f"tensors:     {len(info['tensors'])}")
    print("\n".join(lines))
    return EXIT["ok"]


def _algorithm_of(class_path):
    name = class_path.rsplit(".", 1)[-1]
    for entry in registry.REGISTRY.values():
        if entry.estimator.__name__ == name:
            return f"{entry.name} ({entry.kind}: {entry.summary})"
    return "?"


# -- list -----------------------------------------------------------------------
def cmd_list(args):
    for name, entry in registry.REGISTRY.items():
        mark = "train" if name in registry.trainable() else "apply"
        print(f"{name:18s} {entry.kind:15s} {mark:6s} {entry.summary}")
    return EXIT["ok"]


# -- apply ----------------------------------------------------------------------
def _inputs(paths):
    """Files named, and the readable files of folders named (sorted)."""
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(
                f for f in p.iterdir() if f.suffix.lower() in EXTENSIONS and f.is_file()
            )
        else:
            files.append(p)
    return files


def _load_model(args):
    from ..model_files import ModelFileError, load_model

    try:
        model = load_model(args.model, device=args.device)
    except ModelFileError as err:
        raise CommandError(str(err), EXIT["model file"]) from None
    return model, registry.for_estimator(model)


def apply_one(path, model, entry, args, out_dir):
    """Apply ``model`` to one file; write its outputs atomically. Returns a
    summary row (``status`` "ok" or "failed" with the message)."""
    from .. import apply_model
    from .outputs import atomic_outputs, result_signals, write_figure

    t0 = time.perf_counter()
    row = {"file": str(path)}
    try:
        s = _load_signal(path, args.lazy)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _hide_dependency_deprecations()
            result = apply_model(s, model, energy_axis=args.energy_axis)
        stem = Path(path).stem
        written = []
        with atomic_outputs(out_dir) as tmp:
            for name, sig in result_signals(entry.kind, s, result, stem).items():
                sig.save(tmp / f"{name}.hspy", overwrite=True)
                written.append(f"{name}.hspy")
            write_figure(tmp / f"{stem}.png", entry.kind, s, result)
            written.append(f"{stem}.png")
        notes = "; ".join(str(w.message).splitlines()[0] for w in caught)
        row.update(
            status="ok",
            pixels=s.axes_manager.navigation_size,
            outputs=" ".join(written),
            message=notes,
        )
    except CommandError as err:
        row.update(status="failed", message=str(err))
    except Exception as err:  # noqa: BLE001 - one bad file must not stop the batch
        row.update(status="failed", message=f"{path}: {type(err).__name__}: {err}")
    row["seconds"] = round(time.perf_counter() - t0, 3)
    return row


def _apply_task(path, weights, args, out_dir):
    """One file on a dask worker: the model arrives as weights."""
    import hyperspy.api as hs

    import eels_ae  # noqa: F401 - the worker's HyperSpy gets eels_ae's methods

    hs.preferences.General.show_progressbar = False
    model = weights.model
    return apply_one(path, model, registry.for_estimator(model), args, out_dir)


def _apply_all(files, model, entry, args, out_dir):
    """Rows of every file, in this process or, with ``--workers`` or
    ``--scheduler``, one file per task on a ``dask.distributed`` cluster."""
    if not (args.workers or args.scheduler):
        for f in files:
            yield apply_one(f, model, entry, args, out_dir)
        return
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise CommandError(
            "--workers and --scheduler need dask.distributed: pip install "
            '"eels_ae[distributed]".',
            EXIT["usage"],
        ) from None
    from ..distributed import ModelWeights

    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            dashboard_address=None,
            silence_logs=40,
        )
        client = Client(cluster)
    try:
        weights = client.scatter(ModelWeights.of(model), broadcast=True)
        futures = [
            client.submit(_apply_task, f, weights, args, out_dir, pure=False)
            for f in files
        ]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _report(row):
    if row["status"] == "ok":
        print(f"ok      {row['file']} ({row['seconds']:.1f} s) -> {row['outputs']}")
        if row.get("message"):
            print(f"        warning: {row['message']}")
    else:
        print(f"FAILED  {row['message']}", file=sys.stderr)


def cmd_apply(args):
    from .outputs import (
        append_summary,
        check_writable,
        completed_inputs,
        remove_partial_outputs,
    )

    model, entry = _load_model(args)
    out_dir = Path(args.output)
    try:
        check_writable(out_dir)
    except OSError as err:
        raise CommandError(str(err), EXIT["usage"]) from None
    summary = out_dir / "summary.csv"
    if args.watch is not None:
        from .watch import watch

        # A session started again (after a crash, say) goes on where the
        # last one ended: what it left half-written is removed, and the
        # files it finished are not done twice.
        remove_partial_outputs(out_dir)
        finished = completed_inputs(out_dir)
        if finished:
            print(f"{len(finished)} file(s) done in an earlier session: skipped")
        rows = watch(
            Path(args.watch),
            lambda f: apply_one(f, model, entry, args, out_dir),
            on_row=lambda r: (append_summary(summary, r), _report(r)),
            settle=args.settle,
            poll=args.poll,
            idle_timeout=args.idle_timeout,
            max_files=args.max_files,
            skip=finished,
        )
    else:
        files = _inputs(args.inputs)
        if not files:
            raise CommandError(
                "no input files (give files, or folders holding "
                f"{'/'.join(EXTENSIONS)} files).",
                EXIT["usage"],
            )
        from tqdm.auto import tqdm

        rows = []
        bar = tqdm(total=len(files), desc="applying", unit="file", disable=args.quiet)
        for row in _apply_all(files, model, entry, args, out_dir):
            append_summary(summary, row)
            _report(row)
            rows.append(row)
            bar.update(1)
        bar.close()
    failed = [r for r in rows if r["status"] != "ok"]
    print(
        f"{len(rows) - len(failed)} of {len(rows)} file(s) done, {len(failed)} "
        f"failed; summary in {summary}"
    )
    return EXIT["some files failed"] if failed else EXIT["ok"]


# -- parser ---------------------------------------------------------------------
EPILOG = """examples:
  eels-ae list
  eels-ae train first.dm4 --algorithm daeu --n-components 3 -o session.safetensors
  eels-ae train first.dm4 --algorithm denoise_ae --param max_epochs=30 \\
      --param "background_range=(500., 525.)" -o denoiser.safetensors
  eels-ae info session.safetensors
  eels-ae compare first.dm4 -n 3            # which unmixing name to trust
  eels-ae apply session.safetensors second.dm4 third.dm3 -o results/
  eels-ae apply session.safetensors --watch /data/today -o results/
  eels-ae apply session.safetensors /data/archive --workers 2 -o results/

exit codes: 0 done; 1 some input files failed (the others were done);
2 bad command line; 3 unusable model file; 4 unreadable input file;
5 training failed on the data; 130 interrupted.
"""


def build_parser():
    p = argparse.ArgumentParser(
        prog="eels-ae",
        description="Train eels_ae models on EELS spectrum images and apply them "
        "to later acquisitions (dm4, dm3, hspy, zspy).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Every sub-command's --help ends with the examples and exit codes.
    help_text = dict(
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--device",
        default=None,
        help="auto (CUDA when present), cpu or cuda[:N] (default: the model's)",
    )
    common.add_argument(
        "--lazy",
        action="store_true",
        help="load the data lazily (dask): for files larger than memory",
    )
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    sub.add_parser(
        "list",
        help="the algorithms: what train and apply know",
        **help_text,
    ).set_defaults(func=cmd_list)

    t = sub.add_parser(
        "train",
        parents=[common],
        help="train a model on one acquisition and save it",
        **help_text,
    )
    t.add_argument("file", help="a dm4/dm3/hspy/zspy spectrum image")
    t.add_argument(
        "-a",
        "--algorithm",
        required=True,
        help=f"one of: {', '.join(registry.trainable())}",
    )
    t.add_argument(
        "-n", "--n-components", type=int, help="number of endmembers (unmixing)"
    )
    t.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="an estimator parameter (repeatable), e.g. max_epochs=50",
    )
    _add_energy_options(
        t,
        "remove before training; the model does the same to every file it is "
        "applied to",
    )
    t.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    t.add_argument(
        "-o", "--output", help="model file (default FILE_ALGORITHM.safetensors)"
    )
    t.add_argument("--overwrite", action="store_true", help="replace --output")
    t.set_defaults(func=cmd_train)

    a = sub.add_parser(
        "apply",
        parents=[common],
        help="apply a model to files, folders, or a folder that fills (--watch)",
        **help_text,
    )
    a.add_argument("model", help="a model file from eels-ae train or model.save()")
    a.add_argument("inputs", nargs="*", help="files or folders")
    a.add_argument("-o", "--output", default="eels_ae_results", help="output folder")
    a.add_argument(
        "--energy-axis",
        choices=("strict", "resample"),
        default="strict",
        help="a file on another energy axis: fail (strict) or interpolate it "
        "onto the model's axis (resample)",
    )
    a.add_argument(
        "--watch",
        metavar="DIR",
        help="apply to each new file in DIR as it lands, until Ctrl+C",
    )
    a.add_argument(
        "--settle",
        type=float,
        default=2.0,
        help="seconds a file's size must stay unchanged before it is read (watch)",
    )
    a.add_argument("--poll", type=float, default=1.0, help="seconds between scans")
    a.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        help="stop watching after this many seconds without a new file",
    )
    a.add_argument(
        "--max-files", type=int, default=None, help="stop watching after N files"
    )
    a.add_argument(
        "--workers",
        type=int,
        default=0,
        help="apply to N files at a time on a local dask.distributed cluster "
        "(N worker processes, one thread each)",
    )
    a.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="apply on an existing dask.distributed cluster (tcp://host:8786)",
    )
    a.set_defaults(func=cmd_apply)

    c = sub.add_parser(
        "compare",
        parents=[common],
        help="run the unmixing names on a file and say which result to trust",
        **help_text,
    )
    c.add_argument("file", help="a dm4/dm3/hspy/zspy spectrum image")
    c.add_argument(
        "-n", "--n-components", type=int, required=True, help="number of endmembers"
    )
    c.add_argument(
        "--algorithms",
        help="comma-separated names to compare (default: every unmixing name)",
    )
    c.add_argument(
        "--seeds", type=int, default=2, help="fits per name (stability; default 2)"
    )
    _add_energy_options(c, "remove from each half of the counts before unmixing")
    c.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    c.add_argument(
        "-o", "--output", help="JSON summary (default FILE_compare.json; PNG beside)"
    )
    c.add_argument("--overwrite", action="store_true", help="replace --output")
    c.set_defaults(func=cmd_compare)

    i = sub.add_parser(
        "info",
        help="what a model file holds (algorithm, parameters, axis, versions)",
        **help_text,
    )
    i.add_argument("model")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(func=cmd_info)
    return p


def _hide_dependency_deprecations():
    """The user of a command sees what concerns them: not the notes that a
    dependency imports HyperSpy's lazy classes from their old place (exspy
    does, on every call). eels_ae's own warnings stay visible."""
    warnings.filterwarnings(
        "ignore", message=r"Importing `\w+` from `hyperspy\._signals"
    )


def main(argv=None):
    """Entry point of the ``eels-ae`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    if getattr(args, "command", None) == "apply":
        if args.watch is None and not args.inputs:
            print(
                "eels-ae apply: give input files or folders, or --watch DIR.",
                file=sys.stderr,
            )
            return EXIT["usage"]
    _hide_dependency_deprecations()
    import matplotlib

    matplotlib.use("agg")
    import hyperspy.api as hs

    import eels_ae  # noqa: F401 - installs the algorithm names and methods

    hs.preferences.General.show_progressbar = False
    # A warning reads "eels-ae train: warning: ..." on one line, without the
    # source line Python would quote (the console script's own).
    formatwarning = warnings.formatwarning
    warnings.formatwarning = lambda message, category, *_, **__: (
        f"eels-ae {args.command}: {category.__name__}: {message}\n"
    )
    try:
        return args.func(args)
    except CommandError as err:
        print(f"eels-ae {args.command}: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print(f"eels-ae {args.command}: interrupted", file=sys.stderr)
        return EXIT["interrupted"]
    finally:
        warnings.formatwarning = formatwarning


if __name__ == "__main__":
    sys.exit(main())
