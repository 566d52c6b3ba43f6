"""The block structure of a report: which leaf layers each block instance holds, and their
subtotals. The tree view and the JSON ``blocks`` key both read it.

A block is what ``groups`` names on a layer: a block instance (``layer1.0``), a named repeat
(``layer1``) or a nested ``layers:`` list (``layer1.0.downsample``). A block's layers are
consecutive in ``report.layers`` (the builder expands one scope at a time), so a block is a
range of leaves. The blocks come as a flat list in the tree's order, each naming its parent:
no recursion, so no nesting is too deep to show.
"""

# no `from __future__ import annotations`: its NamedTuples' string annotations would each cost
# a ForwardRef at every start (as rfcalc/engine.py says)
from itertools import accumulate
from operator import attrgetter
from typing import NamedTuple

from rfcalc.engine import Report


class Block(NamedTuple):
    name: str  # full name, e.g. 'layer1.0'
    parent: str | None  # the block it is in, None at the top
    depth: int  # 1: one of the model's own layers; 2: inside one of those; …
    first: int  # position in report.layers of its first leaf
    last: int  # and of its last (inclusive); the block's output is the last leaf's
    params: int
    trainable_params: int
    buffers: int
    macs: int
    output_bytes: int  # the sum over its leaves (their share of activation_bytes)


def blocks(report: Report) -> tuple[Block, ...]:
    """Every block, parents before children and in the order of their first layer."""
    layers = report.layers
    if not any(map(attrgetter("groups"), layers)):
        return ()  # no layer is in a block
    sums: dict[str, tuple[int, ...]] = {
        key: (0, *accumulate(map(attrgetter(key), layers)))
        for key in ("params", "trainable_params", "buffers", "macs", "output_bytes")
    }
    out: list[Block | None] = []  # a block's slot is taken when it opens, filled when it closes
    open_: list[tuple[str, int, int]] = []  # (name, first leaf, slot), outermost first

    def close(last: int) -> None:
        name, first, slot = open_.pop()

        def span(key: str) -> int:
            return sums[key][last + 1] - sums[key][first]

        out[slot] = Block(
            name,
            open_[-1][0] if open_ else None,
            len(open_) + 1,
            first,
            last,
            span("params"),
            span("trainable_params"),
            span("buffers"),
            span("macs"),
            span("output_bytes"),
        )

    previous = None
    for i, row in enumerate(layers):
        groups = row.groups
        if groups is previous:
            continue  # in the blocks of the layer before (a scope's layers share one tuple)
        previous = groups
        keep = 0
        while keep < len(open_) and keep < len(groups) and open_[keep][0] == groups[keep]:
            keep += 1
        while len(open_) > keep:
            close(i - 1)
        for name in groups[keep:]:
            open_.append((name, i, len(out)))
            out.append(None)
    while open_:
        close(len(layers) - 1)
    return tuple(b for b in out if b is not None)


def block_dicts(report: Report) -> list[dict[str, object]]:
    """The JSON ``blocks`` key (docs/json.md, "blocks")."""
    layers = report.layers
    return [
        {
            "name": b.name,
            "parent": b.parent,
            "depth": b.depth,
            "first": layers[b.first].index,
            "last": layers[b.last].index,
            "output_shape": list(layers[b.last].output_shape),
            "params": b.params,
            "trainable_params": b.trainable_params,
            "buffers": b.buffers,
            "macs": b.macs,
            "output_bytes": b.output_bytes,
        }
        for b in blocks(report)
    ]
