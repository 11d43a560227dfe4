"""Progress bars that follow HyperSpy's preferences."""

from __future__ import annotations

from tqdm.auto import tqdm

__all__ = ["progress_bar", "resolve_show_progressbar"]


def resolve_show_progressbar(show_progressbar=None) -> bool:
    """``None`` means: do what ``hs.preferences.General.show_progressbar`` says."""
    if show_progressbar is None:
        from hyperspy.defaults_parser import preferences

        return bool(preferences.General.show_progressbar)
    return bool(show_progressbar)


def progress_bar(total, desc, show=None):
    """A tqdm bar, disabled unless :func:`resolve_show_progressbar` says show."""
    return tqdm(total=total, desc=desc, disable=not resolve_show_progressbar(show))
