"""Data: bundled example spectrum images and synthetic benchmark generators."""

from eels_ae.data.lowdose import LowDoseSI, lowdose_spectrum_image
from eels_ae.data.motifs import MotifImage, motif_maps
from eels_ae.data.scenes import oxide_endmembers, oxide_scene, thickness_line_scan
from eels_ae.data.synthetic import (
    EndmemberSet,
    SyntheticSI,
    chequerboard_abundances,
    chequerboard_spectrum_image,
    endmembers_k,
    endmembers_ml,
    mixed_spectrum_image,
)
from eels_ae.data.variation import VariationSI, edge_variation_spectrum_image

__all__ = [
    "EndmemberSet",
    "LowDoseSI",
    "MotifImage",
    "SyntheticSI",
    "VariationSI",
    "chequerboard_abundances",
    "chequerboard_spectrum_image",
    "edge_variation_spectrum_image",
    "endmembers_k",
    "endmembers_ml",
    "lowdose_spectrum_image",
    "mixed_spectrum_image",
    "motif_maps",
    "oxide_endmembers",
    "oxide_scene",
    "thickness_line_scan",
]
