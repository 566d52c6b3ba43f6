"""Activations and dropout: shape unchanged, pointwise, no parameters (but PReLU)."""

from __future__ import annotations

from rfcalc.layers.base import (
    NO_TERMS,
    Arg,
    Ctx,
    LayerKind,
    Out,
    Rule,
    T,
    Terms,
    ignored,
    need_channels_first,
    on_dim,
    prod,
)
from rfcalc.rf import GLOBAL_AXIS


def _unchanged(ctx: Ctx) -> Out:
    # the kinds ptflops counts (Terms.relu …) weigh their elements
    field = ctx.kind if ctx.kind in _COUNTED else None
    return Out(ctx.shape, terms=Terms(**{field: prod(ctx.shape)}) if field else NO_TERMS)


_COUNTED = frozenset(("relu", "relu6", "leakyrelu", "elu", "gelu", "silu"))


def _softmax(ctx: Ctx) -> Out:
    """Every output depends on the whole of the dim it normalises over: along a spatial axis
    the field is global on that axis. PyTorch's implicit dim, for dim null, is the batch for a
    3-dim batched input (pointwise), else dim 1."""
    value = ctx.opt_int("dim")
    batched = len(ctx.shape) + 1
    if value is None:
        value = 0 if batched == 3 else 1
    if not -batched <= value < batched:
        raise ctx.fail(f"dim {value} is out of range for a {batched}-dim batched input", "dim")
    elements = prod(ctx.shape)
    d = value % batched - 1  # -1: the batch, where one sample normalises each element alone
    log = ctx.kind == "logsoftmax"
    # a call (x.softmax(dim), as Ultralytics' DFL and Classify write it) no module hook sees
    terms = NO_TERMS
    if ctx.flag("module"):
        terms = softmax_terms(elements, ctx.shape[d] if d >= 0 else 1, log)
        terms = terms._replace(softmax_module=0 if log else elements)  # ptflops: F.softmax
    if d < 0:
        return Out(ctx.shape, terms=terms)
    return Out(ctx.shape, rf=on_dim(ctx, d, GLOBAL_AXIS), terms=terms)


def softmax_terms(elements: int, n: int, log: bool = False) -> Terms:
    """A softmax over rows of ``n``: an exp and a division per element, n − 1 additions per
    row (and a log per row for log-softmax), as thop counts it."""
    rows = elements // n
    return Terms(softmax=rows * (3 * n - 1) + (rows if log else 0))


def _prelu(ctx: Ctx) -> Out:
    n = ctx.get_int("num_parameters")
    if n != 1:
        # one slope per channel, on dim 1 as PyTorch applies them
        need_channels_first(ctx)
        if n != ctx.shape[0]:
            raise ctx.fail(f"num_parameters must be 1 or the {ctx.shape[0]} channels, got {n}")
    return Out(ctx.shape, params=n, terms=Terms(leaf_params=n, prelu=prod(ctx.shape)))


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
        channels_first=False,
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
        channels_first=False,  # num_parameters 1 is element-wise; C is checked in the rule
    ),
    *(
        LayerKind(
            name=t.lower(),
            torch_name=t,
            family="activation",
            doc=f"{doc} along dim (torch.nn.{t}).",
            args=(
                Arg("dim", T.INT, None, "dim 0 is the batch", nullable=True),
                Arg(
                    "module",
                    T.BOOL,
                    True,
                    "false: a call in PyTorch (x.softmax(dim), torch.softmax), which the tools "
                    "that count modules do not see (docs/counting.md)",
                ),
            ),
            rule=_softmax,
            channels_first=False,
        )
        for t, doc in (("Softmax", "softmax"), ("LogSoftmax", "log of softmax"))
    ),
    _kind("dropout", "Dropout", "Dropout (torch.nn.Dropout).", "p", "inplace", family="dropout"),
    _kind(
        "stochasticdepth",
        "StochasticDepth",
        "Drops whole residual branches in training; identity here "
        "(torchvision.ops.StochasticDepth).",
        "p",
        "mode",
        family="dropout",
    ),
    _kind(
        "droppath",
        "DropPath",
        "Stochastic depth per sample; identity here (timm.layers.DropPath).",
        "drop_prob",
        "scale_by_keep",
        family="dropout",
    ),
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
