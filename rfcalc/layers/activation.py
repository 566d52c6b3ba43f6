"""Activations and dropout: shape unchanged, pointwise, no parameters (but PReLU)."""

from __future__ import annotations

from rfcalc.layers.base import Arg, Ctx, LayerKind, Out, Rule, T, ignored, spatial_rule
from rfcalc.rf import GLOBAL_AXIS, IDENTITY_AXIS


def _unchanged(ctx: Ctx) -> Out:
    return Out(ctx.shape)


def _softmax(ctx: Ctx) -> Out:
    """Every output depends on the whole of the axis it normalises over: along a spatial dim
    the field is global on that axis (PyTorch's implicit dim, for dim null, is never spatial:
    the batch for a 3-dim batched input, else dim 1)."""
    dim = ctx.opt_int("dim")
    batched = len(ctx.shape) + 1
    if dim is None:
        return Out(ctx.shape)
    if not -batched <= dim < batched:
        raise ctx.fail(f"dim {dim} is out of range for a {batched}-dim batched input", "dim")
    axis = dim % batched - 2  # dims 0 and 1 are the batch and the channels
    if axis < 0:
        return Out(ctx.shape)
    rank = batched - 2
    rules = tuple(GLOBAL_AXIS if a == axis else IDENTITY_AXIS for a in range(rank))
    return Out(ctx.shape, rf=spatial_rule(rules))


def _prelu(ctx: Ctx) -> Out:
    n = ctx.get_int("num_parameters")
    if n != 1 and n != ctx.shape[0]:
        raise ctx.fail(f"num_parameters must be 1 or the {ctx.shape[0]} channels, got {n}")
    return Out(ctx.shape, params=n)


def _ranked(rank: int) -> Rule:
    def rule(ctx: Ctx) -> Out:
        ctx.need_rank(rank + 1)
        return Out(ctx.shape)

    return rule


def _kind(name: str, torch: str, doc: str, *extra: str, family: str = "activation") -> LayerKind:
    return LayerKind(
        name=name.lower(),
        torch_name=torch,
        family=family,
        doc=doc,
        args=ignored(*extra),
        rule=_unchanged,
    )


_SIMPLE = (
    ("ReLU", "max(0, x)", ("inplace",)),
    ("ReLU6", "min(max(0, x), 6)", ("inplace",)),
    ("LeakyReLU", "leaky rectifier", ("negative_slope", "inplace")),
    ("ELU", "exponential linear unit", ("alpha", "inplace")),
    ("SELU", "scaled ELU", ("inplace",)),
    ("GELU", "Gaussian error linear unit", ("approximate",)),
    ("SiLU", "x·sigmoid(x) (swish)", ("inplace",)),
    ("Mish", "x·tanh(softplus(x))", ("inplace",)),
    ("Sigmoid", "logistic sigmoid", ()),
    ("Tanh", "hyperbolic tangent", ()),
    ("Hardswish", "hard swish", ("inplace",)),
    ("Hardsigmoid", "hard sigmoid", ("inplace",)),
    ("Softplus", "log(1 + exp(x))", ("beta", "threshold")),
    ("Identity", "passes its input through", ()),
)

KINDS = (
    *(_kind(t, t, f"{doc} (torch.nn.{t}).", *extra) for t, doc, extra in _SIMPLE),
    LayerKind(
        name="prelu",
        torch_name="PReLU",
        family="activation",
        doc="Parametric ReLU with 1 or C learnable slopes (torch.nn.PReLU).",
        args=(
            Arg("num_parameters", T.INT, 1, "1 or the number of channels", 1),
            *ignored("init", "device", "dtype"),
        ),
        rule=_prelu,
    ),
    *(
        LayerKind(
            name=t.lower(),
            torch_name=t,
            family="activation",
            doc=f"{doc} along dim (torch.nn.{t}).",
            args=(Arg("dim", T.INT, None, "dim 0 is the batch", nullable=True),),
            rule=_softmax,
        )
        for t, doc in (("Softmax", "softmax"), ("LogSoftmax", "log of softmax"))
    ),
    _kind("dropout", "Dropout", "Dropout (torch.nn.Dropout).", "p", "inplace", family="dropout"),
    _kind(
        "alphadropout",
        "AlphaDropout",
        "Alpha dropout (torch.nn.AlphaDropout).",
        "p",
        "inplace",
        family="dropout",
    ),
    *(
        LayerKind(
            name=f"dropout{r}d",
            torch_name=f"Dropout{r}d",
            family="dropout",
            doc=f"Channel dropout for {r}-D inputs (torch.nn.Dropout{r}d).",
            args=ignored("p", "inplace"),
            rule=_ranked(r),
        )
        for r in (1, 2, 3)
    ),
)
