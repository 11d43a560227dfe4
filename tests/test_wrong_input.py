"""Input that used to give a wrong result silently or an error from inside
numpy / torch: each gets a message that says what is wrong and what to do."""

from __future__ import annotations

import numpy as np
import pytest

import eels_ae
from eels_ae.data.examples import load_example


def _spectra(seed=0):
    syn = eels_ae.data.chequerboard_spectrum_image(
        "ml", shape=(8, 10), block=4, dose=3e3, random_state=seed
    )
    return syn.signal


def test_a_model_on_an_axis_in_other_units_is_refused(tmp_path):
    s = _spectra()
    s.decomposition(algorithm="vca", output_dimension=2, print_info=False)
    model = s.learning_results.decomposition_algorithm
    other = _spectra(1)
    axis = other.axes_manager.signal_axes[0]
    axis.units = "keV"  # the same numbers, a thousand times the energies
    with pytest.raises(ValueError, match=r"in keV but the model.*in eV.*convert_to"):
        other.apply_model(model)
    with pytest.raises(ValueError, match=r"in keV"):
        other.apply_model(model, energy_axis="resample")
    # The same axis written in keV (0.2 keV = 200 eV): converted, accepted.
    axis.offset, axis.scale = axis.offset / 1000, axis.scale / 1000
    axis.convert_to_units("eV")
    other.apply_model(model)
    assert np.asarray(other.learning_results.loadings).shape == (80, 2)


def test_values_beyond_what_can_be_squared_are_refused():
    X = _spectra().data.reshape(80, -1).astype(np.float64) * 1e296
    with pytest.raises(ValueError, match="too large to compute with"):
        eels_ae.VCA(2).fit(X)
    with pytest.raises(ValueError, match="too large to compute with"):
        eels_ae.DAEU(2, max_epochs=1, show_progressbar=False).fit(X)


def test_inverse_transform_names_the_columns_it_needs():
    X = _spectra().data.reshape(80, -1).astype(np.float64)
    est = eels_ae.VCA(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 3\).*got shape \(5, 2\)"):
        est.inverse_transform(np.ones((5, 2)))
    np.testing.assert_allclose(est.inverse_transform(np.eye(3)), est.components_)


def test_rvae_noise_variance_of_the_wrong_length_is_named():
    maps = np.random.default_rng(0).random((20, 20, 3))
    with pytest.raises(ValueError, match="noise_variance has 2 values.*3 channels"):
        eels_ae.RVAE(
            noise_variance=[0.1, 0.2], max_epochs=1, window=8, show_progressbar=False
        ).fit(maps)


def test_nan_in_lazy_data_is_refused_when_denoised_with_a_model():
    s = load_example()
    _, model = s.denoise_ae(
        max_epochs=1, random_state=0, show_progressbar=False, return_model=True
    )
    bad = s.deepcopy()
    bad.change_dtype("float32")
    bad.data[5, 2, 40] = np.nan
    lazy = bad.as_lazy()
    out = lazy.denoise_ae(model=model)  # lazy: checked as it is computed
    with pytest.raises(ValueError, match="NaN or inf values"):
        out.compute()


@pytest.mark.parametrize("cls", [eels_ae.VAE, eels_ae.VAEU])
def test_spectra_too_short_for_a_noise_estimate_say_what_is_taken(cls):
    # Two channels have no second difference: the data's variance stands in
    # for the noise, and the user is told (it was an error; scikit-learn's
    # checks use such data).
    X = np.random.default_rng(0).poisson(50.0, (64, 2)).astype(float)
    params = dict(max_epochs=2, show_progressbar=False, random_state=0)
    est = cls(**params) if cls is eels_ae.VAE else cls(2, **params)
    with pytest.warns(UserWarning, match="no noise estimate"):
        est.fit(X)
    assert np.isfinite(est.transform(X)).all()
