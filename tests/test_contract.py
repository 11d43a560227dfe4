"""The contract every registered algorithm keeps, tested over the registry.

Adding an algorithm to :mod:`eels_ae.registry` without a case here fails
``test_every_registered_algorithm_has_a_contract_case``; with one, it gets
all the tests below (shapes, seeds, lazy = eager, NaN named by pixel, unknown
keywords listed, model-file round trip, damaged files refused, input never
modified, ``learning_results`` kept on failure) and scikit-learn's own
estimator checks.
"""

from __future__ import annotations

import copy
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import dask.array as da
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

import eels_ae
from eels_ae import ModelFileError, load_model, model_info, registry
from eels_ae.data import chequerboard_spectrum_image, lowdose_spectrum_image, motif_maps

QUICK = dict(max_epochs=2, random_state=0, show_progressbar=False, device="cpu")


@pytest.fixture(scope="module")
def inputs():
    """Small data of each input kind, made by three different generators."""
    syn = chequerboard_spectrum_image("ml", shape=(12, 16), block=4, random_state=11)
    low = lowdose_spectrum_image(
        shape=(8, 16), n_channels=96, offset=520.0, random_state=5
    )
    maps = motif_maps((28, 28), min_distance=10, random_state=6)
    return {"spectra": syn.signal, "image": low.signal, "maps": maps.maps}


@pytest.fixture(scope="module")
def denoiser(inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eels_ae.DenoisingAE(**QUICK).fit(inputs["image"])


@dataclass
class Case:
    """How to make, fit and read one algorithm with small settings."""

    make: Callable  # (denoiser, **params) -> unfitted estimator
    data: str  # key of ``inputs``
    fit: Callable  # (estimator, X) -> fitted estimator
    output: Callable  # (fitted, X) -> array
    n_rows: Callable  # (X) -> rows of the output
    neural: bool = True


def _flat(X):
    return X.reshape(-1, X.shape[-1])


def _labels(X):
    rows, cols = X.shape[:2]
    return (np.arange(rows * cols) % 2).reshape(rows, cols)


def _on_spectra(make, image=False, neural=True):
    """The case of an estimator of spectra (given the image when ``image``,
    as spatial algorithms take it): one output row per pixel."""
    prep = (lambda X: X) if image else _flat
    return Case(
        make=make,
        data="spectra",
        fit=lambda m, X: m.fit(prep(X)),
        output=lambda m, X: m.transform(prep(X)),
        n_rows=lambda X: int(np.prod(X.shape[:-1])),
        neural=neural,
    )


CASES = {
    "daeu": _on_spectra(
        lambda d, **p: eels_ae.DAEU(
            3, warmup_epochs=1, batch_size=32, **{**QUICK, **p}
        ),
    ),
    "udas": _on_spectra(
        lambda d, **p: eels_ae.UDAS(
            3, warmup_epochs=1, batch_size=32, **{**QUICK, **p}
        ),
    ),
    "vaeu": _on_spectra(
        lambda d, **p: eels_ae.VAEU(
            3, warmup_epochs=1, batch_size=32, **{**QUICK, **p}
        ),
    ),
    "mtaeu": _on_spectra(
        lambda d, **p: eels_ae.MTAEU(
            3, warmup_epochs=1, batch_size=32, **{**QUICK, **p}
        ),
        image=True,
    ),
    "cnnaeu": _on_spectra(
        lambda d, **p: eels_ae.CNNAEU(
            3, warmup_epochs=1, patch_size=6, batch_size=4, **{**QUICK, **p}
        ),
        image=True,
    ),
    "vca": _on_spectra(
        lambda d, **p: eels_ae.VCA(3, **{"random_state": 0, **p}),
        neural=False,
    ),
    "drift_aware": _on_spectra(
        lambda d, **p: eels_ae.DriftAwareUnmixing(3, **{"random_state": 0, **p}),
        neural=False,
    ),
    "nfindr": _on_spectra(
        lambda d, **p: eels_ae.NFINDR(3, **{"random_state": 0, **p}),
        neural=False,
    ),
    "vae": _on_spectra(
        lambda d, **p: eels_ae.VAE(**{**QUICK, **p}),
    ),
    "rvae": Case(
        make=lambda d, **p: eels_ae.RVAE(
            **{"window": 8, "hidden_width": 16, "patches_per_epoch": 200, **QUICK, **p}
        ),
        data="maps",
        fit=lambda m, X: m.fit(X),
        output=lambda m, X: m.transform(X),
        n_rows=lambda X: (X.shape[0] - 7) * (X.shape[1] - 7),
    ),
    "denoise_ae": Case(
        make=lambda d, **p: eels_ae.DenoisingAE(**{**QUICK, **p}),
        data="image",
        fit=lambda m, X: m.fit(X),
        output=lambda m, X: m.denoise(X).reshape(-1, X.shape[-1]),
        n_rows=lambda X: int(np.prod(X.shape[:-1])),
    ),
    "latent_classifier": Case(
        make=lambda d, **p: eels_ae.LatentClassifier(d, **{"random_state": 0, **p}),
        data="image",
        fit=lambda m, X: m.fit(X, _labels(X)),
        output=lambda m, X: m.predict_proba(X).reshape(2, -1).T,
        n_rows=lambda X: int(np.prod(X.shape[:-1])),
        neural=False,
    ),
}
NAMES = sorted(CASES)


def _array(inputs, case):
    X = inputs[case.data]
    return np.asarray(X.data if hasattr(X, "data") else X, dtype=np.float32)


def _fit(case, denoiser, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return case.fit(case.make(denoiser, **params), X)


def test_every_registered_algorithm_has_a_contract_case():
    assert set(registry.REGISTRY) == set(CASES)


@pytest.mark.parametrize("name", NAMES)
def test_fit_gives_one_output_row_per_sample(name, inputs, denoiser):
    case = CASES[name]
    X = _array(inputs, case)
    model = _fit(case, denoiser, X)
    out = case.output(model, X)
    assert out.shape[0] == case.n_rows(X)
    assert np.isfinite(out).all()
    assert isinstance(model, registry.get(name).estimator)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_result_and_input_untouched(name, inputs, denoiser):
    case = CASES[name]
    X = _array(inputs, case)
    before = X.copy()
    a = case.output(_fit(case, denoiser, X), X)
    b = case.output(_fit(case, denoiser, X), X)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, before)  # never modified
    if case.neural:
        c = case.output(_fit(case, denoiser, X, random_state=1), X)
        assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", NAMES)
def test_lazy_input_gives_the_eager_result(name, inputs, denoiser):
    case = CASES[name]
    X = _array(inputs, case)
    lazy = da.from_array(X, chunks=(X.shape[0] // 2,) + X.shape[1:])
    eager = case.output(_fit(case, denoiser, X), X)
    out = case.output(_fit(case, denoiser, lazy), lazy)
    out = out.compute() if hasattr(out, "compute") else out
    np.testing.assert_allclose(out, eager, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_nan_error_names_the_pixel(name, inputs, denoiser):
    case = CASES[name]
    X = _array(inputs, case).copy()
    X[2, 3, 0] = np.nan
    with pytest.raises(ValueError, match=r"non-finite.*pixel \(x=3, y=2\)"):
        _fit_or_apply_signal(name, case, denoiser, X)


def _fit_or_apply_signal(name, case, denoiser, X):
    """The NaN test's entry point: fit on an image (a spectrum image for the
    spectra algorithms, through the estimator's navigation_shape)."""
    if registry.get(name).kind == "unmixing":
        import hyperspy.api as hs

        s = hs.signals.Signal1D(X)
        s.decomposition(algorithm=name, output_dimension=3, print_info=False)
    elif name == "vae":
        case.make(denoiser).fit(_flat(X), navigation_shape=X.shape[:2])
    elif name == "latent_classifier":
        case.make(denoiser).fit(X, _labels(X))
    else:
        case.make(denoiser).fit(X)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_keyword_lists_the_valid_ones(name, denoiser):
    case = CASES[name]
    with pytest.raises(TypeError, match=r"(?s)unexpected keyword.*random_state"):
        case.make(denoiser, not_a_parameter=1)


@pytest.mark.parametrize("name", NAMES)
def test_model_file_round_trip_and_damaged_files(name, inputs, denoiser, tmp_path):
    case = CASES[name]
    X = _array(inputs, case)
    model = _fit(case, denoiser, X)
    path = model.save(tmp_path / "m.safetensors")
    loaded = load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()
    expected = case.output(model, X)
    np.testing.assert_array_equal(case.output(loaded, X), expected)
    # Still pickles and clones; the file says what it holds.
    np.testing.assert_array_equal(
        case.output(pickle.loads(pickle.dumps(loaded)), X), expected
    )
    assert type(clone(loaded)) is type(model)
    info = model_info(path)
    assert info["class"] == type(model).__name__
    assert info["versions"]["eels_ae"] == eels_ae.__version__
    assert len(info["checksum"]) == 64
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "cut.safetensors")
    flipped = bytearray(data)
    flipped[-3] ^= 0xFF
    (tmp_path / "flip.safetensors").write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "flip.safetensors")


BAD = {
    "daeu": dict(dropout=1.5),
    "udas": dict(corruption=1.0),
    "vaeu": dict(variability=0.0),
    "mtaeu": dict(neighbourhood=2),
    "cnnaeu": dict(kernel_size=4),
    "vca": dict(max_init_samples=0),
    "nfindr": dict(max_iter=0),
    "drift_aware": dict(n_iter=0),
    "vae": dict(latent_dim=0),
    "rvae": dict(translation_prior=0.0),
    "denoise_ae": dict(neighbourhood=2),
    "latent_classifier": dict(C=-1.0),
}


@pytest.mark.parametrize("name", NAMES)
def test_bad_parameter_is_named_and_leaves_learning_results(name, inputs, denoiser):
    case = CASES[name]
    s = inputs["spectra"].deepcopy()
    s.decomposition(output_dimension=3, print_info=False)
    saved = copy.deepcopy(s.learning_results.__dict__)
    (param,) = BAD[name]
    with pytest.raises(ValueError, match=param):
        entry = registry.get(name)
        if entry.kind == "unmixing":
            s.decomposition(
                algorithm=name, output_dimension=3, print_info=False, **BAD[name]
            )
        else:
            _fit(case, denoiser, _array(inputs, case), **BAD[name])
    assert s.learning_results.__dict__.keys() == saved.keys()
    np.testing.assert_array_equal(s.learning_results.factors, saved["factors"])


# -- scikit-learn's own checks --------------------------------------------------
#: Checks an estimator cannot pass, with the reason (scikit-learn marks them
#: as expected failures with the reason shown). Every unmixing estimator, the
#: ensemble, VAE and VAEU pass every check.
_FEW_CHANNELS_DAE = (
    "the check's data have 2-5 features; the denoiser needs at least 8 energy "
    "channels (five stride-2 convolutions) and says so before anything else"
)
_FEW_SPECTRA_DAE = (
    "the check's data hold 56 spectra; the denoiser refuses fewer than 64 (it "
    "would learn one typical spectrum) with a ValueError that says so"
)
_NOT_SAMPLES = (
    "RVAE's input is a stack of maps (rows, columns, channels): a 2-D array is one "
    "map, not samples x features, so the check's row bookkeeping does not apply"
)
EXPECTED_FAILURES = {
    "DAEU": {},
    "UDAS": {},
    "MTAEU": {},
    "CNNAEU": {},
    "VAEU": {},
    "VCA": {},
    "NFINDR": {},
    "DriftAwareUnmixing": {},
    "EnsembleUnmixing": {},
    "VAE": {},
    "RVAE": {
        "check_estimators_empty_data_messages": _NOT_SAMPLES,
        "check_fit2d_1feature": _NOT_SAMPLES,
        "check_fit2d_1sample": _NOT_SAMPLES,
        "check_fit2d_predict1d": _NOT_SAMPLES,
        "check_methods_sample_order_invariance": _NOT_SAMPLES,
        "check_methods_subset_invariance": _NOT_SAMPLES,
        "check_n_features_in": _NOT_SAMPLES,
        "check_n_features_in_after_fitting": _NOT_SAMPLES,
        "check_transformer_data_not_an_array": _NOT_SAMPLES,
        "check_transformer_general": _NOT_SAMPLES,
    },
    "DenoisingAE": {
        "check_dtype_object": _FEW_SPECTRA_DAE,
        "check_dict_unchanged": _FEW_CHANNELS_DAE,
        "check_dont_overwrite_parameters": _FEW_CHANNELS_DAE,
        "check_estimators_dtypes": _FEW_CHANNELS_DAE,
        "check_estimators_fit_returns_self": _FEW_CHANNELS_DAE,
        "check_estimators_nan_inf": _FEW_CHANNELS_DAE,
        "check_estimators_overwrite_params": _FEW_CHANNELS_DAE,
        "check_estimators_pickle": _FEW_CHANNELS_DAE,
        "check_f_contiguous_array_estimator": _FEW_CHANNELS_DAE,
        "check_fit2d_predict1d": _FEW_CHANNELS_DAE,
        "check_fit_check_is_fitted": _FEW_CHANNELS_DAE,
        "check_fit_idempotent": _FEW_CHANNELS_DAE,
        "check_fit_score_takes_y": _FEW_CHANNELS_DAE,
        "check_methods_sample_order_invariance": _FEW_CHANNELS_DAE,
        "check_methods_subset_invariance": _FEW_CHANNELS_DAE,
        "check_n_features_in": _FEW_CHANNELS_DAE,
        "check_n_features_in_after_fitting": _FEW_CHANNELS_DAE,
        "check_pipeline_consistency": _FEW_CHANNELS_DAE,
        "check_positive_only_tag_during_fit": _FEW_CHANNELS_DAE,
        "check_readonly_memmap_input": _FEW_CHANNELS_DAE,
        "check_transformer_data_not_an_array": _FEW_CHANNELS_DAE,
        "check_transformer_general": _FEW_CHANNELS_DAE,
        "check_transformer_preserve_dtypes": _FEW_CHANNELS_DAE,
    },
}


def _sklearn_estimators():
    fast = dict(max_epochs=2, show_progressbar=False, device="cpu", random_state=0)
    return [
        eels_ae.DAEU(2, warmup_epochs=1, batch_size=16, **fast),
        eels_ae.UDAS(2, warmup_epochs=1, batch_size=16, **fast),
        eels_ae.MTAEU(2, warmup_epochs=1, batch_size=16, **fast),
        eels_ae.CNNAEU(2, warmup_epochs=1, batch_size=4, patch_size=4, **fast),
        eels_ae.VAEU(2, warmup_epochs=1, batch_size=16, **fast),
        eels_ae.VCA(2, random_state=0),
        eels_ae.NFINDR(2, random_state=0),
        eels_ae.DriftAwareUnmixing(2, random_state=0),
        eels_ae.EnsembleUnmixing(
            eels_ae.VCA(2, random_state=0), n_members=3, random_state=0
        ),
        eels_ae.VAE(batch_size=16, **fast),
        eels_ae.RVAE(window=2, hidden_width=8, patches_per_epoch=None, **fast),
        eels_ae.DenoisingAE(neighbourhood=1, target="self", batch_size=16, **fast),
    ]


@parametrize_with_checks(
    _sklearn_estimators(),
    expected_failed_checks=lambda est: EXPECTED_FAILURES[type(est).__name__],
)
def test_scikit_learn_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def test_adding_an_algorithm_takes_a_module_an_estimator_and_an_entry(inputs):
    """The walkthrough of docs/developer.rst, run: a module owning its loss, a
    short estimator on the template, one registry entry; the decomposition
    name, parameter checks and lazy signals follow."""
    import torch
    from torch import nn

    from eels_ae.estimators import UnmixingEstimator
    from eels_ae.estimators.neural import NeuralEstimator, TrainingData
    from eels_ae.streaming import RowStream
    from eels_ae.training import predict_in_batches
    from eels_ae.validation import Interval

    class LinearAE(nn.Module):
        def __init__(self, n_channels, n_components, temperature=1.0):
            super().__init__()
            self.config = dict(
                n_channels=n_channels,
                n_components=n_components,
                temperature=temperature,
            )
            self.temperature = temperature
            self.encoder = nn.Linear(n_channels, n_components)
            self.decoder = nn.Linear(n_components, n_channels, bias=False)

        def abundances(self, x):
            return torch.softmax(self.encoder(x) / self.temperature, dim=1)

        def loss(self, x):
            return torch.mean((self.decoder(self.abundances(x)) - x) ** 2)

    class LinearUnmixing(NeuralEstimator, UnmixingEstimator):
        _model_params = {"n_components": None, "temperature": 1.0}
        _training_defaults = {"max_epochs": 30, "batch_size": 256}
        _positional = ("n_components",)
        _constraints = {"temperature": Interval("real", 0, closed="neither")}
        _progress_label = "Linear AE"

        def _prepare(self, X, energy_axis=None):
            X, summary = self._check_fit_input(X)
            self.n_features_in_, self.energy_axis_ = X.shape[1], energy_axis
            self.scale_ = summary.max_abs
            return TrainingData(RowStream(X, scale=self.scale_), len(X))

        def _build(self, data, rng):
            return LinearAE(self.n_features_in_, self.n_components, self.temperature)

        def _finish(self, data):
            w = self.model_.decoder.weight.detach().cpu().numpy().T
            self.components_ = np.clip(w, 0, None) * self.scale_

        def _abundances(self, stream):
            return predict_in_batches(self.model_.abundances, stream, self.device_)

    entry = registry.Algorithm(
        "linear_ae",
        LinearUnmixing,
        "unmixing",
        "spectra",
        None,
        "toy",
        "learning_results",
    )
    registry.register(entry)
    try:
        s = inputs["spectra"]
        for signal in (s, s.as_lazy()):
            signal.decomposition(
                algorithm="linear_ae",
                output_dimension=3,
                max_epochs=3,
                random_state=0,
                show_progressbar=False,
                print_info=False,
            )
            lr = signal.learning_results
            assert lr.factors.shape == (s.data.shape[-1], 3)
            A = np.asarray(lr.loadings)
            np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=1e-4)
        with pytest.raises(ValueError, match="temperature must be a number > 0"):
            LinearUnmixing(3, temperature=0.0).fit(_flat(_array(inputs, CASES["vca"])))
        with pytest.raises(TypeError, match="unexpected keyword.*temperature"):
            LinearUnmixing(3, temprature=2.0)
    finally:
        del registry.REGISTRY["linear_ae"]
