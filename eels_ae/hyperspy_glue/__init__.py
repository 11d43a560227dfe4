"""Everything that touches HyperSpy: algorithm names in ``decomposition``."""

from .decomposition import ALGORITHMS, install, make_estimator, register_algorithm

__all__ = ["ALGORITHMS", "install", "make_estimator", "register_algorithm"]
