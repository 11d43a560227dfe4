"""estimate_n_components: the number of components from spatial coherence."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

import eels_ae
from eels_ae.data.examples import load_example


def _smooth_mixture(R, shape=(48, 40), counts=4000.0, seed=0):
    """Smooth random abundance maps (not a chequerboard) over random
    edge-like spectra, Poisson noise: another generator than the benchmark's."""
    rng = np.random.default_rng(seed)
    E = np.linspace(0, 1, 300)
    spectra = [
        np.exp(-4 * E) + 0.6 * (E > c) * np.exp(-(E - c) / 0.2)
        for c in rng.uniform(0.15, 0.85, R)
    ]
    fields = np.stack([gaussian_filter(rng.random(shape), 4) for _ in range(R)])
    fields = np.exp(12 * (fields - fields.mean()))
    A = fields / fields.sum(axis=0)
    clean = np.einsum("rij,rc->ijc", A, np.array(spectra))
    clean *= counts / clean.sum(axis=-1, keepdims=True).mean()
    return rng.poisson(clean).astype(np.float32)


@pytest.mark.parametrize("R, seed", [(2, 1), (3, 2), (4, 3)])
def test_finds_the_number_of_smoothly_mixed_components(R, seed):
    ev = eels_ae.estimate_n_components(_smooth_mixture(R, seed=seed))
    assert ev.n_components == R
    assert (ev.spatial_correlation[1:R] > ev.threshold).all()


@pytest.mark.parametrize("R, seed", [(2, 1), (3, 2)])
def test_clear_evidence_gives_one_number(R, seed):
    ev = eels_ae.estimate_n_components(_smooth_mixture(R, seed=seed))
    assert ev.n_range == (R, R) and not ev.too_few_pixels


def test_a_short_line_scan_warns_and_gives_a_range_not_a_false_number():
    """10 pixels: 9 neighbour pairs, a threshold no map can pass. The result
    says so and reports a range that holds the truth (3 components)."""
    cube = _smooth_mixture(3, shape=(1, 10), counts=20000.0, seed=4)
    with pytest.warns(UserWarning, match="no power"):
        ev = eels_ae.estimate_n_components(cube)
    assert ev.too_few_pixels
    low, high = ev.n_range
    assert low == ev.n_components and low <= 3 <= high


def test_spikes_and_hot_pixels_do_not_take_the_place_of_phases():
    """X-ray spikes (one channel, 50x the spectrum's largest) in 1 % of the
    pixels and two hot pixels (whole spectra 20x brighter): the count stays
    right; the hot pixels' component is named in a warning."""
    rng = np.random.default_rng(7)
    cube = _smooth_mixture(3, seed=2)
    flat = cube.reshape(-1, cube.shape[-1])
    rows = rng.choice(len(flat), len(flat) // 100, replace=False)
    flat[rows, rng.integers(0, flat.shape[1], rows.size)] += 50 * flat.max()
    assert eels_ae.estimate_n_components(cube).n_components == 3
    flat[[100, 900]] *= 20
    with pytest.warns(UserWarning, match="a few pixels"):
        ev = eels_ae.estimate_n_components(cube)
    assert ev.n_components == 3 and ev.outliers


def test_pure_noise_has_one_component():
    rng = np.random.default_rng(5)
    spectrum = 20 * np.exp(-np.linspace(0, 3, 200))
    cube = rng.poisson(np.broadcast_to(spectrum, (30, 30, 200))).astype(float)
    ev = eels_ae.estimate_n_components(cube)
    assert ev.n_components == 1
    assert np.abs(ev.spatial_correlation[1:]).max() < ev.threshold


def test_real_image_eager_and_lazy_and_the_plot():
    s = load_example("DMReader_SpectrumImage_SI-EELS.dm3")
    ev = eels_ae.estimate_n_components(s)
    lazy = eels_ae.estimate_n_components(s.as_lazy())
    assert lazy.n_components == ev.n_components
    # STO, LSMO and at least the interface between them; measured 3.
    assert 2 <= ev.n_components <= 5
    assert (ev.spatial_correlation[:3] > 0.5).all()
    # Correlated detector noise: the noise test alone counts far too many.
    assert ev.n_above_edge > ev.n_components
    fig = ev.plot(elbow=3)
    assert len(fig.axes) == 2
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_bad_input_gets_clear_errors():
    with pytest.raises(ValueError, match="at least 9 pixels"):
        eels_ae.estimate_n_components(load_example("EELS_SI.dm4"))
    cube = _smooth_mixture(2)
    with pytest.raises(ValueError, match="max_components"):
        eels_ae.estimate_n_components(cube, max_components=1)
    with pytest.raises(ValueError, match="z must be"):
        eels_ae.estimate_n_components(cube, z=-1)
    cube[3, 4, 5] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        eels_ae.estimate_n_components(cube)
