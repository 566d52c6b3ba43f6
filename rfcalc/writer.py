"""Write a model as rfcalc YAML text: the shared back end of the importers (``rfcalc convert``).

An importer gives the layers in order, each with its full dotted name (``layer1.0.conv1``),
its type, its arguments and the full names of its inputs. :func:`write_model` turns the dots
into nested ``layers:`` scopes, so that the file reads as the framework's module tree and
rfcalc reports the same full names, and writes ``from:`` only where the flow branches (a layer
whose input is not the layer written just before it).

>>> print(write_model("tiny", (3, 8, 8), [
...     WrittenLayer("conv", "conv2d", {"out_channels": 4, "kernel_size": 3}),
...     WrittenLayer("head.relu", "relu", {}),
... ], header="made by hand"))
# made by hand
name: tiny
input: [3, 8, 8]
layers:
  - {name: conv, type: conv2d, out_channels: 4, kernel_size: 3}
  - name: head
    layers:
      - {name: relu, type: relu}
<BLANKLINE>
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

__all__ = ["INPUT", "WrittenLayer", "write_model"]

INPUT = "input"
"""The name of the model's input in :attr:`WrittenLayer.inputs`."""


class WrittenLayer(NamedTuple):
    """One leaf layer to write.

    ``name``: its full name, scopes separated by ``.`` (each part a valid rfcalc name: not
    empty, no control characters, not ``input``). ``type`` and ``args``: the rfcalc layer type
    and its arguments (ints, floats, bools, strings, ``None`` and lists of them), written in
    the order given. ``inputs``: the full names of the layers it reads (or :data:`INPUT`);
    ``None`` means the layer written just before it (the model's input for the first); ``()``
    a layer that reads nothing (``parameter``).
    """

    name: str
    type: str
    args: Mapping[str, object]
    inputs: tuple[str, ...] | None = None


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NOT_PLAIN = frozenset(("true", "false", "null", "yes", "no", "on", "off", "y", "n"))


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"cannot write the number {value!r}")
        return repr(value)
    if isinstance(value, str):
        plain = _PLAIN.fullmatch(value) and value.lower() not in _NOT_PLAIN
        return value if plain else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    raise TypeError(f"cannot write a {type(value).__name__} as a layer argument")


def _flow(items: Sequence[tuple[str, object]]) -> str:
    return "{" + ", ".join(f"{key}: {_scalar(value)}" for key, value in items) + "}"


class _Scope:
    """An open ``layers:`` scope while writing: its full-name prefix, indent and the names
    defined in it so far (which shadow an outer layer of the same short name)."""

    def __init__(self, prefix: str, indent: str) -> None:
        self.prefix = prefix
        self.indent = indent
        self.local: set[str] = set()


def write_model(
    name: str | None,
    input_shape: Sequence[int],
    layers: Sequence[WrittenLayer],
    header: str | None = None,
) -> str:
    """The rfcalc YAML text of a model: the ``header`` lines as comments, ``name``,
    ``input`` (channels first, no batch) and the layers as nested scopes.

    A scope is opened where a layer's name has a dotted prefix and closed when the next
    layer's name leaves it; a scope cannot be opened twice, so the layers of one scope must
    be written together (``ValueError`` otherwise, as for a reference that the file could
    not express).
    """
    out: list[str] = [f"# {line}".rstrip() for line in (header or "").splitlines()]
    if name:
        out.append(f"name: {_scalar(name)}")
    out.append(f"input: {_scalar(list(input_shape))}")
    out.append("layers:")
    scopes = [_Scope("", "  ")]
    closed: set[str] = set()
    previous = INPUT
    for layer in layers:
        *parents, short = layer.name.split(".")
        prefix = "".join(p + "." for p in parents)
        while not prefix.startswith(scopes[-1].prefix):
            closed.add(scopes.pop().prefix)
        for part in prefix[len(scopes[-1].prefix) :].split(".")[:-1]:
            outer = scopes[-1]
            if outer.prefix + part + "." in closed or part in outer.local:
                raise ValueError(f"scope '{outer.prefix}{part}' is written twice")
            out.append(f"{outer.indent}- name: {_scalar(part)}")
            out.append(f"{outer.indent}  layers:")
            outer.local.add(part)
            scopes.append(_Scope(outer.prefix + part + ".", outer.indent + "    "))
        scope = scopes[-1]
        if short in scope.local:
            raise ValueError(f"layer '{layer.name}' is written twice")
        items: list[tuple[str, object]] = [("name", short), ("type", layer.type)]
        if layer.inputs and layer.inputs != (previous,):
            refs = [_reference(target, scopes) for target in layer.inputs]
            items.append(("from", refs[0] if len(refs) == 1 else refs))
        items.extend(layer.args.items())
        out.append(f"{scope.indent}- {_flow(items)}")
        scope.local.add(short)
        previous = layer.name
    return "\n".join(out) + "\n"


def _reference(target: str, scopes: list[_Scope]) -> str:
    """How a layer in the innermost scope names ``target``: by its short name when it is in
    the same scope, else by its full name (which the builder finds unless an enclosing
    scope has a layer of that name: a full name without dots could be shadowed)."""
    scope = scopes[-1]
    if target == INPUT:
        if len(scopes) > 1:
            raise ValueError("a layer inside a scope cannot read the model's input")
        return INPUT
    if target.startswith(scope.prefix) and "." not in target[len(scope.prefix) :]:
        return target[len(scope.prefix) :]
    if "." not in target and any(target in s.local for s in scopes[1:]):
        raise ValueError(f"layer '{target}' is shadowed by a layer of the same name in a scope")
    return target
