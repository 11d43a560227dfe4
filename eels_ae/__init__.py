"""eels_ae: deep-learning spectral analysis of EELS spectrum images in HyperSpy."""

__version__ = "0.1.0"
