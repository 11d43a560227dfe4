"""Sphinx configuration for the eels_ae documentation.

Build (warnings are errors, no network needed)::

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

import os
import sys

# Use the package from this checkout (it is normally installed editable too).
sys.path.insert(0, os.path.abspath(".."))
# autodoc imports eels_ae, which imports HyperSpy and matplotlib: no GUI.
os.environ.setdefault("MPLBACKEND", "agg")

import eels_ae  # noqa: E402

# -- Project -----------------------------------------------------------------
project = "eels_ae"
author = "eels_ae developers"
copyright = "eels_ae developers"
version = eels_ae.__version__
release = eels_ae.__version__

# -- General -----------------------------------------------------------------
# No sphinx.ext.intersphinx: the build must not need network access.
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "Thumbs.db", ".DS_Store"]
nitpicky = False

# -- autodoc / autosummary -----------------------------------------------------
# Pages of the API reference are generated into api/generated/ (git-ignored)
# from the ``:toctree: api/generated`` options in api.rst.
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # numpydoc docstrings already give the types
autodoc_member_order = "bysource"
# A method without its own docstring (e.g. DAEUNet.forward) must not show
# torch's generic one.
autodoc_inherit_docstrings = False

# -- numpydoc ----------------------------------------------------------------
# Class members are listed by the autosummary class template
# (_templates/autosummary/class.rst), not by numpydoc; this also keeps the
# many members inherited from scikit-learn and torch.nn.Module out of the
# pages.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# -- HTML --------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"eels_ae {release}"
html_static_path = []
html_theme_options = {
    "description": "Deep-learning spectral unmixing for EELS in HyperSpy",
    "fixed_sidebar": False,
}


# -- Members inherited from scikit-learn and PyTorch ---------------------------
# The class template documents inherited members so that e.g. DAEU.fit (defined
# on UnmixingEstimator) appears on the DAEU page. Members that come from
# scikit-learn or torch (set_output, get_metadata_routing, the generated
# set_*_request methods, nn.Module's API, ...) are theirs to document: their
# docstrings refer to labels of those projects' own documentation, which would
# be broken references here.
_FOREIGN_MODULES = ("sklearn", "torch")


def _skip_foreign_members(app, what, name, obj, skip, options):
    if what != "class":
        return None
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] in _FOREIGN_MODULES:
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
