"""Bad and edge inputs across the entry points: what each one gets.

Each case says what should happen (a clear error, or a correct result) and
is classified by what does happen:

- ``clear error``: an exception raised by eels_ae's own code (its message
  is shown in the table);
- ``crash``: an exception from inside torch, numpy, dask or HyperSpy;
- ``works`` / ``accepted``: no exception (``accepted`` where an error was
  expected: garbage in, garbage out).

Run it on the code to compare (``PYTHONPATH`` pointing at another checkout
measures that one) and merge::

    python benchmarks/robustness.py --label before   # with the old code
    python benchmarks/robustness.py --label after
    python benchmarks/robustness.py --merge

Trainings are one or two epochs on tiny data: this is about errors, not
speed.
"""

from __future__ import annotations

import argparse
import json
import traceback
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def cases():
    """``(name, expected, function)`` of every case."""
    import dask.array as da
    import hyperspy.api as hs
    from scipy import sparse

    import eels_ae

    rng = np.random.default_rng(0)
    E = np.linspace(0, 1, 40)
    M = np.stack([np.exp(-(((E - c) / 0.1) ** 2)) + 0.1 for c in (0.3, 0.6, 0.8)])
    A = rng.dirichlet(np.ones(3), size=(8, 10))
    cube = rng.poisson(200 * A @ M).astype(np.float32)
    X = cube.reshape(-1, 40)
    q = dict(max_epochs=1, show_progressbar=False, random_state=0)
    daeu = dict(q, warmup_epochs=0, batch_size=16)

    def with_nan(a):
        a = a.copy()
        a[2, 3] = np.nan
        return a

    def signal(a=cube):
        return hs.signals.Signal1D(a.copy())

    def fitted_dae():
        return eels_ae.DenoisingAE(**q).fit(signal())

    def reused_estimator():
        est = eels_ae.VCA(3, random_state=0)
        s1, s2 = signal(), signal(cube[:4])
        s1.decomposition(algorithm=est, output_dimension=3, print_info=False)
        before = s1.learning_results.decomposition_algorithm.components_.copy()
        s2.decomposition(algorithm=est, output_dimension=3, print_info=False)
        after = s1.learning_results.decomposition_algorithm.components_
        if not np.array_equal(before, after):
            raise AssertionError("WRONG: the first signal's model was refitted")

    def lazy_mask():
        mask = np.zeros((8, 10), bool)
        mask[0, 0] = True
        signal().as_lazy().decomposition(
            algorithm="vca", output_dimension=3, navigation_mask=mask
        )

    def poisson_leaves_data():
        s = signal()
        before = s.data.copy()
        try:
            s.decomposition(
                algorithm="daeu",
                output_dimension=3,
                normalize_poissonian_noise=True,
                dropout=5.0,
            )
        except ValueError:
            pass
        if not np.array_equal(s.data, before):
            diff = np.abs(s.data - before).max()
            raise AssertionError(f"WRONG: the data changed (by up to {diff:.2g})")

    def poisson_says_loadings():
        s = signal()
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            s.decomposition(
                algorithm="vca",
                output_dimension=3,
                normalize_poissonian_noise=True,
                print_info=False,
            )
        sums = np.asarray(s.learning_results.loadings).sum(axis=1)
        said = any("sum to one" in str(w.message) for w in seen)
        if not np.allclose(sums, 1.0) and not said:
            raise AssertionError(
                f"WRONG: loadings sum to {sums.min():.3g}-{sums.max():.3g}, "
                "without a word"
            )

    def mostly_negative():
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            eels_ae.DAEU(3, **daeu).fit(X - 2 * X.max())
        if not any("negative" in str(w.message) for w in seen):
            raise AssertionError("WRONG: garbage endmembers without a word")

    def random_start():
        syn = eels_ae.data.chequerboard_spectrum_image(
            "ml", shape=(32, 32), dose=5000.0, random_state=7
        )
        Xs = syn.signal.data.reshape(-1, 200)
        est = eels_ae.DAEU(3, init="random", random_state=1, show_progressbar=False)
        est.fit(Xs)
        sad = eels_ae.metrics.unmixing_scores(
            syn.endmember_array,
            syn.abundance_array,
            est.components_,
            est.transform(Xs).T,
        ).mean_sad_deg
        if sad > 20:
            raise AssertionError(f"WRONG: endmembers {sad:.0f} degrees from the truth")

    def rank_one():
        one = np.outer(rng.uniform(0.5, 2, 200), M[0]) * 300
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            eels_ae.DAEU(3, **daeu).fit(rng.poisson(one).astype(float))
        if not any("component" in str(w.message) for w in seen):
            raise AssertionError("WRONG: 3 endmembers from rank-1 data without a word")

    unknown = da.from_array(X, chunks=(20, 40))
    unknown = unknown[unknown[:, 0] > 0]
    return [
        ("DAEU.fit: NaN", "error", lambda: eels_ae.DAEU(3, **daeu).fit(with_nan(X))),
        (
            "DAEU.fit: inf",
            "error",
            lambda: eels_ae.DAEU(3, **daeu).fit(np.where(X == X.max(), np.inf, X)),
        ),
        ("DAEU.fit: 1-D array", "error", lambda: eels_ae.DAEU(3, **daeu).fit(X[0])),
        ("DAEU.fit: strings", "error", lambda: eels_ae.DAEU(3).fit(X.astype(str))),
        ("VCA.fit: complex data", "error", lambda: eels_ae.VCA(3).fit(X + 1j)),
        (
            "VCA.fit: sparse matrix",
            "error",
            lambda: eels_ae.VCA(3).fit(sparse.csr_matrix(X)),
        ),
        ("VCA.fit: no spectra", "error", lambda: eels_ae.VCA(3).fit(X[:0])),
        ("DAEU: n_components > channels", "error", lambda: eels_ae.DAEU(50).fit(X)),
        ("DAEU: n_components=0", "error", lambda: eels_ae.DAEU(0).fit(X)),
        (
            "DAEU: learning_rate='0.01'",
            "error",
            lambda: eels_ae.DAEU(3, **dict(daeu, learning_rate="0.01")).fit(X),
        ),
        (
            "DAEU: random_state=-1",
            "error",
            lambda: eels_ae.DAEU(3, **dict(daeu, random_state=-1)).fit(X),
        ),
        (
            "DAEU: hidden_factors=(0,)",
            "error",
            lambda: eels_ae.DAEU(3, hidden_factors=(0,), **daeu).fit(X),
        ),
        (
            "DAEU: warmup_epochs=-1",
            "error",
            lambda: eels_ae.DAEU(3, **dict(daeu, warmup_epochs=-1)).fit(X),
        ),
        (
            "DAEU: decoder_lr_factor=-1",
            "error",
            lambda: eels_ae.DAEU(3, decoder_lr_factor=-1, **daeu).fit(X),
        ),
        (
            "DAEU: dropout=1.5",
            "error",
            lambda: eels_ae.DAEU(3, dropout=1.5, **daeu).fit(X),
        ),
        (
            "DAEU: callbacks=[1]",
            "error",
            lambda: eels_ae.DAEU(3, callbacks=[1], **daeu).fit(X),
        ),
        (
            "DAEU.fit: dask chunks of unknown size",
            "error",
            lambda: eels_ae.DAEU(3, **daeu).fit(unknown),
        ),
        (
            "DAEU.fit: reversed energy axis (negative strides)",
            "works",
            lambda: eels_ae.DAEU(3, **daeu).fit(X[:, ::-1]).transform(X[:, ::-1]),
        ),
        (
            "DAEU.fit: 145 x 113 spectra at 1024 channels (a block of one row)",
            "works",
            lambda: eels_ae.DAEU(3, **daeu).fit(
                rng.random((145 * 113, 1024), dtype=np.float32)
            ),
        ),
        ("DAEU.fit: mostly negative data (warning)", "works", mostly_negative),
        (
            "DAEU.fit: int16 counts",
            "works",
            lambda: eels_ae.DAEU(3, **daeu).fit(X.astype(np.int16)),
        ),
        (
            "DAEU.transform: wrong channel count",
            "error",
            lambda: eels_ae.VCA(3, random_state=0).fit(X).transform(X[:, :30]),
        ),
        (
            "s.decomposition('vca'): int16 signal",
            "works",
            lambda: signal(cube.astype(np.int16)).decomposition(
                algorithm="vca", output_dimension=3, print_info=False
            ),
        ),
        ("lazy s.decomposition: navigation_mask", "error", lazy_mask),
        (
            "s.decomposition(normalize_poissonian_noise=True): failed call, data",
            "works",
            poisson_leaves_data,
        ),
        (
            "s.decomposition(normalize_poissonian_noise=True): loadings vs abundances",
            "works",
            poisson_says_loadings,
        ),
        (
            "s.decomposition: one fitted estimator object on two signals",
            "works",
            reused_estimator,
        ),
        ("VAE: latent_dim=0", "error", lambda: eels_ae.VAE(latent_dim=0, **q).fit(X)),
        (
            "VAE: poisson on negative data",
            "error",
            lambda: eels_ae.VAE(likelihood="poisson", **q).fit(X - 300),
        ),
        ("VAE: beta=-1", "error", lambda: eels_ae.VAE(beta=-1, **q).fit(X)),
        ("s.vae(laten_dim=2) (typo)", "error", lambda: signal().vae(laten_dim=2)),
        (
            "RVAE: window larger than the maps",
            "error",
            lambda: eels_ae.RVAE(window=20, **q).fit(A),
        ),
        (
            "RVAE.fit: NaN in the maps",
            "error",
            lambda: eels_ae.RVAE(window=4, **q).fit(with_nan(A)),
        ),
        (
            "RVAE: translation_prior=0",
            "error",
            lambda: eels_ae.RVAE(window=4, translation_prior=0.0, **q).fit(A),
        ),
        (
            "DenoisingAE: neighbourhood=2",
            "error",
            lambda: eels_ae.DenoisingAE(neighbourhood=2, **q).fit(signal()),
        ),
        (
            "DenoisingAE.fit: a 9-pixel line scan (too few spectra)",
            "error",
            lambda: eels_ae.DenoisingAE(**q).fit(cube[:1, :9]),
        ),
        ("DAEU: init='random' (endmembers from scratch)", "works", random_start),
        ("DAEU.fit: rank-1 data, 3 components (warning)", "works", rank_one),
        (
            "DenoisingAE: 4 channels",
            "error",
            lambda: eels_ae.DenoisingAE(**q).fit(cube[..., :4]),
        ),
        (
            "DenoisingAE: mask_fraction=1.5",
            "error",
            lambda: eels_ae.DenoisingAE(target="self", mask_fraction=1.5, **q).fit(
                cube
            ),
        ),
        (
            "DenoisingAE.transform: NaN",
            "error",
            lambda: fitted_dae().transform(with_nan(cube)),
        ),
        (
            "LatentClassifier.predict: NaN",
            "error",
            lambda: (
                eels_ae.LatentClassifier(fitted_dae())
                .fit([cube[:4], cube[4:]], [0, 1])
                .predict(with_nan(cube))
            ),
        ),
        (
            "LatentClassifier: C=-1",
            "error",
            lambda: eels_ae.LatentClassifier(fitted_dae(), C=-1.0).fit(
                [cube[:4], cube[4:]], [0, 1]
            ),
        ),
    ]


def entry_point_cases():
    """The same kinds of input over every unmixing name and every signal
    method (issue 24's probe): each name with NaN, inf, too few pixels, too
    many components, no output_dimension, one component, a misspelt
    keyword, HyperSpy's runtime options, integer counts, a lazy signal,
    data beyond float32, an over-subtracted background, rank-1 data, a
    spike, an estimator object that disagrees with output_dimension; the
    methods with ``model=``; ``apply_model`` with bad models, files, axes
    and keywords."""
    import hyperspy.api as hs

    import eels_ae

    rng = np.random.default_rng(1)
    E = np.linspace(0, 1, 48)
    M = np.stack([np.exp(-(((E - c) / 0.08) ** 2)) + 0.2 for c in (0.3, 0.55, 0.8)])
    A = rng.dirichlet(np.ones(3), size=(10, 12))
    cube = rng.poisson(300 * A @ M).astype(np.float32)

    def signal(a=cube, units="eV"):
        s = hs.signals.Signal1D(np.array(a))
        ax = s.axes_manager.signal_axes[0]
        ax.offset, ax.scale, ax.units = 400.0, 1.0, units
        return s

    fast = {
        "daeu": dict(max_epochs=2, warmup_epochs=1),
        "udas": dict(max_epochs=2, warmup_epochs=1),
        "mtaeu": dict(max_epochs=2, warmup_epochs=1),
        "cnnaeu": dict(max_epochs=2, warmup_epochs=1),
        "vaeu": dict(max_epochs=2, warmup_epochs=1),
    }

    def decompose(name, s, n=3, warning=None, **kw):
        """Run it; with ``warning`` (a text, or several alternatives), WRONG
        unless a warning says it; a result that "works" must be abundances
        summing to one."""
        kw = {**fast.get(name, {}), "random_state": 0, "print_info": False, **kw}
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            s.decomposition(algorithm=name, output_dimension=n, **kw)
        if warning is not None:
            said = " ".join(str(w.message) for w in seen)
            alternatives = (warning,) if isinstance(warning, str) else warning
            if not any(text in said for text in alternatives):
                raise AssertionError(f"WRONG: no warning saying {warning!r}")
            return
        L = np.asarray(s.learning_results.loadings)
        if not np.allclose(L.sum(axis=1), 1.0, atol=1e-3):
            raise AssertionError("WRONG: abundances do not sum to one")

    def with_value(value, where=(3, 4, 10)):
        a = cube.copy()
        a[where] = value
        return a

    def over_subtracted():
        return cube - 1.5 * cube.mean(axis=(0, 1))

    def rank_one():
        return rng.poisson(np.tile(300 * M[0], (10, 12, 1))).astype(np.float32)

    def spiked():
        a = cube.copy()
        a[4, 5, 20:22] = 60 * a.mean()
        return a

    out = []
    for name in sorted(eels_ae.ALGORITHMS):
        d = name
        out += [
            (
                f"s.decomposition({d!r}): NaN pixel",
                "error",
                lambda d=d: decompose(d, signal(with_value(np.nan))),
            ),
            (
                f"s.decomposition({d!r}): inf pixel",
                "error",
                lambda d=d: decompose(d, signal(with_value(np.inf))),
            ),
            (
                f"s.decomposition({d!r}): values of 1e300",
                "error",
                lambda d=d: decompose(d, signal(cube.astype(float) * 1e298)),
            ),
            (
                f"s.decomposition({d!r}): a single spectrum",
                "error",
                lambda d=d: decompose(d, signal(cube[0, 0])),
            ),
            (
                f"s.decomposition({d!r}): more components than channels",
                "error",
                lambda d=d: decompose(d, signal(), n=60),
            ),
            (
                f"s.decomposition({d!r}): no output_dimension",
                "error",
                lambda d=d: decompose(d, signal(), n=None),
            ),
            (
                f"s.decomposition({d!r}): misspelt keyword",
                "error",
                lambda d=d: decompose(d, signal(), random_stat=0),
            ),
            (
                f"s.decomposition({d!r}): show_progressbar=False",
                "works",
                lambda d=d: decompose(d, signal(), show_progressbar=False),
            ),
            (
                f"s.decomposition({d!r}): int16 counts",
                "works",
                lambda d=d: decompose(d, signal(cube.astype(np.int16))),
            ),
            (
                f"s.decomposition({d!r}): lazy signal",
                "works",
                lambda d=d: decompose(d, signal().as_lazy()),
            ),
            (
                f"s.decomposition({d!r}): output_dimension=1 (warning)",
                "works",
                lambda d=d: decompose(d, signal(), n=1, warning="nothing is unmixed"),
            ),
            (
                f"s.decomposition({d!r}): rank-1 data, 3 components (warning)",
                "works",
                lambda d=d: decompose(
                    d,
                    signal(rank_one()),
                    # The component count's warning, or the result check's.
                    warning=("can only fit noise", "Compare the result"),
                ),
            ),
        ]
    for name in ("vca", "nfindr", "daeu", "udas"):
        d = name
        out += [
            (
                f"s.decomposition({d!r}): over-subtracted background (warning)",
                "works",
                lambda d=d: decompose(
                    d, signal(over_subtracted()), n=2, warning="Compare the result"
                ),
            ),
            (
                f"s.decomposition({d!r}): a spike taken for a phase (warning)",
                "works",
                lambda d=d: decompose(d, signal(spiked()), warning="few pixels"),
            ),
        ]
    for cls in ("VCA", "DAEU"):
        c = cls
        out.append(
            (
                f"s.decomposition({c}(2), output_dimension=4)",
                "error",
                lambda c=c: signal().decomposition(
                    algorithm=getattr(eels_ae, c)(2), output_dimension=4
                ),
            )
        )

    # Methods with model=: runtime options accepted, model options refused.
    def trained(method, **kw):
        return getattr(signal(), method)(
            max_epochs=1,
            random_state=0,
            show_progressbar=False,
            return_model=True,
            **kw,
        )[1]

    def method_with_model(method, **options):
        model = trained(method)
        before = model.get_params()["show_progressbar"]
        getattr(signal(), method)(model=model, **options)
        if model.get_params()["show_progressbar"] != before:
            raise AssertionError("WRONG: the call changed the model's setting")

    for method in ("denoise_ae", "vae"):
        m = method
        out += [
            (
                f"s.{m}(model=m, show_progressbar=False)",
                "works",
                lambda m=m: method_with_model(m, show_progressbar=False),
            ),
            (
                f"s.{m}(model=m, device='cpu')",
                "works",
                lambda m=m: method_with_model(m, device="cpu"),
            ),
            (
                f"s.{m}(model=m, max_epochs=3)",
                "error",
                lambda m=m: method_with_model(m, max_epochs=3),
            ),
            (
                f"s.{m}(model=m, show_progressbar='no')",
                "error",
                lambda m=m: method_with_model(m, show_progressbar="no"),
            ),
            (
                f"s.{m}(model=<a VCA>)",
                "error",
                lambda m=m: getattr(signal(), m)(model=eels_ae.VCA(2)),
            ),
            (
                f"s.{m}(): NaN pixel",
                "error",
                lambda m=m: getattr(signal(with_value(np.nan)), m)(max_epochs=1),
            ),
        ]

    def lazy_nan_denoise():
        model = trained("denoise_ae")
        signal(with_value(np.nan)).as_lazy().denoise_ae(model=model).compute()

    out.append(("lazy s.denoise_ae(model=m): NaN pixel", "error", lazy_nan_denoise))

    # apply_model.
    def vca_model():
        s = signal()
        s.decomposition(algorithm="vca", output_dimension=3, print_info=False)
        return s.learning_results.decomposition_algorithm

    def apply(target, model=None, **kw):
        target.apply_model(vca_model() if model is None else model, **kw)

    def saved(tmp=[]):  # noqa: B006 - one folder for the probe
        import tempfile

        if not tmp:
            tmp.append(Path(tempfile.mkdtemp()))
        return vca_model().save(tmp[0] / "vca.safetensors")

    out += [
        ("apply_model: unknown keyword", "error", lambda: apply(signal(), foo=1)),
        (
            "apply_model: show_progressbar=False",
            "works",
            lambda: apply(signal(), show_progressbar=False),
        ),
        (
            "apply_model: an axis in keV for eV",
            "error",
            lambda: apply(signal(units="keV")),
        ),
        ("apply_model: other channels", "error", lambda: apply(signal(cube[..., :40]))),
        (
            "apply_model: energy_axis='fuzzy'",
            "error",
            lambda: apply(signal(), energy_axis="fuzzy"),
        ),
        (
            "apply_model: an unfitted model",
            "error",
            lambda: apply(signal(), model=eels_ae.VCA(3)),
        ),
        (
            "apply_model: a missing file",
            "error",
            lambda: apply(signal(), model="/nonexistent/model.safetensors"),
        ),
        (
            "apply_model: bytes that are not a model",
            "error",
            lambda: apply(signal(), model=b"not a model at all"),
        ),
        ("apply_model: NaN pixel", "error", lambda: apply(signal(with_value(np.nan)))),
        ("apply_model: lazy signal", "works", lambda: apply(signal().as_lazy())),
        ("apply_model: a model file", "works", lambda: apply(signal(), model=saved())),
        (
            "apply_model: a model file, lazy",
            "works",
            lambda: apply(signal().as_lazy(), model=saved()),
        ),
    ]

    # Estimators directly.
    X = cube.reshape(-1, cube.shape[-1]).astype(float)
    out += [
        (
            "VCA.inverse_transform: wrong number of columns",
            "error",
            lambda: (
                eels_ae.VCA(3, random_state=0).fit(X).inverse_transform(np.ones((4, 2)))
            ),
        ),
        (
            "DAEU.inverse_transform: wrong number of columns",
            "error",
            lambda: (
                eels_ae.DAEU(3, max_epochs=1, show_progressbar=False)
                .fit(X)
                .inverse_transform(np.ones((4, 5)))
            ),
        ),
        (
            "RVAE: noise_variance of the wrong length",
            "error",
            lambda: eels_ae.RVAE(
                noise_variance=[0.1, 0.2],
                window=4,
                max_epochs=1,
                show_progressbar=False,
            ).fit(A),
        ),
        ("VCA.fit: values of 1e300", "error", lambda: eels_ae.VCA(3).fit(X * 1e298)),
        (
            "DAEU.fit: values of 1e300",
            "error",
            lambda: eels_ae.DAEU(3, max_epochs=1, show_progressbar=False).fit(
                X * 1e298
            ),
        ),
        (
            "estimate_n_components: NaN",
            "error",
            lambda: eels_ae.estimate_n_components(with_value(np.nan)),
        ),
    ]
    return out


def classify(fn, expected):
    """``(outcome, message)`` of one case."""
    import eels_ae

    package = str(Path(eels_ae.__file__).parent)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except Exception as err:  # noqa: BLE001 - every failure is classified
        if str(err).startswith("WRONG"):
            return "wrong result", str(err)
        frames = traceback.extract_tb(err.__traceback__)
        # Raised by a `raise` of eels_ae, not by torch/numpy called from it.
        ours = (
            bool(frames)
            and frames[-1].filename.startswith(package)
            and (frames[-1].line or "").lstrip().startswith("raise")
        )
        kind = "clear error" if ours else "crash"
        return kind, f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"
    return ("works" if expected == "works" else "accepted"), ""


def run(label):
    import eels_ae

    rows = []
    for name, expected, fn in cases() + entry_point_cases():
        outcome, message = classify(fn, expected)
        rows.append(
            dict(case=name, expected=expected, outcome=outcome, message=message)
        )
        print(f"{name:60s} {outcome:12s} {message[:90]}")
    where = str(Path(eels_ae.__file__).parent)
    payload = dict(label=label, eels_ae=where, rows=rows)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"robustness_{label}.json").write_text(json.dumps(payload, indent=1))


def merge():
    from _common import machine_info, machine_markdown

    before = json.loads((RESULTS / "robustness_before.json").read_text())["rows"]
    after = json.loads((RESULTS / "robustness_after.json").read_text())["rows"]
    old = {r["case"]: r for r in before}

    def good(r):
        return (r["expected"] == "error" and r["outcome"] == "clear error") or (
            r["expected"] == "works" and r["outcome"] == "works"
        )

    n_before = sum(good(old[r["case"]]) for r in after if r["case"] in old)
    n_after = sum(good(r) for r in after)

    def tally(rows):
        kinds = ("clear error", "works", "accepted", "wrong result", "crash")
        return ", ".join(f"{sum(r['outcome'] == k for r in rows)} {k}" for k in kinds)

    lines = [
        "# Bad and edge inputs: what each gets",
        "",
        "`python benchmarks/robustness.py` on the code before the result "
        "checks and runtime options (commit d3582ee, `--label before`) and "
        "after them. A clear error is raised by eels_ae itself with a message "
        "saying what is wrong; a crash comes from inside torch, numpy, dask or "
        "HyperSpy; accepted means no error where one was due; a wrong result "
        "is a result that is not what it should be (abundances that do not "
        "sum to one, a meaningless result without the warning that says so). "
        "Goal: no accepted, wrong result or crash. One process, machine "
        "otherwise idle.",
        "",
        f"Good outcomes: {n_before} of {len(after)} before, {n_after} of "
        f"{len(after)} after.",
        "",
        f"- before: {tally([old[r['case']] for r in after if r['case'] in old])} "
        f"({sum(r['case'] not in old for r in after)} cases not run before)",
        f"- after: {tally(after)}",
        "",
        "| case | expected | before | after | message (after) |",
        "|---|---|---|---|---|",
    ]
    for r in after:
        b = old.get(r["case"], {}).get("outcome", "")
        msg = r["message"].replace("|", "\\|")
        lines.append(
            f"| {r['case']} | {r['expected']} | {b} | {r['outcome']} | {msg} |"
        )
    lines += ["", machine_markdown(machine_info())]
    (RESULTS / "robustness.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:6]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="after")
    parser.add_argument("--merge", action="store_true")
    args = parser.parse_args()
    merge() if args.merge else run(args.label)
