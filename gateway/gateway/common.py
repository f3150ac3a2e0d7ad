"""Kept for ``cursors.py``, which imports ``bad_input`` from here; it lives in ``errors``."""

from .errors import bad_input

__all__ = ["bad_input"]
