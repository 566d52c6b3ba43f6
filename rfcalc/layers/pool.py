"""Pooling: max/avg/min windows, adaptive pooling and Keras-style global pooling."""

from __future__ import annotations

from rfcalc.layers.base import (
    ALL_GLOBAL,
    MODULE_ARG_DOC,
    Arg,
    Ctx,
    LayerKind,
    Out,
    T,
    Terms,
    as_written,
    check_size,
    ignored,
    prod,
    spatial_rule,
)
from rfcalc.layers.common import axis_name, resolve_padding, window_output
from rfcalc.rf import GLOBAL_AXIS, AxisRule, Func, Window, ratio


def _window_pool(prefix: str, torch_prefix: str, rank: int, what: str) -> LayerKind:
    dilated = prefix in ("max", "min")

    def rule(ctx: Ctx) -> Out:
        ctx.need_rank(rank + 1)
        sizes = ctx.shape[1:]
        k = ctx.per_axis("kernel_size", rank)
        s = ctx.per_axis("stride", rank) if ctx.args["stride"] is not None else k
        d = ctx.per_axis("dilation", rank) if dilated else (1,) * rank
        pads = resolve_padding(ctx, sizes, k, s, d)
        for i, (before, after) in enumerate(pads):
            if max(before, after) > k[i] // 2:
                raise ctx.fail(
                    f"padding {max(before, after)} on axis {axis_name(rank, i)} is more than "
                    f"half the kernel size {k[i]}",
                    "padding",
                )
        ceil_mode = ctx.flag("ceil_mode")
        out = tuple(
            window_output(ctx, (rank, i), sizes[i], k[i], s[i], d[i], pads[i], ceil_mode)
            for i in range(rank)
        )
        shape = check_size(ctx, (ctx.shape[0], *out))
        rules = tuple(
            Window(d[i] * (k[i] - 1) + 1, s[i], pads[i][0], d[i], pads[i][1]) for i in range(rank)
        )
        module = ctx.flag("module")
        inputs = prod(ctx.shape)
        if prefix != "avg":
            terms = Terms(pool_inputs=inputs, pool_hooked=inputs)
            return Out(shape, rf=spatial_rule(rules), terms=as_written(terms, module))
        # thop's count: every read of every window (the padding's too, as PyTorch divides
        # by it with count_include_pad), and one division per output
        whole = ctx.args.get("count_include_pad") is not False
        reads = ctx.shape[0] * prod(
            [_window_reads(sizes[i], out[i], k[i], s[i], pads[i], whole) for i in range(rank)]
        )
        terms = Terms(
            avg_reads=reads, avg_divides=prod(shape), pool_inputs=inputs, pool_hooked=inputs
        )
        return Out(shape, rf=spatial_rule(rules), terms=as_written(terms, module))

    args = [
        Arg("kernel_size", T.PER_AXIS, minimum=1),
        Arg("stride", T.PER_AXIS, None, "defaults to kernel_size", 1, nullable=True),
        Arg("padding", T.PADDING, 0, "at most half the kernel on each side", 0),
    ]
    if dilated:
        args.append(Arg("dilation", T.PER_AXIS, 1, minimum=1))
    args.append(Arg("ceil_mode", T.BOOL, False, "round the output size up"))
    args.append(Arg("module", T.BOOL, True, MODULE_ARG_DOC))
    extra = ("return_indices",) if dilated else ("count_include_pad", "divisor_override")
    torch = f"{torch_prefix}Pool{rank}d"
    source = "(not in PyTorch; shaped as MaxPool)" if prefix == "min" else f"(torch.nn.{torch})"
    return LayerKind(
        name=f"{prefix}pool{rank}d",
        torch_name=torch,
        family="pooling",
        doc=f"{rank}-D {what} pooling {source}.",
        args=(*args, *ignored(*extra)),
        rule=rule,
    )


def _window_reads(n: int, o: int, k: int, s: int, pad: tuple[int, int], whole: bool) -> int:
    """Positions read by the ``o`` windows along an axis of ``n`` (with the padding when
    ``whole``), each window clipped to the padded axis."""
    lo, hi = (-pad[0], n + pad[1]) if whole else (0, n)
    return sum(max(min(i * s - pad[0] + k, hi) - max(i * s - pad[0], lo), 0) for i in range(o))


def _adaptive_reads(n: int, o: int) -> int:
    """Positions read by PyTorch's adaptive windows [⌊j·n/o⌋, ⌈(j+1)·n/o⌉)."""
    return sum(-(-(j + 1) * n // o) - j * n // o for j in range(o))


def _adaptive_axis(n: int, o: int) -> AxisRule:
    if o == 1:
        return GLOBAL_AXIS
    if n % o == 0:
        return Window(n // o, n // o, 0)

    def reads(x: int) -> tuple[int, int, int]:
        # PyTorch: start = floor(x·n/o), end = ceil((x+1)·n/o) (exclusive)
        start = (x * n) // o
        end = -((-(x + 1) * n) // o)
        return (start, end - 1, 1)

    return Func(reads, ratio(n, o), f"adaptive {n}->{o}")


def _adaptive_pool(prefix: str, torch_prefix: str, rank: int) -> LayerKind:
    def rule(ctx: Ctx) -> Out:
        ctx.need_rank(rank + 1)
        sizes = ctx.shape[1:]
        value = ctx.args["output_size"]
        entries = (value,) * rank if isinstance(value, int) else value
        assert isinstance(entries, tuple)
        if len(entries) != rank:
            raise ctx.fail(
                f"output_size needs 1 or {rank} entries (one per spatial axis), got {len(entries)}",
                "output_size",
            )
        out = tuple(n if o is None else int(o) for n, o in zip(sizes, entries, strict=True))
        shape = check_size(ctx, (ctx.shape[0], *out))
        inputs = prod(ctx.shape)
        terms = Terms(pool_inputs=inputs, pool_hooked=inputs)
        if prefix == "avg":
            reads = ctx.shape[0] * prod(
                [_adaptive_reads(n, o) for n, o in zip(sizes, out, strict=True)]
            )
            terms = terms._replace(
                avg_reads=reads,
                avg_divides=prod(shape),
                adaptive2d_inputs=inputs if rank == 2 else 0,
            )
        terms = as_written(terms, ctx.flag("module"))
        if all(o == 1 for o in out):
            return Out(shape, rf=ALL_GLOBAL, terms=terms)
        rules = tuple(_adaptive_axis(n, o) for n, o in zip(sizes, out, strict=True))
        return Out(shape, rf=spatial_rule(rules), terms=terms)

    torch = f"Adaptive{torch_prefix}Pool{rank}d"
    return LayerKind(
        name=f"adaptive{prefix}pool{rank}d",
        torch_name=torch,
        family="adaptive pooling",
        doc=f"{rank}-D adaptive {prefix} pooling to a fixed output size (torch.nn.{torch}).",
        args=(
            Arg("output_size", T.SIZE_LIST, doc="target size; null keeps an axis", minimum=1),
            Arg("module", T.BOOL, True, MODULE_ARG_DOC),
            *ignored("return_indices"),
        ),
        rule=rule,
    )


def _global_pool(prefix: str, rank: int) -> LayerKind:
    def rule(ctx: Ctx) -> Out:
        ctx.need_rank(rank + 1)
        if ctx.flag("keepdims"):
            return Out((ctx.shape[0], *((1,) * rank)), rf=ALL_GLOBAL)
        return Out((ctx.shape[0],), rf=ALL_GLOBAL, layout=ctx.layout[:1])

    name = "Average" if prefix == "avg" else "Max"
    return LayerKind(
        name=f"global{prefix}pool{rank}d",
        torch_name=f"Global{name}Pooling{rank}D",
        family="global pooling",
        doc=f"{rank}-D global {prefix} pooling to (C) (Keras' Global{name}Pooling{rank}D).",
        args=(Arg("keepdims", T.BOOL, False, "keep the spatial axes as size 1"),),
        rule=rule,
    )


KINDS = (
    *(_window_pool("max", "Max", r, "max") for r in (1, 2, 3)),
    *(_window_pool("avg", "Avg", r, "average") for r in (1, 2, 3)),
    *(_window_pool("min", "Min", r, "min") for r in (1, 2, 3)),
    *(_adaptive_pool("avg", "Avg", r) for r in (1, 2, 3)),
    *(_adaptive_pool("max", "Max", r) for r in (1, 2, 3)),
    *(_global_pool("avg", r) for r in (1, 2, 3)),
    *(_global_pool("max", r) for r in (1, 2, 3)),
)
