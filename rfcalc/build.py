"""Model spec → :class:`Graph`: evaluate values, validate arguments against the layer
registry, expand blocks and ``repeat``, and resolve ``from`` names into node indices."""

# no `from __future__ import annotations`: its NamedTuples' string annotations would each cost
# a ForwardRef at every start (as rfcalc/engine.py says)
import re
from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from types import MappingProxyType
from typing import NamedTuple

from rfcalc import expr, lint
from rfcalc.errors import (
    GraphError,
    GroupedError,
    InputError,
    RfcalcError,
    ShapeError,
    SourcePos,
    did_you_mean,
    nearest,
    printable,
    what,
)
from rfcalc.layers import REGISTRY, canonical, lookup, type_names
from rfcalc.layers.argtypes import MAX_DIM, Checker, is_int
from rfcalc.layers.base import Arg, Ctx, LayerKind, Layout, Out, Shape, T, channels_first
from rfcalc.loader import LAYER_KEYS, ArgSpec, BlockSpec, LayerSpec, ModelSpec
from rfcalc.yamltree import YMap, YNode, YScalar, YSeq, parse, what_node

# leaf layers after expansion: 30× the deepest published networks (ResNet-1001: ~3,300)
MAX_LAYERS = 100_000
MAX_RANK = 4
INPUT = -1  # node index of the model's input

Resolved = object  # int | float | str | bool | None | tuple[Resolved, ...]
_Validated = tuple[object, Mapping[str, object]]  # the environment (kept alive), the arguments


class Node(NamedTuple):
    index: int  # type: ignore[assignment]  # a field, in place of tuple.index()
    name: str  # full name, e.g. 'layer1.0.conv1'
    kind: LayerKind
    args: Mapping[str, object]
    arg_pos: Mapping[str, SourcePos]
    inputs: tuple[int, ...]  # node indices; INPUT for the model input
    trainable: bool
    pos: SourcePos
    groups: tuple[str, ...]  # enclosing block instances / repeats, outermost first
    lint_ignore: frozenset[str] = frozenset()  # warning codes silenced (its own and its scopes')
    runs: bool = True  # false: not run at inference (its parameters count, its MACs are 0)


# a Node is made as a tuple directly (a NamedTuple's __new__ is a Python function: half a
# microsecond a layer), and the engine unpacks it at once: both by the order of its fields
_new = tuple.__new__
assert Node._fields == (
    "index", "name", "kind", "args", "arg_pos", "inputs", "trainable", "pos", "groups",
    "lint_ignore", "runs",
)  # fmt: skip


class Graph(NamedTuple):
    path: str
    name: str | None
    description: str | None
    input_shape: tuple[int, ...]
    input_pos: SourcePos
    nodes: tuple[Node, ...]
    checks: YMap | None
    variables: Mapping[str, expr.Value]
    input_option: str = "input"  # '--input' when the command line set the shape

    @property
    def input_where(self) -> SourcePos | None:
        """Where an error about the input shape points: the 'input:' key, or the option."""
        return self.input_pos if self.input_option == "input" else None


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
    raise InputError(f"expected a value, got {what_node(node)}", node.pos)


def _plain(value: expr.Value) -> Resolved:
    if isinstance(value, tuple):
        return tuple(_plain(v) if v is not None else None for v in value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _coerce(where: str, decl: Arg, pos: SourcePos, value: Resolved) -> object:
    """A value checked and converted by its argument's type (layers.argtypes)."""
    if decl.type is T.IGNORED:
        return value
    checker = Checker(where, decl.name, pos, decl.minimum, decl.choices)
    if value is None:
        if decl.nullable:
            return None
        raise checker.fail("must not be null")
    try:
        return decl.type.check(checker, value)
    except InputError as error:
        from rfcalc.foreign import tuple_hint  # hints from other tools' names: errors only

        hint = tuple_hint(value, decl.name)
        if hint is None:
            raise
        raise InputError(error.message, error.pos, hint) from None


# ---------------------------------------------------------------- graph


_ITSELF = (str, int)  # the values that stand for themselves in _written's key


def _written(args: tuple[ArgSpec, ...]) -> tuple[object, ...] | None:
    """What a layer's arguments say, positions aside, as a key: layers whose keys are equal
    validate alike (in one environment). A str or an int stands for itself, a list for the
    tuple of its items' keys, any other value for its type and repr (1, true and 1.0 differ,
    as 0.0 and -0.0 do). None: a value other than scalars and lists of them (an error, to be
    reported at its own place)."""
    key: list[object] = []
    for arg in args:
        value = _key_of(arg.value)
        if value is None:
            return None
        key += (arg.name, value)
    return tuple(key)


def _key_of(node: YNode) -> object:
    if type(node) is YScalar:
        value = node.value
        kind = type(value)
        return value if kind in _ITSELF else (kind, repr(value))
    if isinstance(node, YSeq):
        items = tuple(map(_key_of, node.items))
        return None if None in items else items
    return None


class ArgPositions(Mapping[str, SourcePos]):
    """Where each argument a layer gives is written (a layer rule's error points there): the
    layer's own position, and a layout of where each argument's value lies from it, shared
    by the layers laid out alike (a chain written out; see :meth:`Builder._positions`). A
    layer costs one small object for it, and holds nothing of its spec, which is freed once
    the model is built."""

    __slots__ = ("_layout", "_pos")

    def __init__(self, pos: SourcePos, layout: "ArgLayout") -> None:
        self._pos = pos
        self._layout = layout  # immutable tuples, set once: the mapping is immutable

    @staticmethod
    def layout(args: tuple[ArgSpec, ...], pos: SourcePos) -> "ArgLayout":
        """Each argument's name, and where its value is written: its file when not the
        layer's (else None), its line less the layer's, and its column."""
        path, line = pos.path, pos.line
        layout = []
        for arg in args:
            value = arg.value
            # a scalar keeps its place in its own fields (its .pos would be a new object)
            at = value if type(value) is YScalar else value.pos
            layout.append((arg.name, None if at.path == path else at.path, at.line - line, at.col))
        return tuple(layout)

    def __getitem__(self, name: str) -> SourcePos:
        pos = self._pos
        for arg, path, lines, col in self._layout:
            if arg == name:
                return SourcePos(pos.path if path is None else path, pos.line + lines, col)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (arg[0] for arg in self._layout)

    def __len__(self) -> int:
        return len(self._layout)


ArgLayout = tuple[tuple[str, str | None, int, int], ...]


class _Scope:
    """The model, a block instance or a nested 'layers:' list, while it is built."""

    __slots__ = (
        "counters",
        "env",
        "groups",
        "ignore",
        "input_index",
        "inputs",
        "local",
        "parent",
        "positional",
        "prefix",
        "runs",
        "stack",
        "trainable",
    )

    def __init__(
        self,
        prefix: str,  # '' or 'layer1.0.'
        input_index: int,
        env: Mapping[str, expr.Value],
        groups: tuple[str, ...],
        trainable: bool,
        stack: tuple[str, ...],  # blocks being expanded (qualified names), for cycle detection
        parent: "_Scope | None" = None,  # the scope a nested 'layers:' list is written in
        positional: bool = False,  # unnamed layers are named 0, 1, … (as nn.Sequential's)
        ignore: frozenset[str] = frozenset(),  # warning codes silenced on every layer inside
        inputs: tuple[int, ...] | None = None,  # a block instance's inputs: input.0, input.1, …
        runs: bool = True,  # false: nothing inside runs at inference
    ) -> None:
        self.prefix = prefix
        self.input_index = input_index
        self.inputs = inputs
        self.env = env
        self.groups = groups
        self.trainable = trainable
        self.runs = runs
        self.stack = stack
        self.parent = parent
        self.positional = positional
        self.ignore = ignore
        self.local: dict[str, int] = {}
        self.counters: dict[str, int] = {}


def _reads_inputs(layers: tuple[LayerSpec, ...]) -> bool:
    """Does a layer of these (or of their nested lists) read ``input.k`` in its ``from``?"""
    for layer in layers:
        node = layer.from_
        items = node.items if isinstance(node, YSeq) else () if node is None else (node,)
        if any(isinstance(i, YScalar) and str(i.value).startswith("input.") for i in items):
            return True
        if layer.layers is not None and _reads_inputs(layer.layers):
            return True
    return False


class _SkippedError(Exception):
    """A layer reads a layer that already failed: skip it without a second error."""


SCOPE_TYPE = "sequential"  # what an unnamed nested scope is called outside positional scopes
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEMPLATE = re.compile(r"\$\{[^}]*\}")  # ${...} inside a name
_INPUT_NAMES = frozenset(("in_channels", "in_shape"))
_PER_INSTANCE = _INPUT_NAMES | {"i"}
_NO_NAMES: frozenset[str] = frozenset()


_Lazy = expr.Value | Callable[[], expr.Value]


class _Overlay(Mapping[str, expr.Value]):
    """An environment with a few more names over another, without copying it. A value given
    as a function is computed when an expression first reads it (``in_channels`` and
    ``in_shape`` need the input's shape)."""

    def __init__(self, base: Mapping[str, expr.Value], names: Mapping[str, _Lazy]) -> None:
        self.base, self.names = base, names

    def __getitem__(self, key: str) -> expr.Value:
        if key in self.names:
            value = self.names[key]
            return value() if callable(value) else value
        return self.base[key]

    def __contains__(self, key: object) -> bool:
        return key in self.names or key in self.base

    def __iter__(self) -> Iterator[str]:
        yield from self.names
        yield from (k for k in self.base if k not in self.names)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _names_in(node: YNode | None, out: set[str]) -> None:
    """The identifiers that the expressions in a value mention."""
    if type(node) is YScalar:
        value = node.value
        if expr.is_expression(value):
            assert isinstance(value, str)
            out.update(_IDENTIFIER.findall(value))
    elif isinstance(node, YSeq):
        for item in node.items:
            _names_in(item, out)
    elif isinstance(node, YMap):
        for _, value in node.items:
            _names_in(value, out)


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
        # validated arguments per (kind, environment, what is written): layers alike share
        # them; and a layer spec's mistake per environment (see _leaf)
        self.validated: dict[tuple[str, int, tuple[object, ...] | None], _Validated] = {}
        self.invalid: dict[tuple[int, int], tuple[object, RfcalcError]] = {}
        # the last leaf's spec, environment, arguments and their places (a repeat's
        # instances share them)
        self.last_leaf: tuple[LayerSpec, object, Mapping[str, object], ArgPositions] | None = None
        self.layouts: dict[ArgLayout, ArgLayout] = {}  # where layers' arguments lie (ArgPositions)
        self.failed: set[str] = set()  # full names of layers that failed
        self.shared_args: dict[tuple[str, str], Mapping[str, object]] = {}
        self.variables = self._variables(overrides or {})
        self.input_override = input_shape
        self.shapes: dict[int, Shape] = {}  # node shapes, computed only for in_channels
        self.rule_shapes: dict[tuple[int, tuple[Shape, ...]], Shape] = {}  # see _shape
        self.names_used: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        self.blocks = spec.blocks
        for name in spec.blocks:
            if canonical(name) in REGISTRY:
                raise GraphError(
                    f"block '{name}' has the name of a layer type; rename it", spec.blocks[name].pos
                )

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
        self.shapes[INPUT] = shape
        self.count(self.spec.layers, self.variables, ())
        scope = _Scope("", INPUT, self.variables, (), True, ())
        self._sequence(self.spec.layers, scope)
        if self.errors:
            raise self.errors[0] if len(self.errors) == 1 else GroupedError(self.errors)
        if not self.nodes:
            raise InputError(
                "the model has no layer: each has 'if' false or 'repeat: 0'",
                self.spec.layers[0].pos,
            )
        return Graph(
            path=self.spec.path,
            name=self.spec.name,
            description=self.spec.description,
            input_shape=shape,
            input_pos=self.spec.input.pos,
            nodes=tuple(self.nodes),
            checks=self.spec.checks,
            variables=MappingProxyType(dict(self.variables)),
            input_option="input" if self.input_override is None else "--input",
        )

    def output_shape(self) -> Shape:
        """The shape of the last layer built (after :meth:`build`)."""
        return self._shape(len(self.nodes) - 1)

    def _input_shape(self) -> tuple[int, ...]:
        node = self.spec.input
        value = resolve(node, self.variables)
        return check_input_shape(value, node.pos)

    # -- what a layer's expressions mention

    def _names(self, layer: LayerSpec) -> tuple[frozenset[str], frozenset[str]]:
        """The names a layer's own expressions mention, and those of it and its nested
        layers (a nested scope's layers see the repeat index of the scope)."""
        key = id(layer)
        found = self.names_used.get(key)
        if found is None:
            own: set[str] = set()
            for node in (layer.if_, layer.trainable, layer.runs):
                if node is not None:
                    _names_in(node, own)
            for arg in layer.args:
                _names_in(arg.value, own)
            if expr.is_expression(layer.type):
                own.update(_IDENTIFIER.findall(layer.type))
            deep = set(own)
            for child in layer.layers or ():
                deep |= self._names(child)[1]
                _names_in(child.repeat, deep)
            # most layers mention no name: they share one empty set (a set is 216 bytes)
            found = (frozenset(own) or _NO_NAMES, frozenset(deep) or _NO_NAMES)
            self.names_used[key] = found
        return found

    def _env(
        self, layer: LayerSpec, env: Mapping[str, expr.Value], inputs: tuple[int, ...]
    ) -> Mapping[str, expr.Value]:
        if _INPUT_NAMES.isdisjoint(self._names(layer)[0]):
            return env

        def channels() -> int:
            return self._shape(inputs[0])[0]

        def shape() -> tuple[int, ...]:
            return self._shape(inputs[0])

        return _Overlay(env, {"in_channels": channels, "in_shape": shape})

    def _shape(self, index: int) -> Shape:
        """A node's output shape, from the layer rules, for expressions that read it."""
        given = self.input_override is None
        option, where = ("input", self.spec.input.pos) if given else ("--input", None)
        alike = self.rule_shapes
        for node in self.nodes[len(self.shapes) - 1 : index + 1]:
            in_shapes = tuple(self.shapes[i] for i in node.inputs)
            # a rule is a function of its arguments and inputs, and the layers alike (a
            # block's repeated instances) share one arguments mapping: computed once for them
            key = (id(node.args), in_shapes)
            shape = alike.get(key)
            if shape is None:
                ctx = rule_context(node, in_shapes)
                shape = alike[key] = apply_rule(node, ctx, option, where).shape
            self.shapes[node.index] = shape
        return self.shapes[index]

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

    def _type(
        self,
        layer: LayerSpec,
        env: Mapping[str, expr.Value],
        stack: tuple[str, ...],
        inputs: tuple[int, ...] = (),
    ) -> tuple[LayerKind | None, BlockSpec | None, str]:
        """The layer kind or block a layer's ``type`` names (``$activation`` too), written
        inside the blocks ``stack`` (qualified names: a built-in library's block finds that
        library's block of a name other libraries define too); an unknown name's hint fits
        the rank of the layer's input (``inputs``)."""
        if layer.layers is not None:
            return None, None, SCOPE_TYPE
        text = layer.type
        if expr.is_expression(text):
            value = _plain(expr.evaluate(text, env, layer.type_pos))
            if not isinstance(value, str):
                raise InputError(
                    f"type must name a layer type or a block, got {what(value)}", layer.type_pos
                )
            text = value
        block = self.blocks.get(text)
        kind = None if block else lookup(text)
        if block is None and kind is None and (choices := self.blocks.ambiguous(text)):
            # a name two built-in libraries define: inside a block of one, its own
            within = stack[-1].partition(".")[0] if stack else ""
            if f"{within}.{text}" not in choices:
                listed = ", ".join(choices[:-1]) + f" and {choices[-1]}"
                raise InputError(
                    f"block '{text}' is ambiguous: the built-in libraries define {listed}",
                    layer.type_pos,
                    "write " + ", ".join(choices[:-1]) + f" or {choices[-1]}",
                )
            block = self.blocks[f"{within}.{text}"]
        if block is None and kind is None:

            def hint() -> str | None:
                from rfcalc.foreign import type_hint
                from rfcalc.loader import builtin_libraries

                library, dot, _ = text.partition(".")
                included = any(n.startswith(library + dot) for n in self.blocks.names())
                if dot and library in builtin_libraries() and not included:
                    return (
                        f"the model does not include the library '{library}': add it to 'include:'"
                    )
                return type_hint(
                    text,
                    lambda: self._ndim(inputs),
                    lambda key: nearest(key, [*type_names(), *self.blocks.names()]),
                )

            raise InputError(f"unknown layer type '{text}'", layer.type_pos, hint)
        return kind, block, block.name if block else kind.name  # type: ignore[union-attr]

    def _ndim(self, inputs: tuple[int, ...]) -> int:
        """How many dims a layer's (first) input has, for a hint; the model input's when its
        shape cannot be computed."""
        try:
            return len(self._shape(inputs[0] if inputs else INPUT))
        except RfcalcError:
            return len(self.shapes[INPUT])

    def _layer(self, layer: LayerSpec, scope: _Scope, previous: int) -> int:
        try:
            first_input = self._inputs(layer, scope, previous)
        except GraphError:
            if layer.if_ is not None and not self._exists(layer, scope.env):
                return previous  # off, and reads what does not exist here: not built at all
            raise
        env = self._env(layer, scope.env, first_input)
        repeat = self._repeat(layer, env)
        if repeat == 0 or not self._exists(layer, env):
            # as if not written (its type is not even looked up: `type: $activation` with
            # `if: ${activation != 'none'}`), but its name, if it has one, means its input
            name, _ = self._naming(layer, scope, "", 0, env)
            if name is not None:
                scope.local[name] = self.full[scope.prefix + name] = first_input[0]
            return previous
        kind, block, type_key = self._type(layer, env, scope.stack, first_input)
        if kind is not None and kind.max_inputs == 0:  # a parameter: reads nothing
            if layer.from_ is not None:
                raise GraphError(f"a {kind.name} takes no input; remove 'from'", layer.from_.pos)
            first_input = ()
        name, instances = self._naming(layer, scope, type_key, repeat, env)
        trainable = scope.trainable and self._flag(layer.trainable, "trainable", env)
        runs = scope.runs and self._flag(layer.runs, "runs", env)
        silenced = _lint_ignore(layer)
        ignore = scope.ignore | silenced if silenced else scope.ignore  # shared, most often
        # instances whose expressions read i, or their own input's shape, are evaluated each
        by_index = layer.repeat is not None and not self._names(layer)[1].isdisjoint(_PER_INSTANCE)
        block_env = None
        if block is not None and not by_index:
            block_env = self._block_env(layer, block, scope, first_input, env)
        # the instances of a named repeat are grouped under its name; unnamed ones in an
        # nn.Sequential-like scope are its children, as nn.Sequential(*[...]) makes them
        grouped = layer.repeat is not None and name is not None
        groups = (*scope.groups, scope.prefix + name) if grouped and name else scope.groups
        out = INPUT
        for i, inst in enumerate(instances):
            inputs = first_input if i == 0 or not first_input else (out,)
            inst_env = env
            if by_index:
                inst_env = _Overlay(self._env(layer, scope.env, inputs), {"i": i})
            full = scope.prefix + inst
            if block is not None:
                if by_index:
                    block_env = self._block_env(layer, block, scope, inputs, inst_env)
                assert block_env is not None
                inner = _Scope(
                    prefix=full + ".",
                    input_index=inputs[0],
                    env=block_env,
                    groups=(*groups, full),
                    trainable=trainable,
                    stack=(*scope.stack, block.qualified),
                    runs=runs,
                    positional=block.sequential,
                    ignore=ignore,
                    inputs=inputs,
                )
                out = self._sequence(block.layers, inner)
            elif layer.layers is not None:
                if len(inputs) != 1:
                    raise GraphError(
                        f"nested layers '{full}' take one input, got {len(inputs)}", layer.pos
                    )
                inner = _Scope(
                    prefix=full + ".",
                    input_index=inputs[0],
                    env=inst_env,
                    groups=(*groups, full),
                    trainable=trainable,
                    stack=scope.stack,
                    runs=runs,
                    parent=scope,
                    positional=True,
                    ignore=ignore,
                )
                out = self._sequence(layer.layers, inner)
            else:
                assert kind is not None
                flags = (trainable, runs)
                out = self._leaf(layer, kind, full, inst_env, inputs, flags, groups, ignore)
            scope.local[inst] = self.full[full] = out
        if name is not None:
            scope.local[name] = self.full[scope.prefix + name] = out
        return out

    def _naming(
        self,
        layer: LayerSpec,
        scope: _Scope,
        type_key: str,
        count: int,
        env: Mapping[str, expr.Value],
    ) -> tuple[str | None, list[str]]:
        """A layer's name (None for an unnamed one that does not exist, or whose instances
        are named on their own) and the names of its ``count`` instances."""
        if layer.name is not None and "${" in layer.name:
            # a template: each instance names itself ('denselayer${i + 1}', as a ModuleDict)
            names = []
            for k in range(count):
                inst_env = _Overlay(env, {"i": k}) if layer.repeat is not None else env
                names.append(self._interpolate(layer, inst_env))
            for k, inst in enumerate(names):
                if inst in scope.local or inst == "input" or inst in names[:k]:
                    raise GraphError(f"duplicate layer name '{inst}'", layer.name_pos or layer.pos)
            if scope.positional and count:
                scope.counters["#"] = scope.counters.get("#", 0) + count
            return None, names
        if layer.name is not None:
            name = layer.name
            if scope.positional:  # a named child still takes its place in the sequence
                scope.counters["#"] = scope.counters.get("#", 0) + (1 if count else 0)
        elif count == 0:
            return None, []
        elif scope.positional:
            start = scope.counters.get("#", 0)
            scope.counters["#"] = start + (count if layer.repeat is not None else 1)
            if layer.repeat is not None:
                return None, [str(start + k) for k in range(count)]
            name = str(start)
        else:
            k = scope.counters.get(type_key, 0)
            scope.counters[type_key] = k + 1
            name = f"{type_key}_{k}"
        if name in scope.local or name == "input":
            raise GraphError(
                f"duplicate layer name '{name}'",
                layer.name_pos or layer.pos,
                "names must be unique within the model or block",
            )
        if layer.repeat is None:
            return name, [name] * min(count, 1)
        return name, [f"{name}.{k}" for k in range(count)]

    @staticmethod
    def _interpolate(layer: LayerSpec, env: Mapping[str, expr.Value]) -> str:
        assert layer.name is not None
        pos = layer.name_pos or layer.pos

        def value(match: re.Match[str]) -> str:
            v = expr.evaluate(match.group(), env, pos)
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                raise InputError(f"a name's expression gives {what(v)}; it needs a word", pos)
            return str(v)

        name = _TEMPLATE.sub(value, layer.name)
        if not name or "." in name or printable(name, newlines=False) != name:
            raise InputError(f"layer name '{name}' is empty or holds '.' or a control", pos)
        return name

    @staticmethod
    def _repeat(layer: LayerSpec, env: Mapping[str, expr.Value]) -> int:
        if layer.repeat is None:
            return 1
        value = resolve(layer.repeat, env)
        if not is_int(value) or value < 0:
            raise InputError(f"repeat must be an integer ≥ 0, got {what(value)}", layer.repeat.pos)
        if value > MAX_LAYERS:
            raise InputError(f"repeat {value} exceeds {MAX_LAYERS:,} layers", layer.repeat.pos)
        return value

    @staticmethod
    def _exists(layer: LayerSpec, env: Mapping[str, expr.Value]) -> bool:
        if layer.if_ is None:
            return True
        value = resolve(layer.if_, env)
        if not isinstance(value, bool):
            raise InputError(
                f"'if' must be true or false, got {what(value)}",
                layer.if_.pos,
                "compare something: ${stride != 1 or in_channels != out_channels}",
            )
        return value

    @staticmethod
    def _flag(node: YNode | None, key: str, env: Mapping[str, expr.Value]) -> bool:
        """A layer's ``trainable`` or ``runs`` (true when not given)."""
        if node is None:
            return True
        value = resolve(node, env)
        if not isinstance(value, bool):
            raise InputError(f"{key} must be true or false, got {what(value)}", node.pos)
        return value

    def _inputs(self, layer: LayerSpec, scope: _Scope, previous: int) -> tuple[int, ...]:
        if layer.from_ is None:
            return (previous,)
        node = layer.from_
        items: tuple[YNode, ...] = node.items if isinstance(node, YSeq) else (node,)
        if not items:
            raise GraphError("'from' must name at least one layer", node.pos)
        out: list[int] = []
        for item in items:
            value = item.value if isinstance(item, YScalar) else None
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)  # a positional name: from: 0
            if not isinstance(value, str):
                raise GraphError(f"'from' takes layer names, got {what_node(item)}", item.pos)
            if value == "input.*":  # every input of the block instance
                out.extend(self._block_inputs(scope))
                continue
            if value.endswith(".*"):  # every instance of a repeat, in order
                out.extend(self._instances(value[:-2], scope, item.pos))
                continue
            out.append(self._lookup(value, scope, item.pos))
        return tuple(out)

    def _instances(self, name: str, scope: _Scope, pos: SourcePos) -> list[int]:
        """``m.*``: the instances ``m.0``, ``m.1``, … of the repeat ``m`` of this scope, or the
        layers of its nested list ``m``."""
        if name not in scope.local:
            self._lookup(name, scope, pos)  # the error for a name that does not exist
            raise GraphError(
                f"'{name}.*': '{name}' is not a repeat or nested list of this scope", pos
            )
        found: list[int] = []
        k = 0
        while True:  # a repeat's instances, or the children of a nested list, in order
            index = scope.local.get(f"{name}.{k}", self.full.get(f"{scope.prefix}{name}.{k}"))
            if index is None and not found:
                raise GraphError(
                    f"'{name}.*': '{name}' has no instances {name}.0, {name}.1, …",
                    pos,
                    "'.*' names the instances of a repeat, or the layers of a nested list",
                )
            if index is None:
                return found
            found.append(index)
            k += 1

    def _lookup(self, name: str, scope: _Scope, pos: SourcePos) -> int:
        """A name in this scope, then in the scopes it is written in, then a full name."""
        if name == "input":
            return scope.input_index
        if name.startswith("input.") and name[6:].isdigit():
            return self._block_input(int(name[6:]), scope, pos)
        outer: _Scope | None = scope
        while outer is not None:
            if name in outer.local:
                return outer.local[name]
            if "." in name and outer.prefix + name in self.full:  # a nested list's, a sibling's
                return self.full[outer.prefix + name]
            if outer.prefix + name in self.failed:
                raise _SkippedError
            outer = outer.parent
        if name in self.full:
            return self.full[name]
        if name in self.failed:
            raise _SkippedError
        local, full, n_local, n_full = scope.local, self.full, len(scope.local), len(self.full)

        def hint() -> str | None:  # the names that exist now, searched only if shown
            return did_you_mean(name, [*islice(local, n_local), *islice(full, n_full), "input"])

        raise GraphError(f"no layer named '{name}' before this one", pos, hint)

    @staticmethod
    def _block_inputs(scope: _Scope) -> tuple[int, ...]:
        """The inputs of the block instance the scope is in (outside blocks: the model's)."""
        outer: _Scope | None = scope
        while outer is not None and outer.inputs is None:
            outer = outer.parent
        return outer.inputs if outer is not None and outer.inputs is not None else (INPUT,)

    def _block_input(self, k: int, scope: _Scope, pos: SourcePos) -> int:
        """``input.k``: the k-th input of the block instance the scope is in (of the model
        outside blocks: its one input)."""
        inputs = self._block_inputs(scope)
        if k >= len(inputs):
            raise GraphError(
                f"'input.{k}': the block has {len(inputs)} input(s), input.0 … "
                f"input.{len(inputs) - 1}",
                pos,
            )
        return inputs[k]

    def _leaf(
        self,
        layer: LayerSpec,
        kind: LayerKind,
        full: str,
        env: Mapping[str, expr.Value],
        inputs: tuple[int, ...],
        flags: tuple[bool, bool],  # trainable, runs
        groups: tuple[str, ...],
        ignore: frozenset[str],
    ) -> int:
        if len(self.nodes) >= MAX_LAYERS:
            raise InputError(f"the model expands to more than {MAX_LAYERS:,} layers", layer.pos)
        n = len(inputs)
        if not kind.min_inputs <= n <= kind.max_inputs:
            if n > kind.max_inputs > 1:
                want = f"at most {kind.max_inputs:,} inputs"
            elif kind.min_inputs > 1:
                want = f"at least {kind.min_inputs} inputs: name them in 'from'"
            else:
                want = "one input"
            raise GraphError(f"layer '{full}' ({kind.name}) takes {want}, got {n}", layer.pos)
        # layers alike (a repeat's instances, a chain written out) validate their arguments
        # once: keyed by what is written, in the same environment; a mistake by the layer
        # spec, so that it is reported at its own place (once for all of a repeat)
        last = self.last_leaf  # a repeat's instances: the same spec, one after another
        if last is not None and last[0] is layer and last[1] is env:
            args, arg_pos = last[2], last[3]
        else:
            failed = self.invalid.get((id(layer), id(env)))
            if failed is not None and failed[0] is env:
                raise failed[1].with_traceback(None)  # no traceback grows across repeats
            written = _written(layer.args)
            key = (kind.name, id(env), written)
            cached = self.validated.get(key)
            if cached is None or cached[0] is not env:
                try:
                    checked = validate_args(
                        kind, layer.args, env, f"layer '{full}' ({kind.name}): ", layer.pos
                    )
                except RfcalcError as error:
                    self.invalid[(id(layer), id(env))] = (env, error)  # env kept alive with it
                    raise error.with_traceback(None) from None
                cached = (env, self._shared(kind, checked))
                if written is not None:
                    self.validated[key] = cached
            args, arg_pos = cached[1], self._positions(layer)
            self.last_leaf = (layer, env, args, arg_pos)
        index = len(self.nodes)
        trainable, runs = flags
        node = (
            index,
            full,
            kind,
            args,
            arg_pos,
            inputs,
            trainable,
            layer.pos,
            groups,
            ignore,
            runs,
        )
        self.nodes.append(_new(Node, node))  # every field, in order
        return index

    def _positions(self, layer: LayerSpec) -> ArgPositions:
        """Where ``layer``'s arguments are written, its layout shared with the layers laid
        out alike."""
        layout = ArgPositions.layout(layer.args, layer.pos)
        return ArgPositions(layer.pos, self.layouts.setdefault(layout, layout))

    def _shared(self, kind: LayerKind, args: Mapping[str, object]) -> Mapping[str, object]:
        """One mapping for all layers of a kind with the same arguments (a chain written
        out): less memory, and the engine computes their rule once. Keyed by the values'
        repr, which tells 2 from 2.0 and true from 1."""
        return self.shared_args.setdefault((kind.name, repr(tuple(args.items()))), args)

    def _block_env(
        self,
        layer: LayerSpec,
        block: BlockSpec,
        scope: _Scope,
        inputs: tuple[int, ...],
        env: Mapping[str, expr.Value],
    ) -> dict[str, expr.Value]:
        """Check a block's use and evaluate its arguments (once for all its repeats, unless
        they read the repeat index)."""
        if block.qualified in scope.stack:
            chain = " → ".join((*scope.stack, block.qualified))
            raise GraphError(f"block '{block.name}' uses itself ({chain})", layer.type_pos)
        if len(inputs) != 1 and not _reads_inputs(block.layers):
            raise GraphError(
                f"block '{block.name}' takes one input, got {len(inputs)}",
                layer.pos,
                "a block whose layers read 'input.0', 'input.1', … takes several",
            )
        return self._arguments(layer, block, env)

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
                    did_you_mean(arg.name, [*declared, *LAYER_KEYS]),
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
        """How many layers these expand to at most, found before anything is built, so that
        a model over the limit fails at once and names the layer that crosses it. A layer
        whose repeat, type or block arguments cannot be evaluated yet counts as one (building
        reports what is wrong, and still stops at the limit)."""
        total = 0
        for layer in layers:
            try:
                repeat = self._repeat(layer, env)
                inner: Mapping[str, expr.Value] = _Overlay(env, {"i": 0}) if layer.repeat else env
                size = 1
                if layer.layers is not None:
                    size = self.count(layer.layers, inner, stack)
                else:
                    _, block, _ = self._type(layer, inner, stack)
                    if block is not None and block.qualified not in stack:
                        block_env = self._arguments(layer, block, inner)
                        size = self.count(block.layers, block_env, (*stack, block.qualified))
            except RfcalcError:
                repeat, size = 1, 1
            total += repeat * size
            if total > MAX_LAYERS:
                where = layer.repeat.pos if layer.repeat is not None else layer.pos
                raise InputError(f"the model expands to more than {MAX_LAYERS:,} layers", where)
        return total


def _lint_ignore(layer: LayerSpec) -> frozenset[str]:
    """The warning codes a layer's ``lint: {ignore: [code, ...]}`` silences (checked)."""
    node = layer.lint
    if node is None:
        return frozenset()
    if not isinstance(node, YMap):
        raise InputError(
            f"lint takes a mapping {{ignore: [code, ...]}}, got {what_node(node)}", node.pos
        )
    codes: set[str] = set()
    for key, value in node.items:
        if key.value != "ignore":
            raise InputError(
                f"unknown lint key '{key.value}'", key.pos, did_you_mean(str(key.value), ["ignore"])
            )
        items = value.items if isinstance(value, YSeq) else (value,)
        for item in items:
            if not isinstance(item, YScalar) or not isinstance(item.value, str):
                raise InputError(
                    f"lint ignore takes warning codes, got {what_node(item)}", item.pos
                )
            codes.add(lint.check_code(item.value, "lint ignore", item.pos))
    return frozenset(codes)


def _number(value: Resolved) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_value(value: Resolved, name: str, pos: SourcePos) -> expr.Value:
    """A variable's or block argument's value: a number, a string, a boolean, or a list of
    numbers (or nulls)."""
    if isinstance(value, (int, float, str, bool)):
        return value
    if isinstance(value, tuple):
        items: list[int | float | None] = []
        for i, v in enumerate(value):
            if v is not None and not _number(v):
                raise InputError(
                    f"'{name}' must be a number or a list of numbers; entry {i + 1} is {what(v)}",
                    pos,
                )
            assert v is None or isinstance(v, (int, float))
            items.append(v)
        return tuple(items)
    raise InputError(
        f"'{name}' must be a number, a string, true/false or a list of numbers, got {what(value)}",
        pos,
    )


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


def sizes_from_text(text: str, option: str) -> tuple[int, ...]:
    """Sizes written as text, ``3,224,224`` (or ``3x224x224``, ``3×224×224``): the one reader of
    shapes given on the command line. Only their syntax is checked here."""
    parts = re.split(r"[,x×]", text)
    if not all(_SIZE_TEXT.fullmatch(p) for p in parts):
        raise InputError(f"{option} takes sizes such as 3,224,224; got '{text}'")
    return tuple(int(p) for p in parts)


def check_input_shape(
    value: Resolved, pos: SourcePos | None, option: str = "input"
) -> tuple[int, ...]:
    """The one validation of an input shape, from the file's ``input:`` or from ``--input``."""
    if not isinstance(value, tuple) or not 1 <= len(value) <= MAX_RANK:
        from rfcalc.foreign import tuple_hint

        hint = tuple_hint(value, option)
        if isinstance(value, tuple) and len(value) == MAX_RANK + 1 and is_int(value[0]):
            hint = batch_hint(value, option)
        got = f"{len(value)} sizes" if isinstance(value, tuple) and value else what(value)
        raise InputError(
            f"{option} must be a list of 1 to {MAX_RANK} positive integers "
            f"(channels first, no batch), got {got}",
            pos,
            hint,
        )
    sizes: list[int] = []
    for v in value:
        if not is_int(v) or v < 1:
            raise InputError(f"{option} sizes must be positive integers, got {what(v)}", pos)
        if v > MAX_DIM:
            raise InputError(f"{option} size {v} is too large (limit {MAX_DIM:,})", pos)
        sizes.append(v)
    return tuple(sizes)


def written_shape(shape: tuple[object, ...], option: str) -> str:
    """A shape as the user writes it: ``--input 3,224,224`` or ``input: [3, 224, 224]``."""
    if option.startswith("--"):
        return f"{option} {','.join(map(str, shape))}"
    return f"{option}: [{', '.join(map(str, shape))}]"


def batch_hint(shape: tuple[object, ...], option: str) -> str:
    """``drop the batch dimension: --input 3,224,224`` (and ``--batch N`` for N > 1)."""
    hint = f"drop the batch dimension: {written_shape(shape[1:], option)}"
    if shape[0] != 1:
        hint += f" (and give --batch {shape[0]} for the memory figures)"
    return hint


IMAGE_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA: a last size that looks like channels
MIN_IMAGE_SIDE = 16  # and every other size at least this: an image, not a feature map


def looks_channels_last(shape: tuple[int, ...]) -> bool:
    """A 2-D or 3-D image written channels last, as TensorFlow and Keras write it:
    ``[128, 128, 3]``."""
    return (
        len(shape) >= 3
        and shape[-1] in IMAGE_CHANNELS
        and all(s >= MIN_IMAGE_SIDE for s in shape[:-1])
    )


def rule_context(
    node: Node, in_shapes: tuple[Shape, ...], in_layouts: tuple[Layout, ...] = (), rank: int = 0
) -> Ctx:
    """What ``node``'s rule sees. The engine gives the inputs' layouts and the model input's
    rank; the builder, which wants only shapes (for expressions that read them), neither:
    shapes do not depend on layouts (see Ctx)."""
    return Ctx(
        node.name, node.kind.name, node.args, node.arg_pos, node.pos, in_shapes, in_layouts, rank
    )


def apply_rule(node: Node, ctx: Ctx, option: str, where: SourcePos | None) -> Out:
    """``node``'s rule on ``ctx``; for a layer reading the model's input (given by ``option``,
    at ``where``), a shape error as :func:`input_shape_error` makes it."""
    try:
        return node.kind.rule(ctx)
    except ShapeError as error:
        if INPUT not in node.inputs:
            raise
        raise input_shape_error(error, ctx, node.kind.rule, option, where) from None


def input_shape_error(
    error: ShapeError, ctx: Ctx, rule: Callable[[Ctx], object], option: str, pos: SourcePos | None
) -> RfcalcError:
    """A layer reading the model's input fails, and would not on the input as PyTorch
    writes it: without a leading 1 that looks like a batch dimension (``--input 1,3,224,224``)
    or, for an image written channels last (``[128, 128, 3]``), with its channels first. The
    error is then the input's (the option or the key), with the shape to write; otherwise
    ``error`` itself. (A leading size above 1 is left alone: [3, 28, 28] before a conv1d is no
    batch of 3.)"""
    shape = ctx.in_shapes[0]
    if len(shape) < 2 or any(s != shape for s in ctx.in_shapes):
        return error
    if shape[0] == 1 and _works(ctx, rule, shape[1:]):
        return InputError(
            f"{written_shape(shape, option)} looks like it starts with a batch dimension, which"
            f" rfcalc's shapes leave out: {error.message}",
            pos,
            batch_hint(shape, option),
        )
    first = (shape[-1], *shape[:-1])
    if looks_channels_last(shape) and _works(ctx, rule, first):
        return InputError(
            f"{written_shape(shape, option)} looks channels-last, and rfcalc reads the first"
            f" size as the channels: {error.message}",
            pos,
            f"write it channels first: {written_shape(first, option)}",
        )
    return error


def _works(ctx: Ctx, rule: Callable[[Ctx], object], shape: tuple[int, ...]) -> bool:
    """Does the layer's rule accept ``shape`` as its (every) input?"""
    retry = ctx._replace(
        in_shapes=(shape,) * len(ctx.in_shapes),
        in_layouts=(channels_first(len(shape)),) * len(ctx.in_layouts),
        rank=len(shape) - 1,
    )
    try:
        rule(retry)
    except RfcalcError:
        return False
    return True


def validate_args(
    kind: LayerKind,
    given: tuple[ArgSpec, ...],
    env: Mapping[str, expr.Value],
    where: str,
    pos: SourcePos,
) -> Mapping[str, object]:
    """Check a layer's arguments against its declaration; fill defaults."""
    values: dict[str, object] = {}
    declared = {a.name: a for a in kind.args}
    for arg in given:
        decl = declared.get(arg.name)
        if decl is None:
            from rfcalc.foreign import arg_hint

            raise InputError(
                f"{where}unknown argument '{arg.name}'",
                arg.pos,
                arg_hint(arg.name, declared)
                or did_you_mean(arg.name, [*declared, *LAYER_KEYS[1:]]),
            )
        values[arg.name] = _coerce(where, decl, arg.value.pos, resolve(arg.value, env))
    for decl in kind.args:
        if decl.name not in values:
            if decl.required:
                raise InputError(f"{where}missing required argument '{decl.name}'", pos)
            values[decl.name] = decl.default
    return MappingProxyType(values)


def build(
    spec: ModelSpec,
    overrides: Mapping[str, str] | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> Graph:
    return Builder(spec, overrides, input_shape).build()
