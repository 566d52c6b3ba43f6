"""Maps of receptive fields (rfcalc.maps): the issue's hand-derived numbers, the rf-holes
warning, and brute force on random stacks and DAGs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rfcalc import maps
from rfcalc.build import build
from rfcalc.errors import InputError, ShapeError
from rfcalc.loader import load_text
from tests.helpers import EXAMPLES, SCALE, report_of
from tests.oracle import Reads
from tests.test_rf_oracle import Axis, layer, oracle_layer, to_yaml


def model_of(text: str) -> maps.Model:
    return maps.prepare(build(load_text(text, "model.yaml")))


def convs(n: int | list[int], *layers: str) -> maps.Model:
    shape = [1, n] if isinstance(n, int) else [1, *n]
    body = "\n".join(f"  - {text}" for text in layers)
    return model_of(f"input: {shape}\nlayers:\n{body}\n")


TEXTBOOK = (EXAMPLES / "textbook.yaml").read_text(encoding="utf-8")


# ---------------------------------------------------------------- issue item 1: the textbook


def test_textbook_head_units_see_seven_by_seven() -> None:
    model = model_of(TEXTBOOK)
    head = maps.find_layer(model, "head")
    # unit x of three unpadded 3×3 convs reads x … x+2, x … x+4, x … x+6 (2 more per layer)
    corner = maps.unit_field(model, head, (0, 0))
    assert [a.span for a in corner.axes] == [(0, 6), (0, 6)]
    far = maps.unit_field(model, head, (21, 21))  # the last unit of 28 − 6 = 22
    assert [a.span for a in far.axes] == [(21, 27), (21, 27)]
    assert [(a.inside, a.before, a.after) for a in far.axes] == [((21, 27), 0, 0)] * 2


def test_textbook_coverage() -> None:
    model = model_of(TEXTBOOK)
    first = maps.coverage(model, 0).grid
    # 26 units per axis, unit x reads x … x+2: position 0 lies in unit 0's field only (1 per
    # axis, 1·1 at the corner), position 14 in units 12, 13, 14 (3); edge centre 1·3, inside 3·3
    assert (first.at((0, 0)), first.at((0, 14)), first.at((14, 14))) == (1, 3, 9)
    head = maps.coverage(model, maps.find_layer(model, "head")).grid
    # 22 units per axis reading x … x+6: position 14 lies in units 8 … 14 (7): 7·7 = 49
    assert (head.at((0, 0)), head.at((14, 14))) == (1, 49)


def test_textbook_padded_coverage() -> None:
    model = model_of(TEXTBOOK.replace("kernel_size: 3}", "kernel_size: 3, padding: 1}"))
    first = maps.coverage(model, 0).grid
    # 28 units per axis, unit x reads x−1 … x+1: position 0 lies in units 0 and 1 (2 per axis,
    # 2·2 = 4 at the corner); position 14 in units 13, 14, 15: 3·3 = 9
    assert (first.at((0, 0)), first.at((14, 14))) == (4, 9)


def test_field_in_the_padding() -> None:
    model = convs(10, "{type: conv1d, out_channels: 1, kernel_size: 5, padding: 3}")
    # unit 0 reads −3 … 1: 3 positions before the input, 0 … 1 inside
    axis = maps.unit_field(model, 0, (0,)).axes[0]
    assert (axis.span, axis.inside, axis.before, axis.after) == ((-3, 1), (0, 1), 3, 0)
    # 10 + 6 − 5 + 1 = 12 units; the last, 11, reads 8 … 12: 10, 11, 12 after the input
    axis = maps.unit_field(model, 0, (11,)).axes[0]
    assert (axis.span, axis.inside, axis.before, axis.after) == ((8, 12), (8, 9), 0, 3)


# ---------------------------------------------------------------- issue item 2: the ERF

THREE_CONVS = ["{type: conv1d, out_channels: 1, kernel_size: 3}"] * 3


def test_erf_of_three_convs_along_one_axis() -> None:
    model = convs(20, *THREE_CONVS)
    erf = maps.erf(model, 2, (5,))
    # (1 + z + z²)³ = 1 + 3z + 6z² + 7z³ + 6z⁴ + 3z⁵ + z⁶, on positions 5 … 11
    assert [erf.grid.at((p,)) for p in range(4, 13)] == [0, 1, 3, 6, 7, 6, 3, 1, 0]
    assert erf.total == 27  # 3³ paths
    # 95 %: at most 27/40 = 0.675 paths may be left out on each side, so not even the 1s
    assert erf.spread == ((5, 11),)
    assert not erf.upper_bound


def test_erf_in_two_dimensions() -> None:
    model = convs([20, 20], *[t.replace("conv1d", "conv2d") for t in THREE_CONVS])
    erf = maps.erf(model, 2, (5, 5))
    # the outer product of 1,3,6,7,6,3,1 with itself: 7·7 = 49 at the centre (8, 8), 1·1 at
    # the field's corner (5, 5)
    assert erf.grid.at((8, 8)) == 49
    assert erf.grid.at((5, 5)) == 1
    assert erf.grid.at((5, 8)) == 7
    assert erf.total == 27 * 27


def test_erf_spread_of_a_deep_stack() -> None:
    model = convs(200, *(["{type: conv1d, out_channels: 1, kernel_size: 3}"] * 20))
    erf = maps.erf(model, 19, (50,))
    # 20 windows of 3: the counts are the trinomial coefficients of (1 + z + z²)^20 over 41
    # positions; the 95 % extent leaves out the tails holding at most 3^20 / 40 each
    coeffs = [1]
    for _ in range(20):
        coeffs = [
            sum(coeffs[i - j] for j in range(3) if 0 <= i - j < len(coeffs))
            for i in range(len(coeffs) + 2)
        ]
    total = 3**20
    tail, cut = 0, 0
    while 40 * (tail + coeffs[cut]) <= total:
        tail += coeffs[cut]
        cut += 1
    assert erf.spread == ((50 + cut, 50 + 40 - cut),)
    assert cut > 8  # Luo et al.: the effective field is a fraction of the theoretical 41


def test_erf_through_max_pooling_is_an_upper_bound() -> None:
    model = convs(
        12, "{type: maxpool1d, kernel_size: 2}", "{type: conv1d, out_channels: 1, kernel_size: 3}"
    )
    erf = maps.erf(model, 1, (1,))
    assert erf.upper_bound
    # unit 1 reads pooled 1 … 3, each reading 2 positions: 2 … 7, one path each
    assert [erf.grid.at((p,)) for p in range(1, 9)] == [0, 1, 1, 1, 1, 1, 1, 0]


def test_erf_stops_at_padding() -> None:
    model = convs(8, *["{type: conv1d, out_channels: 1, kernel_size: 3, padding: 1}"] * 2)
    erf = maps.erf(model, 1, (0,))
    # unit 0 reads conv units −1 (padding: a constant), 0 and 1; unit 0 reads −1, 0, 1,
    # unit 1 reads 0, 1, 2: position 0 has 2 paths, 1 has 2, 2 has 1
    assert [erf.grid.at((p,)) for p in range(4)] == [2, 2, 1, 0]
    # the field on the extended line still reaches −2 (through the virtual unit −1)
    assert maps.unit_field(model, 1, (0,)).axes[0].span == (-2, 2)


# ---------------------------------------------------------------- issue item 3: holes


def dilated(rates: list[int], rank: int = 2) -> maps.Model:
    n = 80 if rank == 1 else [60, 60]
    kind = f"conv{rank}d"
    return convs(
        n, *[f"{{type: {kind}, out_channels: 1, kernel_size: 3, dilation: {d}}}" for d in rates]
    )


def test_dilation_2_then_4_leaves_holes() -> None:
    model = dilated([2, 4], rank=1)
    result = maps.holes(model, 1, (3,))
    # offsets {0, 2, 4} + {0, 4, 8} = {0, 2, 4, 6, 8, 10, 12}: hull 13, 7 reached, 6 holes
    assert (result.hull, result.holes) == (13, 6)
    assert [result.reached.at((3 + i,)) for i in range(13)] == [1, 0] * 6 + [1]
    model = dilated([2, 4])
    result = maps.holes(model, 1, (3, 3))
    assert (result.hull, result.holes) == (169, 169 - 49)  # 13·13, 7·7 reached


def test_rates_1_2_5_leave_no_hole() -> None:
    model = dilated([1, 2, 5])
    result = maps.holes(model, 2, (4, 4))
    # {0,1,2} + {0,2,4} = 0 … 6; + {0,5,10} = 0 … 16: hull 17, all reached
    assert (result.hull, result.holes) == (17 * 17, 0)


def test_rates_2_4_8_leave_holes() -> None:
    model = dilated([2, 4, 8], rank=1)
    result = maps.holes(model, 2, (0,))
    # {0, 2, …, 12} + {0, 8, 16}: the even numbers 0 … 28, hull 29: 15 reached, 14 holes
    assert (result.hull, result.holes) == (29, 14)


def holes_warnings(text: str) -> dict[str, str]:
    report = report_of(text)
    return {w.layer: w.message for w in report.warnings if w.code == "rf-holes"}


def stack(rates: list[int], extra: str = "") -> str:
    body = "\n".join(
        f"  - {{type: conv2d, out_channels: 1, kernel_size: 3, dilation: {d}}}\n  - relu"
        for d in rates
    )
    return f"input: [1, 64, 64]\nlayers:\n{body}\n{extra}"


def test_rf_holes_warning() -> None:
    found = holes_warnings(stack([2, 4]))
    # conv2d_0 alone reaches {0, 2, 4} of 5 per axis: 25 − 9 = 16 unreached; then 169 − 49
    assert found == {
        "conv2d_0": "no path reaches 16 of the 25 positions inside a unit's field (reached per "
        "axis: H: 3 of 5, W: 3 of 5): its dilations or strides leave gaps (gridding)",
        "conv2d_1": "no path reaches 120 of the 169 positions inside a unit's field (reached per "
        "axis: H: 7 of 13, W: 7 of 13): its dilations or strides leave gaps (gridding)",
    }  # and not the relus, whose field is their input's


def test_no_rf_holes_warning_for_1_2_5_and_dense_nets() -> None:
    # {0, 1, 2} + {0, 2, 4} = 0 … 6, + {0, 5, 10} = 0 … 16: never a gap
    assert holes_warnings(stack([1, 2, 5])) == {}
    assert holes_warnings(TEXTBOOK) == {}
    assert holes_warnings((EXAMPLES / "resnet18.yaml").read_text(encoding="utf-8")) == {}


def test_rf_holes_kernel_smaller_than_stride() -> None:
    text = "input: [1, 40]\nlayers:\n  - {type: conv1d, out_channels: 1, kernel_size: 1, stride: 2}\n  - {type: conv1d, out_channels: 1, kernel_size: 2}\n"
    # unit 0 reads conv units 0, 1 which read 0 and 2: hull 3, 1 hole
    assert holes_warnings(text) == {
        "conv1d_1": "no path reaches 1 of the 3 positions inside a unit's field: its dilations "
        "or strides leave gaps (gridding)"
    }


def test_rf_holes_through_a_cross_shaped_merge_is_at_least() -> None:
    text = """input: [1, 30, 30]
layers:
  - {type: conv2d, out_channels: 1, kernel_size: [1, 3], dilation: 2, padding: [0, 2], name: a}
  - {type: conv2d, out_channels: 1, kernel_size: [3, 1], dilation: 2, padding: [2, 0], name: b, from: input}
  - {type: add, name: sum, from: [a, b]}
"""
    # unit 0 of a reaches row 0, columns −2, 0, 2; b rows −2, 0, 2, column 0: the union is a
    # cross in the 5×5 hull, not a product; per axis 3 of 5 are reached, so at least
    # 25 − 3·3 = 16 positions are not
    assert holes_warnings(text) == {
        "sum": "no path reaches at least 16 of the 25 positions inside a unit's field (reached "
        "per axis: H: 3 of 5, W: 3 of 5): its dilations or strides leave gaps (gridding)",
        # each branch alone: 3 of the 1×5 (5×1) hull reached, 2 not
        "a": "no path reaches 2 of the 5 positions inside a unit's field (reached per axis: "
        "H: 1 of 1, W: 3 of 5): its dilations or strides leave gaps (gridding)",
        "b": "no path reaches 2 of the 5 positions inside a unit's field (reached per axis: "
        "H: 3 of 5, W: 1 of 1): its dilations or strides leave gaps (gridding)",
    }
    result = maps.holes(model_of(text), 2, (10, 10))
    # the map counts exactly: 3 + 3 positions, (0, 0) shared: 5 of 25 reached
    assert (result.hull, result.holes) == (25, 20)


def test_holes_map_agrees_with_the_warning_for_every_unit() -> None:
    model = dilated([2, 4])
    for unit in [(0, 0), (10, 17), (43, 43)]:
        assert maps.holes(model, 1, unit).holes == 120


# ---------------------------------------------------------------- layers and units


def test_default_layer_is_the_last_spatial_one() -> None:
    model = model_of((EXAMPLES / "lenet5.yaml").read_text(encoding="utf-8"))
    index = maps.find_layer(model, None)
    assert maps.spatial(model, index)
    assert not any(maps.spatial(model, k) for k in range(index + 1, len(model.units)))


def test_a_block_name_means_its_output() -> None:
    model = maps.prepare(
        build(load_text((EXAMPLES / "resnet18.yaml").read_text(encoding="utf-8"), "r.yaml"))
    )
    index = maps.find_layer(model, "layer4")
    assert model.graph.nodes[index].name == "layer4.1.relu_0"  # BasicBlock: relu, then relu_0
    assert model.units[index] == (7, 7)
    assert maps.centre(model, index) == (3, 3)


def test_unknown_layer_suggests() -> None:
    model = model_of(TEXTBOOK)
    with pytest.raises(InputError) as info:
        maps.find_layer(model, "haed")
    assert info.value.render() == (
        "model.yaml:1:1: error: the model has no layer 'haed'\nhint: did you mean 'head'?"
    )


def test_unit_out_of_range() -> None:
    model = model_of(TEXTBOOK)
    with pytest.raises(
        InputError, match=r"has 22 units on axis W, so its index must be 0 … 21; got 22"
    ):
        maps.check_unit(model, 3, (0, 22))
    with pytest.raises(InputError, match="needs 2 indices"):
        maps.check_unit(model, 3, (0,))


def test_global_layers() -> None:
    text = "input: [1, 12, 12]\nlayers:\n  - {type: conv2d, out_channels: 1, kernel_size: 3}\n  - {type: globalavgpool2d}\n"
    model = model_of(text)
    assert model.units[1] == (1, 1)
    field = maps.unit_field(model, 1, (0, 0))
    assert [(a.span, a.is_global) for a in field.axes] == [((0, 11), True)] * 2
    erf = maps.erf(model, 1, (0, 0))
    # the pool reads all 10×10 conv units; position p lies in min(p, 9) − max(p − 2, 0) + 1 of
    # them per axis: 1, 2, 3, …, 3, 2, 1
    per_axis = [min(p, 9) - max(p - 2, 0) + 1 for p in range(12)]
    assert [erf.grid.at((p, 5)) for p in range(12)] == [c * 3 for c in per_axis]
    assert maps.coverage(model, 1).grid.at((0, 0)) == 1


def test_no_spatial_axis() -> None:
    model = model_of("input: [16]\nlayers:\n  - {type: linear, out_features: 4}\n")
    with pytest.raises(InputError, match="no spatial axis"):
        maps.find_layer(model, None)


def test_transposed_convolution_field_and_erf() -> None:
    model = convs(6, "{type: convtranspose1d, out_channels: 1, kernel_size: 3, stride: 2}")
    # output x reads input i when x = 2i + j, j < 3: x = 4 reads i = 2 (j = 0) and i = 1 (j = 2)
    assert maps.unit_field(model, 0, (4,)).axes[0].span == (1, 2)
    erf = maps.erf(model, 0, (4,))
    assert [erf.grid.at((p,)) for p in range(6)] == [0, 1, 1, 0, 0, 0]
    # x = 3 reads i = 1 (j = 1) only
    assert maps.unit_field(model, 0, (3,)).axes[0].span == (1, 1)


# ---------------------------------------------------------------- brute force


class Brute:
    """Per-unit dependencies by enumeration, in any number of dimensions: ``edges[k]`` lists
    ``(source, per-axis reads)``; a unit reads the product of its per-axis reads (the layers'
    definitions). ``sizes[k]``: the node's units per axis (−1: the input)."""

    def __init__(
        self, edges: list[list[tuple[int, list[Reads]]]], sizes: dict[int, tuple[int, ...]]
    ):
        self.edges = edges
        self.sizes = sizes

        @cache
        def reach(k: int, unit: tuple[int, ...]) -> frozenset[tuple[int, ...]]:
            if k < 0:
                return frozenset((unit,))
            out: set[tuple[int, ...]] = set()
            for source, reads in edges[k]:
                for u in _product([r(x) for r, x in zip(reads, unit, strict=True)]):
                    out |= reach(source, u)
            return frozenset(out)

        @cache
        def paths(k: int, unit: tuple[int, ...]) -> Counter[tuple[int, ...]]:
            if k < 0:
                return Counter({unit: 1})
            out: Counter[tuple[int, ...]] = Counter()
            for source, reads in edges[k]:
                n = sizes[source]
                for u in _product([r(x) for r, x in zip(reads, unit, strict=True)]):
                    if all(0 <= v < m for v, m in zip(u, n, strict=True)):  # padding: constant
                        out.update(paths(source, u))
            return out

        self.reach: Callable[[int, tuple[int, ...]], frozenset[tuple[int, ...]]] = reach
        self.paths: Callable[[int, tuple[int, ...]], Counter[tuple[int, ...]]] = paths


def _product(sets: list[set[int]]) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = [()]
    for s in sets:
        out = [(*t, v) for t in out for v in sorted(s)]
    return out


def _hull(points: frozenset[tuple[int, ...]], rank: int) -> list[tuple[int, int]]:
    return [(min(p[a] for p in points), max(p[a] for p in points)) for a in range(rank)]


def _boxes(rank: int, n: tuple[int, ...]) -> list[tuple[int, ...]]:
    return _product([set(range(m)) for m in n]) if rank else [()]


def check_against_brute(
    model: maps.Model, brute: Brute, k: int, units: list[tuple[int, ...]]
) -> None:
    rank = model.rank
    n_in = model.graph.input_shape[1:]
    # coverage: in how many units' field boxes (hulls) each position lies
    cover: Counter[tuple[int, ...]] = Counter()
    for unit in _boxes(rank, model.units[k]):
        reached = brute.reach(k, unit)
        if not reached:
            continue
        hull = _hull(reached, rank)
        for p in _boxes(rank, n_in):
            if all(lo <= v <= hi for v, (lo, hi) in zip(p, hull, strict=True)):
                cover[p] += 1
    got = maps.coverage(model, k).grid
    assert {p: got.at(p) for p in _boxes(rank, n_in)} == {p: cover[p] for p in _boxes(rank, n_in)}
    for unit in units:
        reached = brute.reach(k, unit)
        field = maps.unit_field(model, k, unit)
        if not reached:
            assert any(a.span is None for a in field.axes)
            continue
        hull = _hull(reached, rank)
        assert [a.span for a in field.axes] == hull
        holes = maps.holes(model, k, unit)
        box = _product([set(range(lo, hi + 1)) for lo, hi in hull])
        assert {p for p in box if holes.reached.at(p)} == set(reached)
        assert holes.holes == len(box) - len(reached)
        erf = maps.erf(model, k, unit)
        paths = brute.paths(k, unit)
        assert {p: erf.grid.at(p) for p in _boxes(rank, n_in)} == {
            p: paths[p] for p in _boxes(rank, n_in)
        }


def stack_model(
    sizes: list[int], layers: list[tuple[str, list[Axis], bool]]
) -> tuple[maps.Model, Brute]:
    lines = "\n".join(f"  - {to_yaml(*item)}" for item in layers)
    model = model_of(f"input: {[1, *sizes]}\nlayers:\n{lines}\n")
    rank = len(sizes)
    shapes = {-1: tuple(sizes)} | {k: model.units[k] for k in range(len(layers))}
    edges: list[list[tuple[int, list[Reads]]]] = []
    for k, (kind, axes, _) in enumerate(layers):
        reads = [
            oracle_layer(kind, axes[a], shapes[k - 1][a], shapes[k][a]).reads for a in range(rank)
        ]
        edges.append([(k - 1, reads)])
    return model, Brute(edges, shapes)


def some_units(model: maps.Model, k: int, pick: st.DataObject) -> list[tuple[int, ...]]:
    units = [tuple(0 for _ in model.units[k]), tuple(n - 1 for n in model.units[k])]
    units.append(tuple(pick.draw(st.integers(0, n - 1)) for n in model.units[k]))
    return units


def _build(make: Callable[[], tuple[maps.Model, Brute]]) -> tuple[maps.Model, Brute]:
    try:
        return make()
    except ShapeError:
        assume(False)
        raise


@settings(
    max_examples=150 * SCALE, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(st.integers(6, 30), st.lists(layer(1), min_size=1, max_size=4), st.data())
def test_random_1d_stacks_against_brute_force(
    n: int, layers: list[tuple[str, list[Axis], bool]], pick: st.DataObject
) -> None:
    model, brute = _build(lambda: stack_model([n], layers))
    k = len(layers) - 1
    check_against_brute(model, brute, k, some_units(model, k, pick))


@settings(
    max_examples=60 * SCALE, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(
    st.integers(5, 12), st.integers(5, 12), st.lists(layer(2), min_size=1, max_size=3), st.data()
)
def test_random_2d_stacks_against_brute_force(
    h: int, w: int, layers: list[tuple[str, list[Axis], bool]], pick: st.DataObject
) -> None:
    model, brute = _build(lambda: stack_model([h, w], layers))
    k = len(layers) - 1
    check_against_brute(model, brute, k, some_units(model, k, pick))


@st.composite
def dag_2d(draw: st.DrawFn) -> list[tuple[str, list[int], object]]:
    """Random 2-D DAGs: windows (each axis its own kernel, stride, padding, dilation) and adds
    of two earlier nodes: sums of differently shaped branches."""
    ops: list[tuple[str, list[int], object]] = []
    for i in range(draw(st.integers(2, 6))):
        if i >= 1 and draw(st.booleans()):
            ops.append(("add", [draw(st.integers(-1, i - 1)), draw(st.integers(-1, i - 1))], None))
        else:
            kind = draw(st.sampled_from(["conv", "conv", "avgpool", "pad", "relu", "transposed"]))
            axes = []
            for _ in range(2):
                k = draw(st.integers(1, 4))
                d = draw(st.integers(1, 3)) if kind in ("conv", "transposed") else 1
                p = draw(st.integers(0, k // 2))
                axes.append(Axis(k, draw(st.integers(1, 2)), p, p, d, 0))
            ops.append((kind, [draw(st.integers(-1, i - 1))], (kind, axes, False)))
    return ops


def dag_model(h: int, w: int, ops: list[tuple[str, list[int], object]]) -> tuple[maps.Model, Brute]:
    def name(i: int) -> str:
        return "input" if i < 0 else f"n{i}"

    lines = [f"input: [1, {h}, {w}]", "layers:"]
    for i, (kind, sources, spec) in enumerate(ops):
        src = ", ".join(name(s) for s in sources)
        if kind == "add":
            lines.append(f"  - {{type: add, name: {name(i)}, from: [{src}]}}")
        else:
            assert isinstance(spec, tuple)
            flow = to_yaml(*spec)
            body = "type: relu" if flow == "relu" else flow[1:-1]
            lines.append(f"  - {{{body}, name: {name(i)}, from: [{src}]}}")
    model = model_of("\n".join(lines) + "\n")
    shapes = {-1: (h, w)} | {k: model.units[k] for k in range(len(ops))}
    edges: list[list[tuple[int, list[Reads]]]] = []
    for i, (kind, sources, spec) in enumerate(ops):
        if kind == "add":
            if shapes[sources[0]] != shapes[sources[1]]:
                raise ShapeError("no broadcasting here")  # the test skips the example
            edges.append([(s, [lambda x: {x}, lambda x: {x}]) for s in sources])
            continue
        assert isinstance(spec, tuple)
        source = sources[0]
        reads = [
            oracle_layer(kind, spec[1][a], shapes[source][a], shapes[i][a]).reads for a in range(2)
        ]
        edges.append([(source, reads)])
    return model, Brute(edges, shapes)


@settings(
    max_examples=80 * SCALE, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(st.integers(5, 11), st.integers(5, 11), dag_2d(), st.data())
def test_random_2d_dags_against_brute_force(
    h: int, w: int, ops: list[tuple[str, list[int], object]], pick: st.DataObject
) -> None:
    model, brute = _build(lambda: dag_model(h, w, ops))
    k = len(ops) - 1
    check_against_brute(model, brute, k, some_units(model, k, pick))


def test_cross_shaped_merge_against_brute_force() -> None:
    """Two branches of different shapes: the maps are no outer product, and stay exact."""
    ops: list[tuple[str, list[int], object]] = [
        ("conv", [-1], ("conv", [Axis(1, 1, 0, 0, 1, 0), Axis(3, 1, 2, 2, 2, 0)], False)),
        ("conv", [-1], ("conv", [Axis(3, 1, 2, 2, 2, 0), Axis(1, 1, 0, 0, 1, 0)], False)),
        ("add", [0, 1], None),
        ("conv", [2], ("conv", [Axis(3, 1, 1, 1, 1, 0), Axis(3, 1, 1, 1, 1, 0)], False)),
    ]
    model, brute = dag_model(9, 9, ops)
    check_against_brute(model, brute, 3, [(0, 0), (4, 4), (8, 3)])
    erf = maps.erf(model, 2, (4, 4))
    # a cross: 1 path from each arm of the cross, 2 at the centre (through both branches)
    assert erf.grid.at((4, 4)) == 2
    assert (erf.grid.at((4, 2)), erf.grid.at((2, 4)), erf.grid.at((2, 2))) == (1, 1, 0)


# ---------------------------------------------------------------- against PyTorch


@pytest.mark.torch
@settings(
    max_examples=60 * SCALE, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(st.integers(5, 11), st.integers(5, 11), dag_2d(), st.data())
def test_erf_equals_the_torch_input_gradient(
    h: int, w: int, ops: list[tuple[str, list[int], object]], pick: st.DataObject
) -> None:
    """Every weight 1, no bias, average pooling as a sum (``divisor_override=1``): the input
    gradient of one output unit counts the paths from each input position to it."""
    torch = pytest.importorskip("torch")
    from tests.torch_bridge import GraphModule

    model, _ = _build(lambda: dag_model(h, w, ops))
    shapes = [row.output_shape for row in model.report.layers]
    module = GraphModule(model.graph, shapes).double().eval()
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.AvgPool2d):
                m.divisor_override = 1
            for name, p in m.named_parameters(recurse=False):
                p.fill_(0.0 if name == "bias" else 1.0)
    x = torch.ones(1, 1, h, w, dtype=torch.float64, requires_grad=True)
    outputs = module(x)
    k = len(ops) - 1
    for unit in some_units(model, k, pick):
        (grad,) = torch.autograd.grad(outputs[k][(0, 0, *unit)], x, retain_graph=True)
        erf = maps.erf(model, k, unit)
        counts = [[erf.grid.at((i, j)) for j in range(w)] for i in range(h)]
        assert grad[0, 0].tolist() == counts


@pytest.mark.torch
def test_erf_of_a_residual_stack_equals_the_torch_input_gradient() -> None:
    torch = pytest.importorskip("torch")
    from tests.torch_bridge import GraphModule

    text = """input: [1, 24, 24]
layers:
  - {type: conv2d, out_channels: 1, kernel_size: 3, padding: 1, name: stem}
  - {type: conv2d, out_channels: 1, kernel_size: 3, padding: 2, dilation: 2, name: a}
  - {type: add, from: [stem, a], name: s1}
  - {type: avgpool2d, kernel_size: 2, name: pool}
  - {type: conv2d, out_channels: 1, kernel_size: [1, 5], padding: [0, 2], name: b}
  - {type: conv2d, out_channels: 1, kernel_size: [5, 1], padding: [2, 0], name: c, from: pool}
  - {type: add, from: [b, c, pool], name: s2}
"""
    model = model_of(text)
    graph = model.graph
    module = GraphModule(graph, [r.output_shape for r in model.report.layers]).double().eval()
    with torch.no_grad():
        for m in module.modules():
            for p in m.parameters(recurse=False):
                p.fill_(1.0)
    x = torch.ones(1, 1, 24, 24, dtype=torch.float64, requires_grad=True)
    out = module(x)[-1]
    for unit in [(0, 0), (5, 6), (11, 11)]:
        (grad,) = torch.autograd.grad(out[(0, 0, *unit)], x, retain_graph=True)
        erf = maps.erf(model, 6, unit)
        # the average pool divides by its 2×2 window: the paths are 4 × the gradient
        expected = [[erf.grid.at((i, j)) for j in range(24)] for i in range(24)]
        assert (grad[0, 0] * 4).tolist() == expected
