"""Kept for ``cursors.py``, which imports ``bad_input`` from here; everything else imports the
schema's shared helpers from ``gateway.schema.base``."""

from .schema.base import bad_input

__all__ = ["bad_input"]
