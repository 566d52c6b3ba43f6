"""Argument types, each one object that owns what it means: how a value is checked and
converted (the builder), its JSON Schema fragment (``rfcalc schema``) and its one-line
description (``rfcalc layers`` and the docs). A new kind of argument is one entry here."""

# no `from __future__ import annotations`: its NamedTuples' string annotations would each cost
# a ForwardRef at every start (as rfcalc/engine.py says)
from collections.abc import Callable
from typing import Any, NamedTuple, TypeGuard

from rfcalc.errors import InputError, SourcePos, did_you_mean, what

MAX_DIM = 2**31  # any single size or argument beyond this is an error, not slow arithmetic
MAX_ENTRIES = 64

Schema = dict[str, Any]
# A value may be an expression wherever a value is read ($name or ${…}: expr.is_expression).
# The schema (rfcalc/schema.py) defines it once, under $defs.
EXPRESSION: Schema = {
    "type": "string",
    "pattern": r"^\$",
    "description": "a $name or ${expression}",
}


def or_expression(plain: Schema) -> Schema:
    """``plain``, or an expression. The expression is the ``if``, so a value that is none is
    checked against ``plain`` alone and an editor reports plain's own error ("'five' is not of
    type 'integer'"), never one "is not valid under any of the given schemas"."""
    return {"if": {"$ref": "#/$defs/expression"}, "else": plain}


def integer(minimum: int | None = None) -> Schema:
    return {"type": "integer"} | ({} if minimum is None else {"minimum": minimum})


def nullable(plain: Schema) -> Schema:
    """``plain`` or null (PyTorch's None), for a plain schema with a ``type`` or an ``enum``."""
    if "enum" in plain:
        return {**plain, "enum": [*plain["enum"], None]}
    types = plain["type"] if isinstance(plain["type"], list) else [plain["type"]]
    return {**plain, "type": [*types, "null"]}


def one_or_list(item: Schema) -> Schema:
    """A value, or a non-empty list of values (each may be an expression), as one plain schema
    with one ``type`` list (``minimum`` applies to numbers only, ``minItems`` to lists only), so
    that a wrong value gets one message: "'x' is not of type 'integer', 'array'"."""
    types = item["type"] if isinstance(item["type"], list) else [item["type"]]
    return {**item, "type": [*types, "array"], "minItems": 1, "items": or_expression(item)}


def is_int(value: object) -> TypeGuard[int]:
    """An int that is not a bool (YAML's true is no size)."""
    return isinstance(value, int) and not isinstance(value, bool)


class Checker(NamedTuple):
    """Checks one argument's value for the builder; errors name the layer and the argument."""

    where: str  # "layer 'x' (conv2d): "
    name: str
    pos: SourcePos
    minimum: int | None
    choices: tuple[str, ...]

    def fail(self, message: str, hint: str | None = None) -> InputError:
        return InputError(f"{self.where}{self.name} {message}", self.pos, hint)

    def integer(self, value: object, minimum: int | None) -> int:
        if not is_int(value):
            raise self.fail(f"must be an integer, got {what(value)}")
        if minimum is not None and value < minimum:
            raise self.fail(f"must be ≥ {minimum}, got {value}")
        if abs(value) > MAX_DIM:
            raise self.fail(f"is too large ({value}; limit {MAX_DIM:,})")
        return value

    def int_list(self, value: object, minimum: int | None, allow_null: bool = False) -> object:
        if is_int(value):
            return self.integer(value, minimum)
        if not isinstance(value, tuple) or not value:
            raise self.fail(
                f"must be an integer or a non-empty list of integers, got {what(value)}"
            )
        if len(value) > MAX_ENTRIES:
            raise self.fail("has too many entries")
        return tuple(
            None if (v is None and allow_null) else self.integer(v, minimum) for v in value
        )

    def number(self, value: object) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"must be a number, got {what(value)}")
        if not 0 < value <= MAX_DIM:
            raise self.fail(f"must be positive and at most {MAX_DIM:,}, got {value}")
        return value


class ArgType(NamedTuple):
    """One kind of argument: its description, its check, its schema."""

    doc: str
    check: Callable[[Checker, object], object]
    # (minimum, choices) → the fragment for a plain value; rfcalc/schema.py adds the expression
    schema: Callable[[int | None, tuple[str, ...]], Schema]

    @property
    def value(self) -> str:  # the description, as the former enum's value
        return self.doc


def _bool(c: Checker, value: object) -> object:
    if not isinstance(value, bool):
        raise c.fail(f"must be true or false, got {what(value)}")
    return value


def _choice(c: Checker, value: object) -> object:
    if value not in c.choices:
        raise c.fail(
            f"must be one of {', '.join(c.choices)}; got {what(value)}",
            did_you_mean(str(value), c.choices),
        )
    return value


def _scale(c: Checker, value: object) -> object:
    if isinstance(value, tuple):
        if not value or len(value) > MAX_ENTRIES:
            raise c.fail("must be a number or a non-empty list of numbers")
        return tuple(c.number(v) for v in value)
    return c.number(value)


def _padding(c: Checker, value: object) -> object:
    if isinstance(value, str):
        if value in ("same", "valid"):
            return value
        raise c.fail(
            f"must be an integer, a list, 'same' or 'valid'; got {what(value)}",
            did_you_mean(value, ("same", "valid")),
        )
    if isinstance(value, tuple) and value:
        out: list[object] = []
        for v in value:
            if isinstance(v, tuple):
                if len(v) != 2:
                    raise c.fail("pairs must be [before, after]")
                out.append((c.integer(v[0], 0), c.integer(v[1], 0)))
            else:
                out.append(c.integer(v, 0))
        return tuple(out)
    return c.integer(value, 0)


def _padding_schema(_minimum: int | None, _choices: tuple[str, ...]) -> Schema:
    pair = {"type": "array", "minItems": 2, "maxItems": 2, "items": or_expression(integer(0))}
    entry = {**integer(0), **pair, "type": ["integer", "array"]}  # an int or [before, after]
    return {
        **integer(0),
        "type": ["integer", "string", "array"],
        "pattern": "^(same|valid)$",
        "minItems": 1,
        "items": or_expression(entry),
    }


def _ints(m: int | None, _c: tuple[str, ...]) -> Schema:
    return one_or_list(integer(m))


def _sizes(m: int | None, _c: tuple[str, ...]) -> Schema:
    return {**one_or_list(integer(m)), "items": or_expression(nullable(integer(m)))}


POSITIVE: Schema = {"type": "number", "exclusiveMinimum": 0}


class T:
    """The argument types a layer declaration uses (``Arg("stride", T.PER_AXIS, 1)``)."""

    INT = ArgType("int", lambda c, v: c.integer(v, c.minimum), lambda m, _: integer(m))
    BOOL = ArgType("bool", _bool, lambda m, _: {"type": "boolean"})
    FLOAT = ArgType("number", lambda c, v: c.number(v), lambda m, _: POSITIVE)
    CHOICE = ArgType("choice", _choice, lambda m, choices: {"enum": list(choices)})
    PER_AXIS = ArgType("int | [int per spatial axis]", lambda c, v: c.int_list(v, c.minimum), _ints)
    PADDING = ArgType(
        "int | 'same' | 'valid' | [int or [before, after] per axis]", _padding, _padding_schema
    )
    INT_LIST = ArgType("int | [int, ...]", lambda c, v: c.int_list(v, c.minimum), _ints)
    SIZE_LIST = ArgType(
        "int | [int or null per spatial axis]",
        lambda c, v: c.int_list(v, c.minimum, allow_null=True),
        _sizes,
    )
    SCALE = ArgType(
        "number | [number per spatial axis]",
        _scale,
        lambda m, _: one_or_list(POSITIVE),
    )
    PAD_LIST = ArgType(
        "int | [int, ...] (last axis first)",
        lambda c, v: c.int_list(v, None),
        lambda m, _: _ints(None, ()),
    )
    IGNORED = ArgType("any (accepted, ignored)", lambda c, v: v, lambda m, _: {})
