"""What a layer declaration is made of: arguments, the rule context and the rule's result."""

import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Final, Literal, NamedTuple

from rfcalc.errors import InputError, ShapeError, SourcePos
from rfcalc.layers.argtypes import MAX_DIM as MAX_DIM
from rfcalc.layers.argtypes import ArgType
from rfcalc.layers.argtypes import T as T
from rfcalc.rf import IDENTITY_AXIS, AxisRule

Shape = tuple[int, ...]


# ---------------------------------------------------------------- layouts
#
# A tensor's *layout* says what each of its dims (no batch) is: the channels ("C"), spatial
# axis ``a`` of the model input (an int, 0-based), or a derived dim (None: new features, a
# flattened mix, a size-1 dim). The model input is channels first, ("C", 0, 1, …); permute and
# transpose move the tags with the dims, so that each spatial axis keeps its receptive field
# wherever it moves. Spatial axes flattened together into one dim make a *token* dim
# (:class:`Tokens`), which still carries each axis: a token's field is, per axis, the field of
# its row and its column. Receptive fields are kept per input axis; an axis that no dim carries
# any more (flattened with the channels, cut by a slice) has a global field.

CHANNELS: Final = "C"


class Tokens(NamedTuple):
    """A token dim: the spatial ``axes`` (of ``sizes`` units) flattened row-major into one dim,
    as ``flatten(2)`` makes (C, H·W) of (C, H, W); ``lead`` and ``trail`` extra tokens before
    and after them (a class token concatenated in front) read no input position."""

    axes: tuple[int, ...]
    sizes: tuple[int, ...]
    lead: int = 0
    trail: int = 0

    @property
    def length(self) -> int:
        return self.lead + math.prod(self.sizes) + self.trail


DimTag = int | Literal["C"] | Tokens | None
Layout = tuple[DimTag, ...]


def carried(tag: DimTag) -> tuple[int, ...]:
    """The spatial axes a dim carries: one, several (a token dim) or none."""
    if isinstance(tag, int):
        return (tag,)
    if isinstance(tag, Tokens):
        return tag.axes
    return ()


@lru_cache(maxsize=1024)
def axis_sizes(layout: Layout, shape: Shape, rank: int) -> tuple[int, ...]:
    """Per spatial axis of the model input: its size in a tensor of ``shape`` (1 where no dim
    carries it any more). Cached: the engine asks four times a layer, mostly the same."""
    sizes = [1] * rank
    for tag, n in zip(layout, shape, strict=True):
        if isinstance(tag, int):
            sizes[tag] = n
        elif isinstance(tag, Tokens):
            for a, m in zip(tag.axes, tag.sizes, strict=True):
                sizes[a] = m
    return tuple(sizes)


@lru_cache(maxsize=8)
def channels_first(ndim: int) -> Layout:
    """The layout of a model input with ``ndim`` dims: ("C", 0, 1, …)."""
    return (CHANNELS, *range(ndim - 1))


def is_permuted(layout: Layout) -> bool:
    """Is some spatial axis in dim 0, or the channels elsewhere? (Derived dims are neutral.)"""
    return bool(layout) and (isinstance(layout[0], int | Tokens) or CHANNELS in layout[1:])


AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def axis_name(rank: int, i: int) -> str:
    return AXIS_NAMES.get(rank, tuple(f"axis {j}" for j in range(rank)))[i]


def fmt_layout(layout: Layout, rank: int) -> str:
    """("C", 0, 1) → "(C, H, W)"; a derived dim is "*", a token dim "H·W" (with a class
    token in front, "1+H·W")."""
    return "(" + ", ".join(_fmt_tag(t, rank) for t in layout) + ")"


def _fmt_tag(tag: DimTag, rank: int) -> str:
    if tag is None:
        return "*"
    if isinstance(tag, str):
        return tag
    if isinstance(tag, int):
        return axis_name(rank, tag)
    text = "·".join(axis_name(rank, a) for a in tag.axes)
    return f"{tag.lead}+" * bool(tag.lead) + text + f"+{tag.trail}" * bool(tag.trail)


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: object = _Required()


class Arg(NamedTuple):
    name: str
    type: ArgType
    default: object = REQUIRED
    doc: str = ""
    minimum: int | None = None  # for INT, PER_AXIS, INT_LIST: smallest allowed entry
    choices: tuple[str, ...] = ()
    nullable: bool = False  # null is a valid value (PyTorch's None)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def ignored(*names: str) -> tuple[Arg, ...]:
    return tuple(Arg(n, T.IGNORED, None, "accepted and ignored (changes no number)") for n in names)


class PerInput(NamedTuple):
    """Receptive-field rule: one tuple of axis rules per input (a single-input layer has one)."""

    axes: tuple[tuple[AxisRule, ...], ...]


class _Pointwise:
    def __repr__(self) -> str:
        return "POINTWISE"


class _AllGlobal:
    def __repr__(self) -> str:
        return "GLOBAL"


class PerDim(NamedTuple):
    """Receptive-field rule of a layer that reads the layout: per input, one rule for *every*
    dim (dim 0 included), output dim j reading input dim j. A rule on a dim that carries no
    spatial axis changes no field. (:class:`PerInput` covers dims 1… of a channels-first input.)"""

    dims: tuple[tuple[AxisRule, ...], ...]


POINTWISE = _Pointwise()  # every output unit reads the same unit of its input (per axis)
ALL_GLOBAL = _AllGlobal()  # every output unit reads every spatial position
RfRule = PerInput | PerDim | _Pointwise | _AllGlobal


class Terms(NamedTuple):
    """What a layer computes beyond its weight MACs (``Out.macs``), one sample: the quantities
    the counting conventions of other tools weigh (rfcalc/counting.py, docs/counting.md)."""

    bias: int = 0  # bias additions (conv, transposed conv, linear with a bias)
    param_positions: int = 0  # a conv's params × its output positions (torchinfo)
    leaf_params: int = 0  # params of the leaf modules holding a weight or bias (torchinfo)
    norm_stats: int = 0  # elements normalised with running statistics (batch norm, inference)
    norm_live: int = 0  # elements normalised with statistics of the input (IN, GN, LN, …)
    norm_affine: int = 0  # elements scaled and shifted by a normalisation's weight and bias
    prelu: int = 0  # elements through a PReLU
    softmax: int = 0  # a softmax's exp, add and divide per element: rows · (3·n − 1)
    avg_reads: int = 0  # average pooling: input elements read, summed over the windows
    avg_divides: int = 0  # average pooling: one division per output element
    adaptive2d_inputs: int = 0  # a 2-D adaptive average pooling's input elements
    upsample_nearest2d: int = 0  # output elements of 2-D nearest upsampling
    upsample_linear: int = 0  # output elements of linear upsampling (1-D)
    upsample_bilinear: int = 0
    upsample_bicubic: int = 0
    upsample_trilinear: int = 0
    upsample_bilinear2d: int = 0  # output elements of 2-D bilinear upsampling (fvcore's aten op)
    grid_sample: int = 0  # values that grid_sample interpolates (deformable attention's samples)
    # what ptflops weighs (its module hooks, and the functions it patches that modules call)
    relu: int = 0  # elements through a ReLU, ReLU6, LeakyReLU, ELU, GELU, SiLU, by kind
    relu6: int = 0
    leakyrelu: int = 0
    elu: int = 0
    gelu: int = 0
    silu: int = 0
    pool_inputs: int = 0  # a max, min, average or adaptive pooling's input elements (F.*pool*)
    pool_hooked: int = 0  # … of a pooling module (its hook; a call has none)
    upsample_outputs: int = 0  # output elements of upsampling, any mode (F.interpolate)
    upsample_hooked: int = 0  # … of an upsampling module (its hook; a call has none)
    norm_module: int = 0  # elements of a BatchNorm, InstanceNorm, GroupNorm, LayerNorm module
    norm_affine_flag: int = 0  # … of those with an ``affine`` flag set (not LayerNorm)
    softmax_module: int = 0  # elements through a softmax module (not log-softmax)
    lrn: int = 0  # local response norm: F.local_response_norm's patched calls (ptflops)
    # an attention layer: what ptflops counts for it less its weight MACs (its
    # MultiheadAttention hook's own formula, the products it sees run; can be negative)
    attention_ptflops: int = 0
    # attention's two products (in ``Out.macs``) when they run through PyTorch's
    # scaled_dot_product_attention (need_weights false; the transformer layers), an operator
    # fvcore does not count
    sdpa_products: int = 0


NO_TERMS = Terms()

# what only a module's hook counts: thop's pooling and interpolation counts, ptflops' hooks
_HOOKED = (
    "avg_reads",
    "avg_divides",
    "upsample_linear",
    "upsample_bilinear",
    "upsample_bicubic",
    "upsample_trilinear",
    "pool_hooked",
    "upsample_hooked",
)


def as_written(terms: Terms, module: bool) -> Terms:
    """A pooling's or an upsampling's terms as a module (``module``) or as a call
    (``F.avg_pool2d``, ``F.interpolate``): the tools that count module hooks (thop, and
    ptflops' hooks) do not see a call; those that count PyTorch's operators (fvcore, and
    ptflops' patched functions) count both alike."""
    return terms if module else terms._replace(**dict.fromkeys(_HOOKED, 0))


MODULE_ARG_DOC = (
    "false: a call in PyTorch (F.avg_pool2d, F.interpolate …), which the tools that count "
    "modules do not see (docs/counting.md)"
)


class Out(NamedTuple):
    shape: Shape
    params: int = 0
    buffers: int = 0
    macs: int = 0  # weight multiply-accumulates, bias excluded (docs/numbers.md)
    rf: RfRule = POINTWISE
    # the output's layout; None: the input's when the rank is kept (merges: the inputs'
    # common layout), else every dim derived
    layout: Layout | None = None
    terms: Terms = NO_TERMS  # what the counting conventions weigh besides ``macs``


class Ctx(NamedTuple):
    """What a layer rule sees: its name, validated arguments, input shapes and layouts."""

    name: str
    kind: str
    args: Mapping[str, object]
    arg_pos: Mapping[str, SourcePos]
    pos: SourcePos
    in_shapes: tuple[Shape, ...]
    # one per input; empty where only shapes are wanted (then every dim reads as derived)
    in_layouts: tuple[Layout, ...] = ()
    rank: int = 0  # spatial axes of the model input (to name them in messages)

    @property
    def shape(self) -> Shape:
        return self.in_shapes[0]

    @property
    def layout(self) -> Layout:
        return self.in_layouts[0] if self.in_layouts else (None,) * len(self.in_shapes[0])

    def axis_at(self, dim: int) -> int | None:
        """The spatial axis the first input carries in ``dim`` (no batch), or None."""
        tag = self.layout[dim]
        return tag if isinstance(tag, int) else None

    def dim(self, name: str, value: int | None = None) -> int:
        """A PyTorch dim argument (batch = 0, negatives from the end, as PyTorch normalises
        them) as an index into the unbatched shape."""
        given = self.get_int(name) if value is None else value
        batched = len(self.shape) + 1
        d = given + batched if given < 0 else given
        if not 0 <= d < batched:
            raise self.fail(
                f"{name} {given} is out of range for a {batched}-dim batched input", name
            )
        if d == 0:
            raise self.fail(
                f"{name} {given} is the batch dim, which rfcalc's shapes do not include", name
            )
        return d - 1

    def fail(self, message: str, arg: str | None = None) -> ShapeError:
        pos = self.arg_pos.get(arg, self.pos) if arg else self.pos
        return ShapeError(f"layer '{self.name}' ({self.kind}): {message}", pos)

    def get_int(self, name: str) -> int:
        value = self.args[name]
        assert isinstance(value, int)
        return value

    def opt_int(self, name: str) -> int | None:
        value = self.args[name]
        assert value is None or isinstance(value, int)
        return value

    def flag(self, name: str) -> bool:
        return bool(self.args[name])

    def per_axis(self, name: str, rank: int) -> tuple[int, ...]:
        """An int-or-list argument expanded to one entry per spatial axis."""
        value = self.args[name]
        if isinstance(value, int):
            return (value,) * rank
        assert isinstance(value, tuple)
        if len(value) != rank:
            raise self.fail(
                f"{name} needs 1 or {rank} entries (one per spatial axis), got {len(value)}", name
            )
        return tuple(int(v) for v in value)

    def check_inferred(self, name: str, inferred: int) -> None:
        """PyTorch needs it, rfcalc infers it: a given value must agree."""
        given = self.args.get(name)
        if given is not None and given != inferred:
            raise self.fail(f"{name} is {given} but the input has {inferred}", name)

    def need_rank(self, *ranks: int) -> None:
        if len(self.shape) not in ranks:
            want = " or ".join(_rank_phrase(r) for r in ranks)
            raise self.fail(f"needs a {want} input, got shape {fmt_shape(self.shape)}")

    def need_min_rank(self, rank: int) -> None:
        if len(self.shape) < rank:
            raise self.fail(
                f"needs an input of at least {rank} dims, got shape {fmt_shape(self.shape)}"
            )


def _rank_phrase(rank: int) -> str:
    return {1: "(F)", 2: "(C, L)", 3: "(C, H, W)", 4: "(C, D, H, W)"}.get(rank, f"{rank}-dim")


def fmt_shape(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def prod(values: tuple[int, ...] | list[int]) -> int:
    return math.prod(values)


Rule = Callable[[Ctx], Out]


class LayerKind(NamedTuple):
    """One layer type: its arguments and its rule (shape, params, buffers, MACs, RF)."""

    name: str  # canonical key: lower case, no '_'
    torch_name: str  # PyTorch's class name, for docs
    family: str
    doc: str
    args: tuple[Arg, ...]
    rule: Rule
    min_inputs: int = 1
    max_inputs: int = 1
    aliases: tuple[str, ...] = ()
    # reads dim 0 as the channels and the rest as spatial: a permuted input is an error
    # (False for layers that act on named dims or element-wise, and read ctx.layout)
    channels_first: bool = True

    def takes(self, name: str) -> bool:
        """Whether the layer type has an argument of this name."""
        return any(arg.name == name for arg in self.args)


def spatial_rule(rules: tuple[AxisRule, ...]) -> PerInput:
    return PerInput((rules,))


def need_channels_first(ctx: Ctx) -> None:
    """A layer that reads dim 0 as the channels, given a permuted input, is an error (PyTorch
    would compute something else: a conv2d on (H, W, C) convolves over W and C)."""
    layout = ctx.layout
    if not is_permuted(layout):
        return
    hint = None
    if CHANNELS in layout:
        # the channels, then the spatial axes in order, then any derived dims
        rest = sorted(
            (i for i, t in enumerate(layout) if t != CHANNELS),
            key=lambda i: (0, layout[i]) if isinstance(layout[i], int) else (1, i),
        )
        dims = ", ".join(str(i + 1) for i in [layout.index(CHANNELS), *rest])
        hint = f"permute back first: {{type: permute, dims: [0, {dims}]}}"
    raise ShapeError(
        f"layer '{ctx.name}' ({ctx.kind}): needs channels first, but its input is permuted: "
        f"{fmt_layout(layout, ctx.rank)}",
        ctx.pos,
        hint,
    )


def on_dim(ctx: Ctx, dim: int, rule: AxisRule) -> RfRule:
    """``rule`` along one dim (no batch) of a single input, identity on the others: pointwise
    when that dim carries no spatial axis."""
    if not carried(ctx.layout[dim]):
        return POINTWISE
    rules: list[AxisRule] = [IDENTITY_AXIS] * len(ctx.shape)
    rules[dim] = rule
    return PerDim((tuple(rules),))


def identity_axes(rank: int) -> tuple[AxisRule, ...]:
    return (IDENTITY_AXIS,) * rank


def check_size(ctx: Ctx, shape: Shape) -> Shape:
    for d in shape:
        if d < 1:
            raise ctx.fail(f"output size would be {fmt_shape(shape)}: sizes must be positive")
        if d > MAX_DIM:
            raise ctx.fail(f"output size {d} is too large (limit {MAX_DIM:,})")
    return shape


def input_error(message: str, pos: SourcePos, hint: str | None = None) -> InputError:
    return InputError(message, pos, hint)
