"""Model spec → :class:`Graph`: evaluate values, validate arguments against the layer
registry, expand blocks and ``repeat``, and resolve ``from`` names into node indices."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import islice
from types import MappingProxyType
from typing import TypeGuard

from rfcalc import expr
from rfcalc.errors import GraphError, GroupedError, InputError, RfcalcError, SourcePos, did_you_mean
from rfcalc.layers import REGISTRY, canonical, lookup, type_names
from rfcalc.layers.base import MAX_DIM, Arg, LayerKind, T
from rfcalc.loader import ArgSpec, BlockSpec, LayerSpec, ModelSpec
from rfcalc.yamltree import YMap, YNode, YScalar, YSeq, describe, parse

MAX_LAYERS = 1_000_000
MAX_RANK = 4
INPUT = -1  # node index of the model's input

Resolved = object  # int | float | str | bool | None | tuple[Resolved, ...]
_Validated = tuple[Mapping[str, object], Mapping[str, SourcePos]]


@dataclass(frozen=True, slots=True)
class Node:
    index: int
    name: str  # full name, e.g. 'layer1.0.conv1'
    kind: LayerKind
    args: Mapping[str, object]
    arg_pos: Mapping[str, SourcePos]
    inputs: tuple[int, ...]  # node indices; INPUT for the model input
    trainable: bool
    pos: SourcePos
    groups: tuple[str, ...]  # enclosing block instances / repeats, outermost first


@dataclass(frozen=True, slots=True)
class Graph:
    path: str
    name: str | None
    description: str | None
    input_shape: tuple[int, ...]
    input_pos: SourcePos
    nodes: tuple[Node, ...]
    checks: YMap | None
    variables: Mapping[str, expr.Value]


# ---------------------------------------------------------------- values


def resolve(node: YNode, env: Mapping[str, expr.Value]) -> Resolved:
    """A YAML node's value with ``$`` expressions evaluated (integral results become ints)."""
    if isinstance(node, YScalar):
        if expr.is_expression(node.value):
            assert isinstance(node.value, str)
            return _plain(expr.evaluate(node.value, env, node.pos))
        return node.value
    if isinstance(node, YSeq):
        return tuple(resolve(item, env) for item in node.items)
    raise InputError(f"expected a value, got {describe(node)}", node.pos)


def _plain(value: expr.Value) -> Resolved:
    if isinstance(value, tuple):
        return tuple(_plain(v) if v is not None else None for v in value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _what(value: Resolved) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"'{value}' (a string)"
    if isinstance(value, float):
        return f"{value!r} (a float)"
    if isinstance(value, tuple):
        return "a list"
    return repr(value)


def _is_int(value: Resolved) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class _Coerce:
    where: str  # "layer 'x' (conv2d): "
    arg: Arg
    pos: SourcePos

    def fail(self, message: str, hint: str | None = None) -> InputError:
        return InputError(f"{self.where}{self.arg.name} {message}", self.pos, hint)

    def integer(self, value: Resolved, minimum: int | None) -> int:
        if not _is_int(value):
            raise self.fail(f"must be an integer, got {_what(value)}")
        if minimum is not None and value < minimum:
            raise self.fail(f"must be ≥ {minimum}, got {value}")
        if abs(value) > MAX_DIM:
            raise self.fail(f"is too large ({value}; limit {MAX_DIM:,})")
        return value

    def int_list(self, value: Resolved, minimum: int | None, allow_null: bool = False) -> object:
        if _is_int(value):
            return self.integer(value, minimum)
        if not isinstance(value, tuple) or not value:
            raise self.fail(
                f"must be an integer or a non-empty list of integers, got {_what(value)}"
            )
        if len(value) > 64:
            raise self.fail("has too many entries")
        return tuple(
            None if (v is None and allow_null) else self.integer(v, minimum) for v in value
        )

    def number(self, value: Resolved) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"must be a number, got {_what(value)}")
        if not 0 < value <= MAX_DIM:
            raise self.fail(f"must be positive and at most {MAX_DIM:,}, got {value}")
        return value

    def __call__(self, value: Resolved) -> object:
        arg, t = self.arg, self.arg.type
        if t is T.IGNORED:
            return value
        if value is None:
            if arg.nullable:
                return None
            raise self.fail("must not be null")
        if t is T.INT:
            return self.integer(value, arg.minimum)
        if t is T.BOOL:
            if not isinstance(value, bool):
                raise self.fail(f"must be true or false, got {_what(value)}")
            return value
        if t is T.FLOAT:
            return self.number(value)
        if t is T.CHOICE:
            if value not in arg.choices:
                raise self.fail(
                    f"must be one of {', '.join(arg.choices)}; got {_what(value)}",
                    did_you_mean(str(value), arg.choices),
                )
            return value
        if t is T.PER_AXIS:
            return self.int_list(value, arg.minimum)
        if t is T.INT_LIST:
            return self.int_list(value, arg.minimum)
        if t is T.SIZE_LIST:
            return self.int_list(value, arg.minimum, allow_null=True)
        if t is T.PAD_LIST:
            return self.int_list(value, None)
        if t is T.SCALE:
            if isinstance(value, tuple):
                if not value or len(value) > 64:
                    raise self.fail("must be a number or a non-empty list of numbers")
                return tuple(self.number(v) for v in value)
            return self.number(value)
        if t is T.PADDING:
            if isinstance(value, str):
                if value in ("same", "valid"):
                    return value
                raise self.fail(
                    f"must be an integer, a list, 'same' or 'valid'; got {_what(value)}",
                    did_you_mean(value, ("same", "valid")),
                )
            if isinstance(value, tuple) and value:
                out: list[object] = []
                for v in value:
                    if isinstance(v, tuple):
                        if len(v) != 2:
                            raise self.fail("pairs must be [before, after]")
                        out.append((self.integer(v[0], 0), self.integer(v[1], 0)))
                    else:
                        out.append(self.integer(v, 0))
                return tuple(out)
            return self.integer(value, 0)
        raise AssertionError(t)  # pragma: no cover


# ---------------------------------------------------------------- graph


@dataclass(slots=True)
class _Scope:
    prefix: str  # '' or 'layer1.0.'
    input_index: int
    env: Mapping[str, expr.Value]
    groups: tuple[str, ...]
    trainable: bool
    stack: tuple[str, ...]  # block names being expanded, for cycle detection
    local: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


class _SkippedError(Exception):
    """A layer reads a layer that already failed: skip it without a second error."""


class Builder:
    def __init__(
        self,
        spec: ModelSpec,
        overrides: Mapping[str, str] | None = None,
        input_shape: tuple[int, ...] | None = None,
    ):
        self.spec = spec
        self.nodes: list[Node] = []
        self.full: dict[str, int] = {}
        self.errors: list[RfcalcError] = []
        self.error_keys: set[tuple[SourcePos | None, str]] = set()
        # validated arguments per (layer spec, environment): repeated instances share them
        self.validated: dict[tuple[int, int], tuple[object, _Validated | RfcalcError]] = {}
        self.failed: set[str] = set()  # full names of layers that failed
        self.blocks: dict[str, BlockSpec] = {}
        self.variables = self._variables(overrides or {})
        self.input_override = input_shape
        for block in spec.blocks:
            if canonical(block.name) in REGISTRY:
                raise GraphError(
                    f"block '{block.name}' has the name of a layer type; rename it", block.pos
                )
            self.blocks[block.name] = block

    def _variables(self, overrides: Mapping[str, str]) -> dict[str, expr.Value]:
        env: dict[str, expr.Value] = {}
        names = [v.name for v in self.spec.vars]
        for name in overrides:
            if name not in names:
                raise InputError(
                    f"--set {name}: the model has no variable '{name}'",
                    SourcePos(self.spec.path),
                    did_you_mean(name, names),
                )
        for var in self.spec.vars:
            if var.name in env:
                raise GraphError(f"duplicate variable '{var.name}'", var.pos)
            if var.name in overrides:
                value = _parse_override(var.name, overrides[var.name], env, self.spec.path)
            else:
                value = resolve(var.value, env)
            env[var.name] = _as_value(value, var.name, var.value.pos)
        return env

    def build(self) -> Graph:
        shape = self._input_shape()  # the file's own input is checked even when overridden
        if self.input_override is not None:
            shape = check_input_shape(self.input_override, None, "--input")
        self.count(self.spec.layers, self.variables, ())
        scope = _Scope("", INPUT, self.variables, (), True, ())
        self._sequence(self.spec.layers, scope)
        if self.errors:
            raise self.errors[0] if len(self.errors) == 1 else GroupedError(self.errors)
        return Graph(
            path=self.spec.path,
            name=self.spec.name,
            description=self.spec.description,
            input_shape=shape,
            input_pos=self.spec.input.pos,
            nodes=tuple(self.nodes),
            checks=self.spec.checks,
            variables=MappingProxyType(dict(self.variables)),
        )

    def _input_shape(self) -> tuple[int, ...]:
        node = self.spec.input
        value = resolve(node, self.variables)
        return check_input_shape(value, node.pos)

    # -- layers

    def _sequence(self, layers: tuple[LayerSpec, ...], scope: _Scope) -> int:
        """Build layers in order; a layer's error is recorded and the next layer tried."""
        previous = scope.input_index
        for layer in layers:
            try:
                previous = self._layer(layer, scope, previous)
            except _SkippedError:
                self._mark_failed(layer, scope)
            except RfcalcError as error:
                key = (error.pos, error.message)
                if key not in self.error_keys:  # a repeated layer's error is reported once
                    self.error_keys.add(key)
                    self.errors.append(error)
                self._mark_failed(layer, scope)
        return previous

    def _mark_failed(self, layer: LayerSpec, scope: _Scope) -> None:
        if layer.name is not None:
            self.failed.add(scope.prefix + layer.name)
            scope.local.pop(layer.name, None)

    def _layer(self, layer: LayerSpec, scope: _Scope, previous: int) -> int:
        block = self.blocks.get(layer.type)
        kind = None if block else lookup(layer.type)
        if block is None and kind is None:
            raise InputError(
                f"unknown layer type '{layer.type}'",
                layer.type_pos,
                lambda: did_you_mean(canonical(layer.type), [*type_names(), *self.blocks]),
            )
        type_key = block.name if block else kind.name  # type: ignore[union-attr]
        if layer.name is not None:
            name = layer.name
        else:
            i = scope.counters.get(type_key, 0)
            scope.counters[type_key] = i + 1
            name = f"{type_key}_{i}"
        if name in scope.local or name == "input":
            raise GraphError(
                f"duplicate layer name '{name}'",
                layer.name_pos or layer.pos,
                "names must be unique within the model or block",
            )
        repeat = self._repeat(layer, scope.env)
        trainable = scope.trainable and self._trainable(layer, scope)
        first_input = self._inputs(layer, scope, previous)
        full = scope.prefix + name
        env = None if block is None else self._block_env(layer, block, scope, first_input)
        out = INPUT
        for i in range(repeat):
            inst = name if repeat == 1 else f"{name}.{i}"
            inputs = first_input if i == 0 else (out,)
            groups = scope.groups if repeat == 1 else (*scope.groups, full)
            if block is not None:
                assert env is not None
                inner = _Scope(
                    prefix=scope.prefix + inst + ".",
                    input_index=inputs[0],
                    env=env,
                    groups=(*groups, scope.prefix + inst),
                    trainable=trainable,
                    stack=(*scope.stack, block.name),
                )
                out = self._sequence(block.layers, inner)
            else:
                assert kind is not None
                out = self._leaf(layer, kind, scope, inst, inputs, trainable, groups)
            if repeat > 1:
                scope.local[inst] = out
                self.full[scope.prefix + inst] = out
        scope.local[name] = out
        self.full[full] = out
        return out

    @staticmethod
    def _repeat(layer: LayerSpec, env: Mapping[str, expr.Value]) -> int:
        if layer.repeat is None:
            return 1
        value = resolve(layer.repeat, env)
        if not _is_int(value) or value < 1:
            raise InputError(f"repeat must be an integer ≥ 1, got {_what(value)}", layer.repeat.pos)
        if value > MAX_LAYERS:
            raise InputError(f"repeat {value} exceeds {MAX_LAYERS:,} layers", layer.repeat.pos)
        return value

    def _trainable(self, layer: LayerSpec, scope: _Scope) -> bool:
        if layer.trainable is None:
            return True
        value = resolve(layer.trainable, scope.env)
        if not isinstance(value, bool):
            raise InputError(
                f"trainable must be true or false, got {_what(value)}", layer.trainable.pos
            )
        return value

    def _inputs(self, layer: LayerSpec, scope: _Scope, previous: int) -> tuple[int, ...]:
        if layer.from_ is None:
            return (previous,)
        node = layer.from_
        items: tuple[YNode, ...] = node.items if isinstance(node, YSeq) else (node,)
        if not items:
            raise GraphError("'from' must name at least one layer", node.pos)
        out = []
        for item in items:
            if not isinstance(item, YScalar) or not isinstance(item.value, str):
                raise GraphError(f"'from' takes layer names, got {describe(item)}", item.pos)
            out.append(self._lookup(item.value, scope, item.pos))
        return tuple(out)

    def _lookup(self, name: str, scope: _Scope, pos: SourcePos) -> int:
        if name == "input":
            return scope.input_index
        if name in scope.local:
            return scope.local[name]
        if name in self.full:
            return self.full[name]
        if scope.prefix + name in self.failed or name in self.failed:
            raise _SkippedError
        local, full, n_local, n_full = scope.local, self.full, len(scope.local), len(self.full)

        def hint() -> str | None:  # the names that exist now, searched only if shown
            return did_you_mean(name, [*islice(local, n_local), *islice(full, n_full), "input"])

        raise GraphError(f"no layer named '{name}' before this one", pos, hint)

    def _leaf(
        self,
        layer: LayerSpec,
        kind: LayerKind,
        scope: _Scope,
        name: str,
        inputs: tuple[int, ...],
        trainable: bool,
        groups: tuple[str, ...],
    ) -> int:
        if len(self.nodes) >= MAX_LAYERS:
            raise InputError(f"the model expands to more than {MAX_LAYERS:,} layers", layer.pos)
        full = scope.prefix + name
        n = len(inputs)
        if not kind.min_inputs <= n <= kind.max_inputs:
            if n > kind.max_inputs > 1:
                want = f"at most {kind.max_inputs:,} inputs"
            elif kind.min_inputs > 1:
                want = f"at least {kind.min_inputs} inputs: name them in 'from'"
            else:
                want = "one input"
            raise GraphError(f"layer '{full}' ({kind.name}) takes {want}, got {n}", layer.pos)
        key = (id(layer), id(scope.env))
        cached = self.validated.get(key)
        if cached is None or cached[0] is not scope.env:
            try:
                result: _Validated | RfcalcError = validate_args(
                    kind, layer.args, scope.env, f"layer '{full}' ({kind.name}): ", layer.pos
                )
            except RfcalcError as error:
                result = error
            cached = (scope.env, result)  # the environment is kept alive with its entry
            self.validated[key] = cached
        if isinstance(cached[1], RfcalcError):
            raise cached[1].with_traceback(None)  # no traceback grows across repeats
        args, arg_pos = cached[1]
        index = len(self.nodes)
        self.nodes.append(
            Node(index, full, kind, args, arg_pos, inputs, trainable, layer.pos, groups)
        )
        return index

    def _block_env(
        self, layer: LayerSpec, block: BlockSpec, scope: _Scope, inputs: tuple[int, ...]
    ) -> dict[str, expr.Value]:
        """Check a block's use and evaluate its arguments: once for all its repeats."""
        if block.name in scope.stack:
            chain = " → ".join((*scope.stack, block.name))
            raise GraphError(f"block '{block.name}' uses itself ({chain})", layer.type_pos)
        if len(inputs) != 1:
            raise GraphError(f"block '{block.name}' takes one input, got {len(inputs)}", layer.pos)
        return self._arguments(layer, block, scope.env)

    def _arguments(
        self, layer: LayerSpec, block: BlockSpec, outer: Mapping[str, expr.Value]
    ) -> dict[str, expr.Value]:
        env = dict(self.variables)
        declared = {p.name: p for p in block.params}
        given = {a.name: a for a in layer.args}
        for arg in layer.args:
            if arg.name not in declared:
                raise InputError(
                    f"block '{block.name}' has no argument '{arg.name}'",
                    arg.pos,
                    did_you_mean(arg.name, [*declared, "name", "from", "repeat", "trainable"]),
                )
        for param in block.params:
            if param.name in given:
                value = resolve(given[param.name].value, outer)
                pos = given[param.name].value.pos
            else:
                value = resolve(param.value, env)
                pos = param.value.pos
                if value is None:
                    raise GraphError(
                        f"block '{block.name}' needs argument '{param.name}'", layer.pos
                    )
            env[param.name] = _as_value(value, param.name, pos)
        return env

    def count(
        self, layers: tuple[LayerSpec, ...], env: Mapping[str, expr.Value], stack: tuple[str, ...]
    ) -> int:
        """How many layers these expand to, found before anything is built, so that a model
        over the limit fails at once and names the layer that crosses it. A layer whose
        repeat or block arguments are invalid counts as one: building reports it."""
        total = 0
        for layer in layers:
            block = self.blocks.get(layer.type)
            try:
                repeat = self._repeat(layer, env)
                size = 1
                if block is not None and block.name not in stack:
                    inner = self._arguments(layer, block, env)
                    size = self.count(block.layers, inner, (*stack, block.name))
            except RfcalcError:
                repeat, size = 1, 1
            total += repeat * size
            if total > MAX_LAYERS:
                where = layer.repeat.pos if layer.repeat is not None else layer.pos
                raise InputError(f"the model expands to more than {MAX_LAYERS:,} layers", where)
        return total


def _number(value: Resolved) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_value(value: Resolved, name: str, pos: SourcePos) -> expr.Value:
    """A variable's or block argument's value: a number or a list of numbers (or nulls)."""
    if isinstance(value, (int, float)) and _number(value):
        return value
    if isinstance(value, tuple):
        items: list[int | float | None] = []
        for i, v in enumerate(value):
            if v is not None and not _number(v):
                raise InputError(
                    f"'{name}' must be a number or a list of numbers; entry {i + 1} is {_what(v)}",
                    pos,
                )
            assert v is None or isinstance(v, (int, float))
            items.append(v)
        return tuple(items)
    raise InputError(f"'{name}' must be a number or a list of numbers, got {_what(value)}", pos)


def _parse_override(name: str, text: str, env: Mapping[str, expr.Value], path: str) -> Resolved:
    """``--set NAME=VALUE``: a YAML scalar or flow list (read by the same rules as the model
    file), or a ``$`` expression."""
    where = SourcePos(path)
    if expr.is_expression(text):
        return _plain(expr.evaluate(text, env, where))
    if not text.strip():
        return None
    try:
        node = parse(text, f"--set {name}")
    except InputError as error:
        raise InputError(f"--set {name}={text}: {error.message}", where) from None
    if isinstance(node, YMap):
        raise InputError(f"--set {name}={text}: not a number or a list of numbers", where)
    return resolve(node, env)


_SIZE_TEXT = re.compile(r"\s*[-+]?[0-9]{1,30}\s*")


def sizes_from_text(text: str, what: str) -> tuple[int, ...]:
    """Sizes written as text, ``3,224,224`` (or ``3x224x224``, ``3×224×224``): the one reader of
    shapes given on the command line. Only their syntax is checked here."""
    parts = re.split(r"[,x×]", text)
    if not all(_SIZE_TEXT.fullmatch(p) for p in parts):
        raise InputError(f"{what} takes sizes such as 3,224,224; got '{text}'")
    return tuple(int(p) for p in parts)


def check_input_shape(
    value: Resolved, pos: SourcePos | None, what: str = "input"
) -> tuple[int, ...]:
    """The one validation of an input shape, from the file's ``input:`` or from ``--input``."""
    if not isinstance(value, tuple) or not 1 <= len(value) <= MAX_RANK:
        raise InputError(
            f"{what} must be a list of 1 to {MAX_RANK} positive integers "
            f"(channels first, no batch), got {_what(value)}",
            pos,
        )
    sizes: list[int] = []
    for v in value:
        if not _is_int(v) or v < 1:
            raise InputError(f"{what} sizes must be positive integers, got {_what(v)}", pos)
        if v > MAX_DIM:
            raise InputError(f"{what} size {v} is too large (limit {MAX_DIM:,})", pos)
        sizes.append(v)
    return tuple(sizes)


def validate_args(
    kind: LayerKind,
    given: tuple[ArgSpec, ...],
    env: Mapping[str, expr.Value],
    where: str,
    pos: SourcePos,
) -> tuple[Mapping[str, object], Mapping[str, SourcePos]]:
    """Check a layer's arguments against its declaration; fill defaults."""
    values: dict[str, object] = {}
    where_pos: dict[str, SourcePos] = {}
    for arg in given:
        decl = kind.arg_index.get(arg.name)
        if decl is None:
            raise InputError(
                f"{where}unknown argument '{arg.name}'",
                arg.pos,
                did_you_mean(arg.name, [*kind.arg_index, "name", "from", "repeat", "trainable"]),
            )
        values[arg.name] = _Coerce(where, decl, arg.value.pos)(resolve(arg.value, env))
        where_pos[arg.name] = arg.value.pos
    for decl in kind.args:
        if decl.name not in values:
            if decl.required:
                raise InputError(f"{where}missing required argument '{decl.name}'", pos)
            values[decl.name] = decl.default
    return MappingProxyType(values), MappingProxyType(where_pos)


def build(
    spec: ModelSpec,
    overrides: Mapping[str, str] | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> Graph:
    return Builder(spec, overrides, input_shape).build()
