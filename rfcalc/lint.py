"""Architecture lint: warnings with stable codes, and whether a model is causal.

Pure computation over what the engine has already worked out for each layer (its receptive-field
rule, shapes, layouts and fields) and over the graph; no printing, no rich, no typer. The
windows' arithmetic is read from the :class:`rfcalc.rf.Window` rules the layers return, never
recomputed from their arguments. :data:`CODES` is the one table of codes: the docs
(docs/lint.md), ``--ignore`` and ``lint: {ignore: [...]}`` read it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

from rfcalc import rf
from rfcalc.errors import InputError, SourcePos, did_you_mean
from rfcalc.layers.base import LayerKind, PerInput, RfRule, Shape, axis_name

if TYPE_CHECKING:
    from rfcalc.build import Node
    from rfcalc.engine import LayerRow
    from rfcalc.rf import Ratio


class Warning(NamedTuple):
    layer: str
    code: str
    message: str


class Code(NamedTuple):
    code: str
    why: str  # one sentence: what it means and why it matters (docs/lint.md says more)


CODES: dict[str, Code] = {
    c.code: c
    for c in (
        Code(
            "dropped-input",
            "a window or stride leaves the last input positions of an axis unread by any unit",
        ),
        Code(
            "unused-padding",
            "a window or stride leaves padding after the input unread: padding applied unevenly "
            "(Alsallakh et al., 'Mind the Pad', ICLR 2021)",
        ),
        Code(
            "rf-smaller-than-input",
            "the last spatial layer's receptive field is smaller than the input on an axis: "
            "none of its units sees the whole input",
        ),
        Code(
            "destructive-pooling",
            "a pooling window larger than 3 (CS231n: 'too destructive'), or a pooling stride "
            "larger than its window (positions between windows are never read)",
        ),
        Code(
            "even-kernel-same",
            "'same' padding with an even span pads one more position after than before",
        ),
        Code(
            "unused-output",
            "a layer whose output no layer reads and that is not the model's output",
        ),
        Code(
            "misaligned-merge",
            "a merge whose inputs' fields have different strides or centres for the same unit",
        ),
        Code(
            "rf-holes",
            "positions inside a unit's field that no path reaches (dilation gridding, a kernel "
            "smaller than its input's stride); docs/rf.md",
        ),
        Code(
            "channels-last-input",
            "the input looks channels-last ([128, 128, 3]) before a layer that reads channels",
        ),
    )
}


def check_code(code: str, what: str, pos: SourcePos | None) -> str:
    """``code`` if it is a known warning code, else a positioned error with a suggestion."""
    if code not in CODES:
        raise InputError(f"{what}: unknown warning code '{code}'", pos, did_you_mean(code, CODES))
    return code


def apply_ignores(
    warnings: Iterable[Warning], per_layer: Mapping[str, frozenset[str]], ignore: frozenset[str]
) -> tuple[Warning, ...]:
    """The warnings left after the layers' ``lint: {ignore: ...}`` and ``--ignore``."""
    empty: frozenset[str] = frozenset()
    return tuple(
        w for w in warnings if w.code not in ignore and w.code not in per_layer.get(w.layer, empty)
    )


# ---------------------------------------------------------------- per layer


_NOUNS = {"H": "row", "W": "column", "D": "plane", "L": "position"}


def _noun(rank: int, axis: int) -> str:
    return _NOUNS.get(axis_name(rank, axis), "position")


def window_findings(
    kind: LayerKind,
    args: Mapping[str, object],
    rule: RfRule,
    in_shape: Shape | None,
    out_shape: Shape,
    in_layout: tuple[object, ...] | None,
    input_shape: Shape,
) -> tuple[tuple[str, str], ...]:
    """The warnings, as (code, message), that a layer raises from its own window rules:
    dropped-input, unused-padding, destructive-pooling and even-kernel-same. Only single-input
    layers with per-axis windows (convolution, pooling) can raise them. A function of the
    layer's type, arguments and input, as its rule is: the engine asks once for layers alike."""
    if not isinstance(rule, PerInput) or len(rule.axes) != 1 or in_shape is None:
        return ()
    assert in_layout is not None
    rank = len(input_shape) - 1
    pooling = kind.family == "pooling"
    same = kind.takes("padding") and args.get("padding") == "same"
    dropped: list[tuple[str, str, str]] = []  # (what, axis name, arithmetic), per axis
    unused: list[tuple[str, str, str]] = []
    pools: list[tuple[str, str]] = []  # (what, axis name)
    evens: list[tuple[str, str]] = []
    for i, w in enumerate(rule.axes[0]):
        tag = in_layout[i + 1]
        if not isinstance(w, rf.Window) or not isinstance(tag, int):
            continue  # not a window, or a dim that carries no input axis
        name = axis_name(rank, tag)
        if pooling:
            kernel = (w.span - 1) // w.step + 1
            faults = [f"window {kernel} (larger than 3: too destructive)"] if kernel > 3 else []
            if w.stride > w.span:
                faults.append(
                    f"stride {w.stride} over a span of {w.span} ({w.stride - w.span} of every "
                    f"{w.stride} positions never read)"
                )
            if faults:
                pools.append((" and ".join(faults), name))
        if same and w.span % 2 == 0 and w.pad != w.after:
            evens.append((f"span {w.span} pads {w.pad} before and {w.after} after", name))
        if w.stride == 1:
            continue  # every position is read (a crop, which drops positions, is explicit)
        n, m = in_shape[i + 1], out_shape[i + 1]
        last = (m - 1) * w.stride - w.pad + w.span - 1  # the last position a unit reads
        unread = n - 1 + w.after - last  # (n + pad − span) mod stride, or less in ceil mode
        if unread <= max(0, w.stride - w.span):
            continue  # none, or no more than the gap every window leaves (stride > span)
        # the layer's own padding after the input first, then its input's last positions (an
        # explicit padding layer's positions are its input too: the rule is the layer's own)
        padding = min(unread, w.after)
        inputs = list(range(last + 1, n))
        pads = f" + {w.pad + w.after}" if w.pad + w.after else ""
        sums = f"({n}{pads} − {w.span}) mod {w.stride} = {unread}"
        if inputs:
            noun = _noun(rank, tag) + ("" if len(inputs) == 1 else "s")
            at = str(inputs[0]) if len(inputs) == 1 else f"{inputs[0]}–{inputs[-1]}"
            dropped.append((f"{noun} {at}", name, sums))
        if padding:
            noun = _noun(rank, tag) if padding == 1 else f"{padding} {_noun(rank, tag)}s"
            unused.append((noun, name, sums))
    out: list[tuple[str, str]] = []
    if dropped:
        what, sums = _per_axis(dropped)
        out.append(("dropped-input", f"no unit reads input {what} {sums}"))
    if unused:
        what, sums = _per_axis(unused)
        out.append(
            (
                "unused-padding",
                f"no unit reads the last {what} of padding after the input {sums}: padding "
                "applied unevenly",
            )
        )
    if pools:
        out.append(("destructive-pooling", "pooling " + _grouped(pools)))
    if evens:
        out.append(("even-kernel-same", "'same' padding with an even " + _grouped(evens)))
    return tuple(out)


def _grouped(parts: list[tuple[str, str]]) -> str:
    """(what, axis) per axis → 'what on H and W', the axes with the same text together."""
    axes: dict[str, list[str]] = {}
    for what, axis in parts:
        axes.setdefault(what, []).append(axis)
    return "; ".join(f"{what} on {' and '.join(names)}" for what, names in axes.items())


def _per_axis(parts: list[tuple[str, str, str]]) -> tuple[str, str]:
    """(what, axis, arithmetic) per axis → ('row 27 and column 27', '((28 − 3) mod 2 = 1 on H
    and W)'): the arithmetic once when every axis has the same."""
    what = " and ".join(w for w, _, _ in parts)
    if len({sums for _, _, sums in parts}) == 1:
        return what, f"({parts[0][2]} on {' and '.join(a for _, a, _ in parts)})"
    return what, "(" + "; ".join(f"{sums} on {axis}" for _, axis, sums in parts) + ")"


# ---------------------------------------------------------------- over the graph


def unused_outputs(nodes: Sequence[Node]) -> list[Warning]:
    """Layers whose output no layer reads, other than the last (the model's output)."""
    read = set(chain.from_iterable(map(attrgetter("inputs"), nodes)))
    return [
        Warning(
            node.name,
            "unused-output",
            "no layer reads its output, and it is not the model's output (the last layer)",
        )
        for node in nodes[:-1]
        if node.index not in read
    ]


def rf_smaller_than_input(
    rows: Sequence[LayerRow],
    extents: Sequence[tuple[int, ...]],
    input_shape: Shape,
    lookahead: Sequence[Lookahead | None],
) -> list[Warning]:
    """Per axis, the last layer that is not global pooling: a warning when its units' fields
    are smaller than the input there. Layers whose field on the axis is global and that keep
    at most one unit of it (global pooling, flatten and what follows) are passed over: they
    pool features that each see a part. A global field over many units (attention over the
    tokens) sees the whole input: no warning. A causal axis is left out: there each unit sees
    a window of the past by design (time in a streaming model). ``extents``: per row, its
    output's units per input axis (1 where no dim carries the axis any more)."""
    rank = len(input_shape) - 1
    found: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    for a in range(rank):
        if lookahead[a] is None:
            continue
        row = next(
            (r for r in reversed(rows) if r.rf.stride[a] is not None or extents[r.index][a] > 1),
            None,
        )
        if row is not None and row.rf.stride[a] is None:
            continue  # attention: every unit sees the whole input
        if row is not None and row.rf.size[a] < input_shape[a + 1]:
            names[row.index] = row.name
            found.setdefault(row.index, []).append(
                f"{row.rf.size[a]} on axis {axis_name(rank, a)} (input {input_shape[a + 1]})"
            )
    return [
        Warning(
            names[index],
            "rf-smaller-than-input",
            "the last spatial layer's receptive field is smaller than the input: "
            + ", ".join(parts)
            + "; none of its units sees the whole input",
        )
        for index, parts in sorted(found.items())
    ]


# ---------------------------------------------------------------- causality


class Lookahead(NamedTuple):
    """The first layer whose units read past the input position they stand for, on one axis."""

    layer: str
    positions: Ratio  # how far past (the most over its units)


def lookahead(field: rf.Field, n: int) -> Ratio | None:
    """How far past its own position ``x·S`` the field of a unit ``x < n`` reaches at most
    (0 or less: causal), or None when no unit reads anything. A global field's units stand for
    position 0."""
    if isinstance(field, rf.Affine):
        return field.r - 1 - field.P
    if isinstance(field, rf.Global):
        return field.hi if field.lo <= field.hi else None
    # max over x of hi(x) − x·p/q, as (q·hi(x) − x·p) / q in integers
    p, q = field.jump.numerator, field.jump.denominator
    his = rf.highest_ends(field, n)
    scaled = [q * hi - p * x for x, hi in enumerate(his) if hi != -math.inf]
    return rf.ratio(int(max(scaled)), q) if scaled else None


class Causality:
    """Per axis: the first layer (if any) one of whose units reads past its own position."""

    def __init__(self, rank: int) -> None:
        self.found: list[Lookahead | None] = [None] * rank

    @property
    def open(self) -> bool:
        """Is some axis still causal (so that the next layer must be looked at)?"""
        return None in self.found

    def see(self, name: str, fields: tuple[rf.Field, ...], sizes: Sequence[int]) -> bool:
        """Look at a layer; is the causality still :attr:`open` after it?"""
        for a, (field, n) in enumerate(zip(fields, sizes, strict=True)):
            if self.found[a] is None:
                ahead = lookahead(field, n)
                if ahead is not None and ahead > 0:
                    self.found[a] = Lookahead(name, ahead)
        return self.open

    def result(self) -> tuple[Lookahead | None, ...]:
        return tuple(self.found)
