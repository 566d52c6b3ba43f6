"""Write a model as rfcalc YAML text: the one back end of the importers (``rfcalc convert``).

Two ways in. :func:`write_document` writes a model given as plain data, the shape of the
file itself: ``input``, ``blocks`` and ``layers``, each layer a mapping whose keys are
written in the order given, a nested list as its ``layers`` (the PyTorch converter builds
this, with its blocks and repeats). :func:`write_model` takes the leaf layers of a graph in
order, each with its full dotted name (``layer1.0.conv1``), its type, its arguments and the
full names of its inputs (the ONNX importer gives these): it turns the dots into nested
``layers:`` scopes, so that the file reads as the framework's module tree and rfcalc reports
the same full names, and writes ``from:`` only where the flow branches (a layer whose input
is not the layer written just before it).

Each layer is one flow mapping on its line (a layer that is only a type: the bare type), a
nested list in block style; strings are quoted only where YAML needs it.

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

__all__ = ["INPUT", "Entry", "WrittenLayer", "write_document", "write_model"]

INPUT = "input"
"""The name of the model's input in :attr:`WrittenLayer.inputs`."""

Entry = Mapping[str, object]
"""A layer as written: its keys in order (``name``, ``type``, ``from``, its arguments), or a
nested list: ``name`` and ``layers`` (a sequence of entries)."""


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
_QUOTABLE = re.compile(r"[ -~]*")  # printable ASCII: single quotes need no escapes but ''


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
        text = repr(value)
        if "e" in text and "." not in text:  # YAML 1.1 reads 1e-05 as a string, 1.0e-05 not
            text = text.replace("e", ".0e", 1)
        return text
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _NOT_PLAIN:
            return value
        if _QUOTABLE.fullmatch(value):
            return "'" + value.replace("'", "''") + "'"
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return _flow(value)
    raise TypeError(f"cannot write a {type(value).__name__} as a layer argument")


def _flow(entry: Entry) -> str:
    items = (f"{_scalar(key)}: {_scalar(value)}" for key, value in entry.items())
    return "{" + ", ".join(items) + "}"


def _layers(entries: Sequence[Entry], indent: str) -> list[str]:
    out: list[str] = []
    for entry in entries:
        nested = entry.get("layers")
        if isinstance(nested, Sequence) and not isinstance(nested, str):
            head = [(k, v) for k, v in entry.items() if k != "layers"]
            for i, (key, value) in enumerate(head):
                out.append(f"{indent}{'- ' if i == 0 else '  '}{_scalar(key)}: {_scalar(value)}")
            out.append(f"{indent}{'  ' if head else '- '}layers:")
            out += _layers(nested, indent + "    ")
        elif list(entry) == ["type"]:
            out.append(f"{indent}- {_scalar(entry['type'])}")
        else:
            out.append(f"{indent}- {_flow(entry)}")
    return out


def write_document(
    input_shape: Sequence[int],
    layers: Sequence[Entry],
    *,
    name: str | None = None,
    blocks: Mapping[str, Entry] | None = None,
    header: str | None = None,
) -> str:
    """The rfcalc YAML text of a model given as data: the ``header`` lines as comments,
    ``name``, ``input``, ``blocks`` (name → its definition: ``args`` and the like as flow
    mappings, then its ``layers``) and ``layers``, in docs/format.md's order."""
    out: list[str] = [f"# {line}".rstrip() for line in (header or "").splitlines()]
    if name:
        out.append(f"name: {_scalar(name)}")
    out.append(f"input: {_scalar(list(input_shape))}")
    if blocks:
        out.append("blocks:")
        for block, body in blocks.items():
            out.append(f"  {_scalar(block)}:")
            for key, value in body.items():
                if key != "layers":
                    out.append(f"    {_scalar(key)}: {_scalar(value)}")
            out.append("    layers:")
            nested = body["layers"]
            assert isinstance(nested, Sequence)
            out += _layers(nested, "      ")
    out.append("layers:")
    out += _layers(layers, "  ")
    return "\n".join(out) + "\n"


class _Scope:
    """An open ``layers:`` scope while nesting: its full-name prefix, its entries and the
    names defined in it so far (which shadow an outer layer of the same short name)."""

    def __init__(self, prefix: str, entries: list[Entry]) -> None:
        self.prefix = prefix
        self.entries = entries
        self.local: set[str] = set()


def write_model(
    name: str | None,
    input_shape: Sequence[int],
    layers: Sequence[WrittenLayer],
    header: str | None = None,
) -> str:
    """The rfcalc YAML text of a model given as its leaf layers: the ``header`` lines as
    comments, ``name``, ``input`` (channels first, no batch) and the layers as nested scopes.

    A scope is opened where a layer's name has a dotted prefix and closed when the next
    layer's name leaves it; a scope cannot be opened twice, so the layers of one scope must
    be written together (``ValueError`` otherwise, as for a reference that the file could
    not express).
    """
    top: list[Entry] = []
    scopes = [_Scope("", top)]
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
            inner: list[Entry] = []
            outer.entries.append({"name": part, "layers": inner})
            outer.local.add(part)
            scopes.append(_Scope(outer.prefix + part + ".", inner))
        scope = scopes[-1]
        if short in scope.local:
            raise ValueError(f"layer '{layer.name}' is written twice")
        entry: dict[str, object] = {"name": short, "type": layer.type}
        if layer.inputs and layer.inputs != (previous,):
            refs = [_reference(target, scopes) for target in layer.inputs]
            entry["from"] = refs[0] if len(refs) == 1 else refs
        entry.update(layer.args)
        scope.entries.append(entry)
        scope.local.add(short)
        previous = layer.name
    return write_document(input_shape, top, name=name, header=header)


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
