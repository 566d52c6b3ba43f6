"""The tree of blocks, torchinfo's view: every block instance a row with the subtotals of its
layers, its children indented under it (``├─ layer1``, ``│  └─ 0``), each row numbered
``depth-index`` as torchinfo numbers them (the 3rd row at depth 2 is ``2-3``).

``--depth N`` shows N levels: a block at level N stands for all its layers, as the table
folds it. The columns, the fitting to a terminal and the colours are the table's.
"""

from __future__ import annotations

from rfcalc.engine import Report
from rfcalc.render import PLAIN, View
from rfcalc.render.blocks import Block, blocks
from rfcalc.render.rows import Column, Row, RowMaker
from rfcalc.render.text import lay_out

DEPTH_IDX = Column("depth_idx", "Depth-idx", lambda r, _: r.depth_idx, numeric=False)


def render(report: Report, view: View = PLAIN) -> str:
    return lay_out(report, tree_rows(report, view.depth), view, first=(DEPTH_IDX,))


def tree_rows(report: Report, depth: int | None = None) -> list[Row]:
    """The blocks and leaves down to ``depth`` levels, in the tree's order (a block, then
    what it holds)."""
    layers = report.layers
    # the tree's nodes in order, with their level: blocks, and leaves by position
    nodes: list[tuple[int, Block | int]] = []
    pending = iter(blocks(report))
    block = next(pending, None)
    for i, layer in enumerate(layers):
        while block is not None and block.first == i:  # the blocks that open here, outer first
            if depth is None or block.depth <= depth:
                nodes.append((block.depth, block))
            block = next(pending, None)
        level = len(layer.groups) + 1
        if depth is None or level <= depth:
            nodes.append((level, i))
    # a node is the last of its siblings when no later node at its level comes before one
    # above it
    last = [False] * len(nodes)
    seen: list[bool] = [False]
    for n in range(len(nodes) - 1, -1, -1):
        level = nodes[n][0]
        seen = (seen + [False] * level)[: level + 1]
        last[n] = not seen[level]
        seen[level] = True
    maker = RowMaker(report, depth)
    counts: dict[int, int] = {}
    branches: list[str] = []  # per level above: '│  ' while that level has more to come
    out: list[Row] = []
    for (level, node), final in zip(nodes, last, strict=True):
        del branches[level - 1 :]
        art = "".join(branches) + ("└─ " if final else "├─ ")
        branches.append("   " if final else "│  ")
        counts[level] = counts.get(level, 0) + 1
        index = f"{level}-{counts[level]}"
        if isinstance(node, Block):
            name = node.name if node.parent is None else node.name.removeprefix(node.parent + ".")
            out.append(maker.row(node.first, node.last + 1, name, True, art, index))
        else:
            groups = layers[node].groups
            name = layers[node].name
            name = name.removeprefix(groups[-1] + ".") if groups else name
            out.append(maker.row(node, node + 1, name, False, art, index))
    return out
