"""Options of a call (``show_progressbar``, ``device``) accepted everywhere,
with a new model or ``model=``; keywords that would be ignored, and counts
that disagree, refused with a message."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import eels_ae
from eels_ae.data.examples import load_example


def _small_image(seed=0):
    syn = eels_ae.data.chequerboard_spectrum_image(
        "ml", shape=(8, 10), block=4, dose=3e3, random_state=seed
    )
    return syn.signal


@pytest.mark.parametrize("name", sorted(eels_ae.ALGORITHMS))
def test_every_name_takes_show_progressbar(name, capsys):
    # A loop over the names with HyperSpy's usual keyword must not break on
    # the ones without a progress bar (VCA, N-FINDR, drift_aware).
    s = _small_image()
    fast = {} if name in ("vca", "nfindr", "drift_aware") else {"max_epochs": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s.decomposition(
            algorithm=name,
            output_dimension=2,
            show_progressbar=False,
            random_state=0,
            print_info=False,
            **fast,
        )
    assert np.asarray(s.learning_results.loadings).shape == (80, 2)
    assert "%" not in capsys.readouterr().err  # no bar drawn


def test_a_model_is_applied_with_the_calls_progress_bar_and_keeps_its_own():
    s = load_example()
    _, model = s.denoise_ae(
        max_epochs=1, random_state=0, show_progressbar=False, return_model=True
    )
    model.set_params(show_progressbar=True)
    quiet = s.denoise_ae(model=model, show_progressbar=False)
    assert model.show_progressbar is True  # the call's option, not the model's
    np.testing.assert_allclose(quiet.data, s.denoise_ae(model=model).data)
    with pytest.raises(TypeError, match="max_epochs.*show_progressbar and device"):
        s.denoise_ae(model=model, max_epochs=3)
    with pytest.raises(ValueError, match="show_progressbar must be"):
        s.denoise_ae(model=model, show_progressbar="no")


def test_apply_model_refuses_keywords_it_would_ignore(tmp_path):
    s = _small_image()
    model = eels_ae.VCA(2, random_state=0).fit(
        s.data.reshape(-1, s.data.shape[-1]).astype(float)
    )
    path = model.save(tmp_path / "vca.safetensors")
    with pytest.raises(TypeError, match="foo"):
        s.apply_model(path, foo=1)
    assert not hasattr(s.learning_results, "loadings") or (
        s.learning_results.loadings is None
    )
    s.apply_model(path, show_progressbar=False, device="cpu")
    assert np.asarray(s.learning_results.loadings).shape == (80, 2)


def test_an_estimator_with_another_count_than_output_dimension_is_refused():
    s = _small_image()
    s.decomposition(algorithm="vca", output_dimension=2, print_info=False)
    before = np.array(s.learning_results.factors)
    with pytest.raises(ValueError, match="output_dimension=4.*n_components=2"):
        s.decomposition(algorithm=eels_ae.VCA(2), output_dimension=4)
    np.testing.assert_array_equal(s.learning_results.factors, before)
    s.decomposition(algorithm=eels_ae.NFINDR(3, random_state=0), print_info=False)
    assert s.learning_results.output_dimension == 3
    assert s.learning_results.factors.shape[1] == 3


def test_one_endmember_says_nothing_is_unmixed():
    s = _small_image()
    with pytest.warns(UserWarning, match="n_components=1 every abundance is 1"):
        s.decomposition(algorithm="vca", output_dimension=1, print_info=False)
