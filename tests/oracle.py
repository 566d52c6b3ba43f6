"""A brute-force receptive-field oracle, independent of rfcalc.rf.

Per axis, each layer is described by which input units an output unit reads (straight from
PyTorch's definitions, as sets, by enumeration). The field of a unit is the union of the fields
of the units it reads, computed recursively with the input's units as singletons. Summaries are
then taken exactly as docs/numbers.md defines them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

Reads = Callable[[int], set[int]]


@dataclass
class AxisLayer:
    reads: Reads
    jump: Fraction  # how far apart neighbouring output units are, in input units of this layer
    n_out: int


def conv_reads(k: int, s: int, pl: int, d: int) -> Reads:
    return lambda x: {x * s - pl + j * d for j in range(k)}


def transposed_reads(k: int, s: int, p: int, d: int) -> Reads:
    # x = i·s − p + j·d for some j: search i over a generous range
    def reads(x: int) -> set[int]:
        lo = (x + p - (k - 1) * d) // s - 2
        hi = (x + p) // s + 2
        return {i for i in range(lo, hi + 1) for j in range(k) if i * s - p + j * d == x}

    return reads


def nearest_reads(n: int, n_out: int, factor: int) -> Reads:
    def reads(x: int) -> set[int]:
        i = math.floor(Fraction(x, factor))
        return {min(i, n - 1)} if 0 <= x < n_out else {i}

    return reads


def linear_reads(n: int, n_out: int, factor: int) -> Reads:
    # PyTorch area_pixel_compute_source_index, align_corners=False, scale = 1/factor
    def reads(x: int) -> set[int]:
        src = (x + Fraction(1, 2)) / factor - Fraction(1, 2)
        inside = 0 <= x < n_out
        if inside:
            src = max(src, Fraction(0))
        i0 = math.floor(src)
        lam = src - i0
        i1 = i0 + 1 if (not inside or i0 < n - 1) else i0
        return {i0} | ({i1} if lam != 0 else set())

    return reads


def adaptive_reads(n: int, o: int) -> Reads:
    return lambda x: set(range(math.floor(Fraction(x * n, o)), math.ceil(Fraction((x + 1) * n, o))))


@dataclass
class Oracle:
    """A stack: layer k reads layer k − 1. ``edges[k]`` lists (source node, reads) pairs, so a
    subclass can describe any DAG (source −1 is the input)."""

    layers: list[AxisLayer]
    edges: list[list[tuple[int, Reads]]] = field(default_factory=list)
    memo: list[dict[int, frozenset[int]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.edges:
            self.edges = [[(k - 1, layer.reads)] for k, layer in enumerate(self.layers)]
        self.memo = [{} for _ in self.edges]

    def field(self, k: int, x: int) -> frozenset[int]:
        """Input positions that unit x of node k's output depends on: the union over the
        units it reads of their fields, down to the input's units as singletons."""
        if k < 0:
            return frozenset((x,))
        cache = self.memo[k]
        if x not in cache:
            out: set[int] = set()
            for source, reads in self.edges[k]:
                for y in reads(x):
                    out |= self.field(source, y)
            cache[x] = frozenset(out)
        return cache[x]

    def size_of(self, k: int) -> int:
        return self.layers[k].n_out

    def jump_of(self, k: int) -> Fraction:
        return math.prod((layer.jump for layer in self.layers[: k + 1]), start=Fraction(1))

    def summary(self, k: int) -> tuple[int, Fraction, int, bool]:
        n, jump = self.size_of(k), self.jump_of(k)
        fields = [self.field(k, x) for x in range(n)]
        real = [f for f in fields if f]
        size = max((max(f) - min(f) + 1 for f in real), default=0)
        first = fields[0] if fields[0] else (real[0] if real else frozenset((0,)))
        padding = -min(first)
        uniform = len(real) == n and all(
            max(f) - min(f) + 1 == size and min(f) == x * jump - padding
            for x, f in enumerate(fields)
        )
        return size, jump, padding, uniform


def resize_reads(n: int, n_out: int, mode: str, scale: Fraction, align: bool) -> Reads:
    """``nn.Upsample`` along one axis, as PyTorch's kernels (UpSample.h) pick source indices,
    in exact arithmetic: ``scale`` is ``1 / scale_factor`` when a factor is given, else
    ``n / n_out`` (``area_pixel_compute_scale``); align_corners uses ``(n − 1) / (n_out − 1)``.
    Units outside ``[0, n_out)`` (the ones padding reads) extend the same formula unclamped.
    (PyTorch's linear kernel copies instead when ``n_out == n``, e.g. 3 × 1.25; like rfcalc,
    this applies the formula there too.)"""
    if align and mode == "linear":
        scale = Fraction(n - 1, n_out - 1) if n_out > 1 else Fraction(0)

    def reads(x: int) -> set[int]:
        inside = 0 <= x < n_out
        if mode == "nearest":  # nearest_neighbor_compute_source_index
            i = math.floor(x * scale)
            return {min(i, n - 1) if inside else i}
        # area_pixel_compute_source_index, then compute_source_index_and_lambda
        src = x * scale if align else (x + Fraction(1, 2)) * scale - Fraction(1, 2)
        if inside:
            src = max(src, Fraction(0))
        i0 = math.floor(src)
        i1 = i0 + 1 if not inside or i0 < n - 1 else i0
        return {i0, i1} if src != i0 else {i0}  # a tap of weight 0 reads nothing

    return reads
