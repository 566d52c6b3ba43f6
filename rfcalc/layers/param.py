"""A learned tensor that is not a layer's weight: ConvNeXt's layer scale, ViT's class token
and position embedding (``nn.Parameter`` in a module's ``__init__``)."""

from __future__ import annotations

from rfcalc.layers.base import Arg, Ctx, LayerKind, Out, T, check_size, ignored, prod


def _parameter(ctx: Ctx) -> Out:
    value = ctx.args["shape"]
    assert isinstance(value, (int, tuple))
    shape = (value,) if isinstance(value, int) else tuple(int(v) for v in value)
    check_size(ctx, shape)
    # it reads no input: no receptive field, and a merge with it keeps the other inputs' field
    return Out(shape, params=prod(shape))


KINDS = (
    LayerKind(
        name="parameter",
        torch_name="Parameter",
        family="parameter",
        doc=(
            "A learned tensor of the given shape, without the batch dim (torch.nn.Parameter): "
            "its elements count as parameters; it reads no input (layer scale with mul, a "
            "class token with concat, a position embedding with add)."
        ),
        args=(
            Arg(
                "shape",
                T.INT_LIST,
                doc="sizes without the batch dim, e.g. [768] or [96, 1, 1]",
                minimum=1,
            ),
            *ignored("requires_grad", "data"),
        ),
        rule=_parameter,
        min_inputs=0,
        max_inputs=0,
        channels_first=False,
    ),
)
