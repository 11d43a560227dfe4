"""The ``eels-ae`` command line (:mod:`eels_ae.cli.main`)."""

from .main import EXIT, main

__all__ = ["EXIT", "main"]
