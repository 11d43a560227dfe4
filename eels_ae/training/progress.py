"""Progress bars that follow HyperSpy's preferences.

``show_progressbar=None`` asks :data:`DEFAULT`, a function that the HyperSpy
layer points at ``hs.preferences.General.show_progressbar`` on install (so
this module does not import HyperSpy); without it, bars are shown.
"""

from __future__ import annotations

from tqdm.auto import tqdm

__all__ = ["progress_bar", "resolve_show_progressbar", "set_default"]

#: ``() -> bool``: whether to show bars when ``show_progressbar`` is None.
DEFAULT = [lambda: True]


def set_default(fn):
    """Let ``fn() -> bool`` decide for ``show_progressbar=None``."""
    DEFAULT[0] = fn


def resolve_show_progressbar(show_progressbar=None) -> bool:
    """``None`` means: do what ``hs.preferences.General.show_progressbar`` says."""
    if show_progressbar is None:
        return bool(DEFAULT[0]())
    return bool(show_progressbar)


def progress_bar(total, desc, show=None):
    """A tqdm bar, disabled unless :func:`resolve_show_progressbar` says show."""
    return tqdm(total=total, desc=desc, disable=not resolve_show_progressbar(show))
