"""rfcalc: shapes, parameters, MACs and receptive fields of neural networks from YAML."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
