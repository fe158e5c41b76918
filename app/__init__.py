"""Cielo: offline CIE-10-ES diagnosis coding assistant."""

__version__ = "0.1.0"
