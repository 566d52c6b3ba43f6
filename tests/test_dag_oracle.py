"""Receptive fields through merges: random small DAGs against a brute-force per-unit union."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rfcalc.errors import ShapeError
from tests.helpers import SCALE, report_of
from tests.oracle import Oracle, Reads
from tests.test_rf_oracle import Axis, layer, oracle_layer, to_yaml


class DagOracle(Oracle):
    """Like :class:`Oracle`, but a node may read several earlier nodes (-1 = the input)."""

    def __init__(
        self, edges: list[list[tuple[int, Reads]]], jumps: list[Fraction], sizes: list[int]
    ):
        super().__init__([], edges)
        self.jumps = jumps
        self.sizes = sizes

    def size_of(self, k: int) -> int:
        return self.sizes[k]

    def jump_of(self, k: int) -> Fraction:
        return self.jumps[k]


MERGES = ["add", "concat_channels", "concat_length"]


def _first_part(na: int) -> Reads:
    return lambda x: {x} if x < na else set()


def _second_part(na: int) -> Reads:
    return lambda x: {x - na} if x >= na else set()


@st.composite
def dag(draw: st.DrawFn) -> list[tuple[str, list[int], object]]:
    ops: list[tuple[str, list[int], object]] = []
    for i in range(draw(st.integers(2, 7))):
        if i >= 1 and draw(st.booleans()):
            a, b = draw(st.integers(-1, i - 1)), draw(st.integers(-1, i - 1))
            ops.append((draw(st.sampled_from(MERGES)), [a, b], None))
        else:
            ops.append(("layer", [draw(st.integers(-1, i - 1))], draw(layer(1))))
    return ops


def name(i: int) -> str:
    return "input" if i < 0 else f"n{i}"


def yaml_of(n: int, ops: list[tuple[str, list[int], object]]) -> str:
    lines = [f"input: [1, {n}]", "layers:"]
    for i, (kind, sources, spec) in enumerate(ops):
        src = ", ".join(name(s) for s in sources)
        if kind == "layer":
            assert isinstance(spec, tuple)
            flow = to_yaml(*spec)  # "{type: ..., ...}" or the bare "relu"
            body = "type: relu" if flow == "relu" else flow[1:-1]
            lines.append(f"  - {{{body}, name: {name(i)}, from: [{src}]}}")
        elif kind == "add":
            lines.append(f"  - {{type: add, name: {name(i)}, from: [{src}]}}")
        else:
            dim = 1 if kind == "concat_channels" else 2
            lines.append(f"  - {{type: concat, dim: {dim}, name: {name(i)}, from: [{src}]}}")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=300 * SCALE, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(st.integers(6, 30), dag())
def test_random_dags(n: int, ops: list[tuple[str, list[int], object]]) -> None:
    text = yaml_of(n, ops)
    try:
        report = report_of(text)
    except ShapeError:
        assume(False)
        return
    sizes = {-1: n} | {i: row.output_shape[1] for i, row in enumerate(report.layers)}
    jumps: dict[int, Fraction] = {-1: Fraction(1)}
    edges: list[list[tuple[int, Reads]]] = []
    for i, (kind, sources, spec) in enumerate(ops):
        n_out = sizes[i]
        if kind == "layer":
            assert isinstance(spec, tuple)
            axis: Axis = spec[1][0]
            step = oracle_layer(spec[0], axis, sizes[sources[0]], n_out)
            edges.append([(sources[0], step.reads)])
            jumps[i] = jumps[sources[0]] * step.jump
            continue
        a, b = sources
        if kind == "concat_length":
            edges.append([(a, _first_part(sizes[a])), (b, _second_part(sizes[a]))])
            jumps[i] = max(jumps[a], jumps[b])
        else:
            # add broadcasts a length-1 input: every unit reads its unit 0 (jump 0)
            pairs = []
            input_jumps = []
            for s in (a, b):
                if sizes[s] == 1 and n_out > 1:
                    pairs.append((s, lambda x: {0}))
                    input_jumps.append(Fraction(0))
                else:
                    pairs.append((s, lambda x: {x}))
                    input_jumps.append(jumps[s])
            edges.append(pairs)
            jumps[i] = max(input_jumps)
    oracle = DagOracle(
        edges, [jumps[i] for i in range(len(ops))], [sizes[i] for i in range(len(ops))]
    )
    for i, row in enumerate(report.layers):
        size, jump, padding, uniform = oracle.summary(i)
        assert (row.rf.size[0], row.rf.stride[0], row.rf.padding[0]) == (size, jump, padding), (
            text,
            i,
        )
        assert row.rf.uniform == uniform, (text, i)
        kind, sources = ops[i][0], ops[i][1]
        if (
            kind != "layer"
            and sizes[sources[0]] == sizes[sources[1]]
            and jumps[sources[0]] != jumps[sources[1]]
        ):
            assert any(
                w.layer == row.name and w.code == "misaligned-merge" for w in report.warnings
            ), text
