"""The layer registry: every layer type rfcalc knows, declared once.

Each family module exports ``KINDS``; the loader validates arguments from these declarations
and ``rfcalc layers`` and ``rfcalc schema`` are generated from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from rfcalc.layers import (
    activation,
    attention,
    conv,
    dense,
    detr,
    embed,
    merge,
    norm,
    order,
    pad,
    param,
    pool,
    resample,
    slicing,
)
from rfcalc.layers.base import Arg, LayerKind, T

__all__ = ["REGISTRY", "Arg", "LayerKind", "T", "canonical", "lookup", "type_names"]


def canonical(name: str) -> str:
    """Type names match case-insensitively with '_' ignored (docs/format.md#layers)."""
    return name.lower().replace("_", "")


def _build() -> dict[str, LayerKind]:
    table: dict[str, LayerKind] = {}
    for module in (
        conv,
        pool,
        dense,
        order,
        slicing,
        norm,
        activation,
        resample,
        pad,
        merge,
        param,
        attention,
        detr,
        embed,
    ):
        for kind in module.KINDS:
            for key in (kind.name, *kind.aliases):
                assert key not in table, f"duplicate layer type {key}"
                table[key] = kind
    return table


# read-only: lookup() remembers what it finds
REGISTRY: Mapping[str, LayerKind] = MappingProxyType(_build())


@lru_cache(maxsize=1024)
def lookup(name: str) -> LayerKind | None:
    """The layer kind a type's name names (every layer of a model asks: remembered)."""
    return REGISTRY.get(canonical(name))


def type_names() -> list[str]:
    """Canonical names and aliases, sorted."""
    return sorted(REGISTRY)
