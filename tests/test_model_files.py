"""Model files, callbacks and applying trained models to new acquisitions."""

import copy
import warnings

import hyperspy.api as hs
import numpy as np
import pytest

import eels_ae
from eels_ae import ModelFileError, load_model, model_info
from eels_ae.data import lowdose_spectrum_image, motif_maps
from eels_ae.training import StopAfter

KW = dict(max_epochs=3, random_state=0, show_progressbar=False, device="cpu")


@pytest.fixture(scope="module")
def data():
    syn = eels_ae.data.chequerboard_spectrum_image("ml", shape=(24, 24), random_state=3)
    low = lowdose_spectrum_image(shape=(16, 32), random_state=2)
    maps = motif_maps((40, 40), min_distance=12, random_state=4)
    return syn, low, maps


@pytest.fixture(scope="module")
def fitted(data):
    """One fitted model of every kind, and a function giving its output."""
    syn, low, maps = data
    X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dae = eels_ae.DenoisingAE(**KW).fit(low.signal)
        labels = np.arange(16 * 32).reshape(16, 32) % 2
        models = {
            "VCA": (eels_ae.VCA(3, random_state=0).fit(X), lambda m: m.transform(X)),
            "NFINDR": (
                eels_ae.NFINDR(3, random_state=0).fit(X),
                lambda m: m.transform(X),
            ),
            "DAEU": (
                eels_ae.DAEU(3, warmup_epochs=1, batch_size=64, **KW).fit(X),
                lambda m: m.transform(X),
            ),
            "VAE": (
                eels_ae.VAE(**KW).fit(low.signal),
                lambda m: m.transform(low.signal),
            ),
            "RVAE": (
                eels_ae.RVAE(window=8, **KW).fit(maps.maps),
                lambda m: m.transform(maps.maps),
            ),
            "DenoisingAE": (dae, lambda m: m.denoise(low.signal).data),
            "LatentClassifier": (
                eels_ae.LatentClassifier(dae, hidden_units=4, random_state=0).fit(
                    low.signal, labels
                ),
                lambda m: m.predict_proba(low.signal).data,
            ),
        }
    return models


NAMES = ["VCA", "NFINDR", "DAEU", "VAE", "RVAE", "DenoisingAE", "LatentClassifier"]


def test_file_keeps_the_training_energy_axis(fitted, tmp_path):
    model, _ = fitted["DenoisingAE"]
    info = model_info(model.save(tmp_path / "d.safetensors"))
    assert info["energy_axis"]["scale"] == pytest.approx(0.25)
    assert info["energy_axis"]["size"] == model.n_features_in_
    assert info["params"]["target"] == "average"


def test_damaged_and_foreign_files_are_refused(fitted, tmp_path):
    model, _ = fitted["DAEU"]
    path = model.save(tmp_path / "m.safetensors")
    data = path.read_bytes()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(data[: len(data) - 100])
    with pytest.raises(ModelFileError, match="truncated"):
        load_model(bad)
    altered = bytearray(data)
    altered[-5] ^= 0xFF
    bad.write_bytes(bytes(altered))
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(bad)
    bad.write_text("hello, I am not a model\n" * 10)
    with pytest.raises(ModelFileError, match="not an eels_ae model"):
        load_model(bad)
    from pathlib import Path

    files = Path(eels_ae.__file__).parent / "data" / "files"
    with pytest.raises(ModelFileError, match="not an eels_ae model"):
        load_model(files / "EELS_SI.dm4")
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(3, np.float32)}, str(bad))
    with pytest.raises(ModelFileError, match="safetensors file but not"):
        load_model(bad)
    with pytest.raises(ModelFileError, match="no model file"):
        load_model(tmp_path / "missing.safetensors")


def test_newer_format_and_unknown_class_are_refused(fitted, tmp_path):
    import json

    from safetensors.numpy import load, save

    from eels_ae import model_files

    model, _ = fitted["VCA"]
    data = eels_ae.model_files.model_to_bytes(model)
    header_len = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8 : 8 + header_len])["__metadata__"]
    tensors = load(data)

    def rewrite(change):
        doc = json.loads(meta["eels_ae_model"])
        doc.pop("checksum")
        change(doc)
        doc["checksum"] = model_files._checksum(doc, tensors)
        return save(tensors, metadata={"eels_ae_model": json.dumps(doc)})

    newer = rewrite(lambda d: d.update(format_version=99))
    with pytest.raises(ModelFileError, match="newer eels_ae"):
        model_files.model_from_bytes(newer)
    evil = rewrite(lambda d: d["model"].update(__estimator__="os.system"))
    with pytest.raises(ModelFileError, match="not an eels_ae estimator"):
        model_files.model_from_bytes(evil)


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(ModelFileError, match="not fitted"):
        eels_ae.DAEU(3).save(tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_callbacks_see_every_epoch_and_can_stop(data):
    syn, _, _ = data
    X = syn.signal.data.reshape(-1, syn.signal.data.shape[-1])
    seen = []
    stop = StopAfter(loss=np.inf)  # stops after the first epoch of each phase
    model = eels_ae.DAEU(
        3, warmup_epochs=2, batch_size=64, callbacks=[seen.append, stop], **KW
    ).fit(X)
    # The stop in the warm-up ends the whole fit (no main phase after it).
    assert len(seen) == 1 and seen[0].phase.endswith("(encoder)")
    assert model.n_epochs_ == 1 and len(model.history_) == 1
    assert model.history_[0]["loss"] == pytest.approx(model.loss_curve_[0])
    full = eels_ae.VAE(**KW).fit(X)
    assert [h["epoch"] for h in full.history_] == list(range(full.n_epochs_))
    assert all(np.diff([h["elapsed"] for h in full.history_]) >= 0)


def test_hspy_file_after_decomposition_keeps_the_model(data, tmp_path):
    syn, _, _ = data
    s = syn.signal.deepcopy()
    s.decomposition(algorithm="vca", output_dimension=3, print_info=False)
    est = s.learning_results.decomposition_algorithm
    s.save(tmp_path / "x.hspy")
    # The live signal keeps its estimator object.
    assert s.learning_results.decomposition_algorithm is est
    s2 = hs.load(tmp_path / "x.hspy")
    assert s2.learning_results.decomposition_algorithm == "eels_ae.VCA"
    np.testing.assert_allclose(s2.learning_results.factors, s.learning_results.factors)
    model = load_model(s2)
    np.testing.assert_array_equal(model.components_, est.components_)
    assert model.energy_axis_["offset"] == s.axes_manager[-1].offset


@pytest.mark.parametrize("lazy", [False, True])
def test_apply_unmixing_model_to_a_new_acquisition(fitted, data, tmp_path, lazy):
    syn, _, _ = data
    s = syn.signal.deepcopy()
    s.decomposition(algorithm="vca", output_dimension=3, print_info=False)
    path = s.learning_results.decomposition_algorithm.save(tmp_path / "v.safetensors")
    new = eels_ae.data.chequerboard_spectrum_image(
        "ml", shape=(24, 24), random_state=11
    ).signal
    if lazy:
        new = new.as_lazy()
    before = new.data.copy() if not lazy else None
    new.apply_model(path)
    lr = new.learning_results
    np.testing.assert_array_equal(lr.factors, s.learning_results.factors)
    A = lr.loadings
    assert A.shape == (24 * 24, 3)
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-8)
    if not lazy:
        np.testing.assert_array_equal(new.data, before)
        assert new.get_decomposition_model().data.shape == new.data.shape


def test_apply_checks_the_energy_axis_and_resamples_when_asked(fitted, data):
    _, low, _ = data
    model, _ = fitted["DenoisingAE"]
    shifted = low.signal.deepcopy()
    shifted.axes_manager[-1].offset += 1.0
    with pytest.raises(ValueError, match="energy_axis='resample'"):
        eels_ae.apply_model(shifted, model)
    # A finer axis covering the model's range: resampled, with a warning.
    from hyperspy.axes import UniformDataAxis

    fine = low.signal.interpolate_on_axis(
        UniformDataAxis(offset=499.0, scale=0.125, size=500, units="eV"),
        low.signal.axes_manager.navigation_dimension,
    )
    with pytest.warns(UserWarning, match="interpolated"):
        out = eels_ae.apply_model(fine, model, energy_axis="resample")
    assert out.data.shape == low.signal.data.shape
    assert out.axes_manager[-1].scale == pytest.approx(0.25)
    with pytest.raises(ValueError, match="not inside"):
        eels_ae.apply_model(shifted, model, energy_axis="resample")


def test_failed_apply_leaves_learning_results(fitted, data):
    syn, _, _ = data
    s = syn.signal.deepcopy()
    s.decomposition(algorithm="vca", output_dimension=3, print_info=False)
    saved = copy.deepcopy(s.learning_results.factors)
    model, _ = fitted["DAEU"]
    s.axes_manager[-1].offset += 50.0
    model.energy_axis_ = {**eels_ae.hyperspy_glue.apply.signal_energy_axis(syn.signal)}
    with pytest.raises(ValueError, match="differs from the model"):
        s.apply_model(model)
    np.testing.assert_array_equal(s.learning_results.factors, saved)


def test_registry_drives_decomposition_names_and_spatial_input(data):
    from eels_ae import registry
    from eels_ae.hyperspy_glue import decomposition

    assert set(eels_ae.ALGORITHMS) == set(registry.by_kind("unmixing"))
    assert {a.method for a in registry.REGISTRY.values() if a.method} <= set(
        eels_ae.hyperspy_glue.SIGNAL_METHODS
    )

    class ImageVCA(eels_ae.VCA):
        """A spatial test algorithm: records the image it was given."""

        def fit(self, X, y=None):
            self.seen_shape_ = X.shape
            return super().fit(X.reshape(-1, X.shape[-1]))

        def abundances_and_scale(self, X):  # what transform and fit_transform use
            return super().abundances_and_scale(X.reshape(-1, X.shape[-1]))

    syn, _, _ = data
    eels_ae.register_algorithm("image_vca", ImageVCA, input="image")
    try:
        s = syn.signal.deepcopy()
        s.decomposition(
            algorithm="image_vca", output_dimension=3, print_info=False, random_state=0
        )
        est = s.learning_results.decomposition_algorithm
        assert est.seen_shape_ == (24, 24, s.axes_manager.signal_shape[0])
        assert s.learning_results.loadings.shape == (24 * 24, 3)
    finally:
        registry.REGISTRY.pop("image_vca")
    assert "image_vca" not in decomposition.ALGORITHMS  # a live view
    with pytest.raises(KeyError, match="known: daeu"):
        registry.get("nope")


@pytest.mark.parametrize("lazy", [False, True])
def test_real_file_model_applies_to_another_half_of_the_scan(tmp_path, lazy):
    """DAEU trained on the top half of the bundled dm3 (6 x 49 pixels), saved,
    loaded and applied to the bottom half: same abundances as the live model and a
    reconstruction better than the mean spectrum."""
    from conftest import fast_daeu_params

    from eels_ae.data.examples import load_example

    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3", lazy=lazy)
    ny = s.axes_manager.navigation_shape[1]
    left, right = s.inav[:, : ny // 2], s.inav[:, ny // 2 :]
    left.decomposition(
        algorithm="daeu", output_dimension=3, print_info=False, **fast_daeu_params()
    )
    est = left.learning_results.decomposition_algorithm
    path = est.save(tmp_path / "real.safetensors")
    assert model_info(path)["energy_axis"]["units"] == str(s.axes_manager[-1].units)
    right.apply_model(path)
    live = est.transform(np.asarray(right.data).reshape(-1, right.data.shape[-1]))
    np.testing.assert_array_equal(right.learning_results.loadings, live)
    X = np.asarray(right.data).reshape(live.shape[0], -1)
    M = np.asarray(right.get_decomposition_model().data).reshape(X.shape)
    mean = np.broadcast_to(X.mean(axis=0), X.shape)
    assert np.linalg.norm(M - X) < np.linalg.norm(mean - X)
