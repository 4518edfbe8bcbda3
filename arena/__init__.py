"""Quant Arena: blind side-by-side battles between a big harsh quant and a small light one, on your own machine."""

__version__ = "0.1.0"
