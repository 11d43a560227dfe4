"""Data: bundled example spectrum images and synthetic benchmark generators."""

from eels_ae.data.lowdose import LowDoseSI, lowdose_spectrum_image
from eels_ae.data.synthetic import (
    EndmemberSet,
    SyntheticSI,
    chequerboard_abundances,
    chequerboard_spectrum_image,
    endmembers_k,
    endmembers_ml,
)

__all__ = [
    "EndmemberSet",
    "LowDoseSI",
    "SyntheticSI",
    "chequerboard_abundances",
    "chequerboard_spectrum_image",
    "endmembers_k",
    "endmembers_ml",
    "lowdose_spectrum_image",
]
