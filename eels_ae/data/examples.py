"""Real EELS spectrum images bundled with eels_ae (licences in files/LICENSES.md)."""

from __future__ import annotations

from importlib.resources import files

__all__ = ["EXAMPLE_FILES", "example_path", "load_example"]

#: Bundled files and what they hold.
EXAMPLE_FILES = {
    "EELS_SI.dm4": "2 x 2 pixels, 2048 channels from 300 eV (core loss), "
    "from RosettaSciIO's test data (GPL-3.0-or-later)",
    "DMReader_SpectrumImage_SI-EELS.dm3": "49 x 6 pixels, 1024 channels from 350 eV "
    "(Ti L2,3 and O K region), from pycroscopy/SciFiDatasets (MIT)",
}


def example_path(name="DMReader_SpectrumImage_SI-EELS.dm3"):
    """Path of a bundled example file (see :data:`EXAMPLE_FILES`)."""
    if name not in EXAMPLE_FILES:
        raise ValueError(
            f"no bundled file {name!r}; available: {', '.join(EXAMPLE_FILES)}."
        )
    return files("eels_ae.data").joinpath("files", name)


def load_example(name="DMReader_SpectrumImage_SI-EELS.dm3", lazy=False):
    """Load a bundled real spectrum image with RosettaSciIO (``hs.load``).

    Parameters
    ----------
    name : str
        One of :data:`EXAMPLE_FILES`.
    lazy : bool
        Return a lazy (dask-backed) signal.

    Returns
    -------
    exspy.signals.EELSSpectrum or exspy.signals.LazyEELSSpectrum
    """
    import hyperspy.api as hs

    return hs.load(str(example_path(name)), lazy=lazy)
