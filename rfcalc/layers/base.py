"""What a layer declaration is made of: arguments, the rule context and the rule's result."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from rfcalc.errors import InputError, ShapeError, SourcePos
from rfcalc.rf import IDENTITY_AXIS, AxisRule

Shape = tuple[int, ...]

MAX_DIM = 2**31  # any single size or argument beyond this is an error, not slow arithmetic


class T(Enum):
    """Argument types; the loader coerces and validates values from these."""

    INT = "int"
    BOOL = "bool"
    FLOAT = "number"
    CHOICE = "choice"
    PER_AXIS = "int | [int per spatial axis]"
    PADDING = "int | 'same' | 'valid' | [int or [before, after] per axis]"
    INT_LIST = "int | [int, ...]"
    SIZE_LIST = "int | [int or null per spatial axis]"
    SCALE = "number | [number per spatial axis]"
    PAD_LIST = "int | [int, ...] (last axis first)"
    IGNORED = "any (accepted, ignored)"


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: object = _Required()


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    type: T
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


@dataclass(frozen=True, slots=True)
class PerInput:
    """Receptive-field rule: one tuple of axis rules per input (a single-input layer has one)."""

    axes: tuple[tuple[AxisRule, ...], ...]


class _Pointwise:
    def __repr__(self) -> str:
        return "POINTWISE"


class _AllGlobal:
    def __repr__(self) -> str:
        return "GLOBAL"


POINTWISE = _Pointwise()  # every output unit reads the same unit of its input
ALL_GLOBAL = _AllGlobal()  # every output unit reads every spatial position
RfRule = PerInput | _Pointwise | _AllGlobal


@dataclass(frozen=True, slots=True)
class Out:
    shape: Shape
    params: int = 0
    buffers: int = 0
    macs: int = 0
    rf: RfRule = POINTWISE


@dataclass(frozen=True, slots=True)
class Ctx:
    """What a layer rule sees: its name, validated arguments and input shapes."""

    name: str
    kind: str
    args: Mapping[str, object]
    arg_pos: Mapping[str, SourcePos]
    pos: SourcePos
    in_shapes: tuple[Shape, ...]

    @property
    def shape(self) -> Shape:
        return self.in_shapes[0]

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


@dataclass(frozen=True, slots=True)
class LayerKind:
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
    arg_index: Mapping[str, Arg] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "arg_index", {a.name: a for a in self.args})


def spatial_rule(rules: tuple[AxisRule, ...]) -> PerInput:
    return PerInput((rules,))


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
