"""The package is a HyperSpy extension and leaves HyperSpy's own names alone."""

import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import yaml

import eels_ae


def test_entry_point_and_yaml_are_found():
    eps = importlib.metadata.entry_points(group="hyperspy.extensions")
    names = {ep.name: ep.value for ep in eps}
    assert names.get("eels_ae") == "eels_ae"
    yaml_path = Path(eels_ae.__file__).parent / "hyperspy_extension.yaml"
    assert isinstance(yaml.safe_load(yaml_path.read_text()), dict)


def test_hyperspy_enables_the_extension_on_import():
    code = (
        "import logging; logging.basicConfig(level=logging.INFO); import hyperspy.api"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "Enabling extension eels_ae" in out.stderr


def test_import_twice_changes_nothing():
    from hyperspy._signals.lazy import LazySignal
    from hyperspy.learn._mva import MVA

    before = (MVA.decomposition, LazySignal.decomposition)
    importlib.reload(eels_ae)
    eels_ae.install()
    assert (MVA.decomposition, LazySignal.decomposition) == before
    original = MVA.decomposition.__eels_ae_original__
    assert not hasattr(original, "__eels_ae_original__")


_HYPERSPY_ONLY = textwrap.dedent(
    """
    import sys
    import numpy as np
    import hyperspy.api as hs
    {maybe_import}
    rng = np.random.default_rng(3)
    data = rng.poisson(rng.random((12, 10, 3)) @ rng.random((3, 40)) * 50).astype(float)
    out = {{}}
    for alg in ("SVD", "NMF"):
        s = hs.signals.Signal1D(data.copy())
        kw = dict(random_state=0, max_iter=300) if alg == "NMF" else {{}}
        s.decomposition(algorithm=alg, output_dimension=3, print_info=False, **kw)
        out[alg + "_factors"] = s.learning_results.factors
        out[alg + "_loadings"] = s.learning_results.loadings
    lazy = hs.signals.Signal1D(data.copy()).as_lazy()
    lazy.decomposition(algorithm="SVD", svd_solver="full", output_dimension=3,
                       print_info=False)
    out["lazy_factors"] = np.asarray(lazy.learning_results.factors)
    print("eels_ae" in sys.modules, file=sys.stderr)
    np.savez(sys.argv[1], **out)
    """
)


def test_hyperspy_algorithms_identical_with_and_without_eels_ae(tmp_path):
    results = {}
    for label, maybe_import in (("without", ""), ("with", "import eels_ae")):
        script = tmp_path / f"{label}.py"
        script.write_text(_HYPERSPY_ONLY.format(maybe_import=maybe_import))
        out = tmp_path / f"{label}.npz"
        run = subprocess.run(
            [sys.executable, str(script), str(out)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert run.stderr.strip().endswith(str(label == "with"))
        results[label] = dict(np.load(out))
    assert results["with"].keys() == results["without"].keys()
    for key, value in results["without"].items():
        np.testing.assert_array_equal(results["with"][key], value, err_msg=key)


def test_signal_methods_show_their_parameters():
    """Jupyter's Shift-Tab and IDEs read ``inspect.signature``: a generated
    signal method shows every parameter of its estimator, not ``**params``,
    and a call with them still works as before."""
    import inspect

    from eels_ae import registry
    from eels_ae.hyperspy_glue.signal_methods import SIGNAL_METHODS

    for entry in registry.REGISTRY.values():
        if not entry.method:
            continue
        sig = inspect.signature(SIGNAL_METHODS[entry.method])
        kinds = {p.kind for p in sig.parameters.values()}
        assert inspect.Parameter.VAR_KEYWORD not in kinds, entry.method
        wanted = set(inspect.signature(entry.estimator).parameters)
        assert wanted <= set(sig.parameters), (
            entry.method,
            wanted - set(sig.parameters),
        )
        for name in wanted:
            default = inspect.signature(entry.estimator).parameters[name].default
            assert sig.parameters[name].default == default, (entry.method, name)
