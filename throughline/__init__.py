"""Throughline: one system of record for a small business's lead-to-cash cycle."""

__version__ = "0.1.0"
