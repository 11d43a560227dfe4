"""A model trained with ``background_range`` and/or ``signal_mask`` applies to
the next acquisition: the same background removal and the same channels, eager,
lazy and from the command line (real files)."""

from __future__ import annotations

import numpy as np
import pytest

import eels_ae
from eels_ae.data.examples import example_path, load_example

WINDOW = (370.0, 450.0)


def _trained(name, **options):
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    params = {"show_progressbar": False} if name == "daeu" else {}
    s.decomposition(
        algorithm=name,
        output_dimension=2,
        random_state=0,
        print_info=False,
        **options,
        **params,
    )
    return s


@pytest.mark.parametrize("name", ["vca", "daeu"])
@pytest.mark.parametrize("lazy", [False, True])
def test_applied_to_the_same_data_the_maps_are_the_training_maps(name, lazy, tmp_path):
    energy = load_example().axes_manager.signal_axes[0].axis
    trained = _trained(name, background_range=WINDOW, signal_mask=energy > 850.0)
    model = trained.learning_results.decomposition_algorithm
    prep = model.preprocessing_
    assert prep["background_range"] == WINDOW
    assert prep["channels"].sum() == ((energy > WINDOW[1]) & (energy <= 850)).sum()
    path = tmp_path / "m.safetensors"
    model.save(path)
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3", lazy=lazy)
    s.apply_model(path)
    got, want = s.learning_results, trained.learning_results
    np.testing.assert_allclose(got.loadings, want.loadings, atol=1e-5)
    # The same channels left out (NaN), the same endmembers elsewhere.
    np.testing.assert_array_equal(np.isnan(got.factors), np.isnan(want.factors))
    np.testing.assert_allclose(
        np.nan_to_num(got.factors), np.nan_to_num(want.factors), rtol=1e-6
    )
    if "intensity_scale" in want.__dict__:
        np.testing.assert_allclose(got.intensity_scale, want.intensity_scale, rtol=1e-5)
    np.testing.assert_allclose(got.background.data, want.background.data, rtol=1e-5)


def test_applied_to_another_scan_and_files_say_what_they_do(tmp_path):
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    top, bottom = s.inav[:, :25], s.inav[:, 25:]
    top.decomposition(
        algorithm="vca",
        output_dimension=2,
        background_range=WINDOW,
        random_state=0,
        print_info=False,
    )
    path = tmp_path / "m.safetensors"
    top.learning_results.decomposition_algorithm.save(path)
    before = bottom.data.copy()
    bottom.apply_model(path)
    assert bottom.learning_results.loadings.shape == (24 * 6, 2)
    assert np.array_equal(bottom.data, before)  # the signal is not changed
    info = eels_ae.model_info(path)
    assert info["preprocessing"]["background_range"] == WINDOW
    assert info["preprocessing"]["background_pooling"] == 4.0
    energy = s.axes_manager.signal_axes[0].axis
    # The window and everything below it are left out.
    np.testing.assert_array_equal(info["preprocessing"]["channels"], energy > WINDOW[1])


def test_the_command_line_trains_with_background_and_range_and_applies(tmp_path):
    import hyperspy.api as hs

    from eels_ae.cli import main

    dm3 = example_path("DMReader_SpectrumImage_SI-EELS.dm3")
    model = tmp_path / "m.safetensors"
    args = ["train", dm3, "-a", "vca", "-n", "2", "-o", model, "-q"]
    args += ["--background-range", "370", "450", "--signal-range", "455", "850"]
    assert main([str(a) for a in args]) == 0
    prep = eels_ae.model_info(model)["preprocessing"]
    assert prep["background_range"] == WINDOW
    out = tmp_path / "out"
    assert main([str(a) for a in ["apply", model, dm3, "-o", out, "-q"]]) == 0
    maps = hs.load(out / "DMReader_SpectrumImage_SI-EELS_abundances.hspy")
    s = hs.load(dm3)
    s.apply_model(model)
    expected = s.get_decomposition_loadings()
    np.testing.assert_allclose(maps.data, expected.data, atol=1e-6)
    assert main([str(a) for a in ["info", model]]) == 0
    # --signal-range is for unmixing only.
    bad = ["train", dm3, "-a", "denoise", "--signal-range", "455", "850"]
    assert main([str(a) for a in [*bad, "-o", tmp_path / "d.safetensors"]]) == 2
