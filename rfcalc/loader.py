"""Model file text → :class:`ModelSpec`, a typed spec whose every node keeps its position.

Only structure is checked here (top-level keys, layer entries, blocks); values stay YAML nodes,
because they may be expressions that depend on block arguments. :mod:`rfcalc.build` evaluates
and validates them against the layer registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from rfcalc.errors import InputError, SourcePos, did_you_mean, printable
from rfcalc.yamltree import MAX_FILE_BYTES, YMap, YNode, YScalar, YSeq, describe, parse, read_text

TOP_KEYS = ("name", "description", "input", "vars", "blocks", "layers", "checks")
LAYER_KEYS = ("type", "name", "from", "repeat", "trainable")
BLOCK_KEYS = ("args", "layers")


@dataclass(frozen=True, slots=True)
class ArgSpec:
    name: str
    value: YNode
    pos: SourcePos  # the key's position


@dataclass(frozen=True, slots=True)
class LayerSpec:
    type: str
    type_pos: SourcePos
    name: str | None
    name_pos: SourcePos | None
    from_: YNode | None
    repeat: YNode | None
    trainable: YNode | None
    args: tuple[ArgSpec, ...]
    pos: SourcePos


@dataclass(frozen=True, slots=True)
class BlockSpec:
    name: str
    params: tuple[ArgSpec, ...]  # value is a null scalar when the argument is required
    layers: tuple[LayerSpec, ...]
    pos: SourcePos


@dataclass(frozen=True, slots=True)
class ModelSpec:
    path: str
    name: str | None
    description: str | None
    input: YNode
    vars: tuple[ArgSpec, ...]
    blocks: tuple[BlockSpec, ...]
    layers: tuple[LayerSpec, ...]
    checks: YMap | None
    pos: SourcePos


def _string(node: YNode, what: str) -> str:
    if not isinstance(node, YScalar) or not isinstance(node.value, str):
        raise InputError(f"{what} must be a string, got {describe(node)}", node.pos)
    return node.value


def _name(node: YNode, what: str) -> str:
    text = _string(node, what)
    if not text:
        raise InputError(f"{what} must not be empty", node.pos)
    _no_controls(text, what, node.pos)
    if "." in text:
        raise InputError(f"{what} '{text}' must not contain '.', which separates levels", node.pos)
    return text


def _no_controls(text: str, what: str, pos: SourcePos) -> None:
    """Names are shown in tables and messages: no control characters, nor line breaks."""
    if printable(text, newlines=False) != text:
        raise InputError(f"{what} '{text}' must not contain control characters", pos)


def _mapping(node: YNode, what: str) -> YMap:
    if not isinstance(node, YMap):
        raise InputError(f"{what} must be a mapping, got {describe(node)}", node.pos)
    return node


def _model_name(node: YNode) -> str:
    text = _string(node, "'name'")
    _no_controls(text, "the model's name", node.pos)
    return text


def parse_layer(node: YNode) -> LayerSpec:
    if isinstance(node, YScalar):
        text = _string(node, "a layer")
        return LayerSpec(text, node.pos, None, None, None, None, None, (), node.pos)
    if not isinstance(node, YMap):
        raise InputError(
            f"a layer must be a mapping with 'type' or a type name, got {describe(node)}", node.pos
        )
    type_node = node.get("type")
    if type_node is None:
        raise InputError("layer has no 'type'", node.pos)
    kind = _string(type_node, "'type'")
    name_node = node.get("name")
    name = _name(name_node, "layer name") if name_node is not None else None
    args = tuple(
        ArgSpec(str(k.value), v, k.pos) for k, v in node.items if k.value not in LAYER_KEYS
    )
    for k, _ in node.items:
        if not isinstance(k.value, str):
            raise InputError(f"argument names must be strings, got {describe(k)}", k.pos)
    return LayerSpec(
        type=kind,
        type_pos=type_node.pos,
        name=name,
        name_pos=name_node.pos if name_node is not None else None,
        from_=node.get("from"),
        repeat=node.get("repeat"),
        trainable=node.get("trainable"),
        args=args,
        pos=node.pos,
    )


def parse_layers(node: YNode, what: str) -> tuple[LayerSpec, ...]:
    if not isinstance(node, YSeq):
        raise InputError(f"{what} must be a list of layers, got {describe(node)}", node.pos)
    if not node.items:
        raise InputError(f"{what} must not be empty", node.pos)
    return tuple(parse_layer(item) for item in node.items)


def _unknown_key(key: YScalar, valid: tuple[str, ...], where: str) -> InputError:
    return InputError(
        f"unknown {where} key '{key.value}'", key.pos, did_you_mean(str(key.value), valid)
    )


def _block(name_key: YScalar, node: YNode) -> BlockSpec:
    name = _name(name_key, "block name")
    body = _mapping(node, f"block '{name}'")
    for k, _ in body.items:
        if k.value not in BLOCK_KEYS:
            raise _unknown_key(k, BLOCK_KEYS, f"block '{name}'")
    layers_node = body.get("layers")
    if layers_node is None:
        raise InputError(f"block '{name}' has no 'layers'", body.pos)
    params: tuple[ArgSpec, ...] = ()
    args_node = body.get("args")
    if args_node is not None and not (isinstance(args_node, YScalar) and args_node.value is None):
        args_map = _mapping(args_node, f"'args' of block '{name}'")
        params = tuple(ArgSpec(_name(k, "block argument"), v, k.pos) for k, v in args_map.items)
    return BlockSpec(
        name, params, parse_layers(layers_node, f"'layers' of block '{name}'"), body.pos
    )


def load_text(text: str, path: str) -> ModelSpec:
    root = parse(text, path)
    top = _mapping(root, "a model file")
    for key, _ in top.items:
        if key.value not in TOP_KEYS:
            raise _unknown_key(key, TOP_KEYS, "top-level")
    layers_node = top.get("layers")
    input_node = top.get("input")
    if input_node is None:
        raise InputError(
            "the model has no 'input' shape", SourcePos(path), "add e.g. 'input: [3, 224, 224]'"
        )
    if layers_node is None:
        raise InputError("the model has no 'layers'", SourcePos(path))
    name_node, desc_node = top.get("name"), top.get("description")
    vars_node, blocks_node, checks_node = top.get("vars"), top.get("blocks"), top.get("checks")
    variables: tuple[ArgSpec, ...] = ()
    if vars_node is not None:
        variables = tuple(
            ArgSpec(_name(k, "variable name"), v, k.pos)
            for k, v in _mapping(vars_node, "'vars'").items
        )
    blocks: tuple[BlockSpec, ...] = ()
    if blocks_node is not None:
        blocks = tuple(_block(k, v) for k, v in _mapping(blocks_node, "'blocks'").items)
    return ModelSpec(
        path=path,
        name=_model_name(name_node) if name_node is not None else None,
        description=_string(desc_node, "'description'") if desc_node is not None else None,
        input=input_node,
        vars=variables,
        blocks=blocks,
        layers=parse_layers(layers_node, "'layers'"),
        checks=_mapping(checks_node, "'checks'") if checks_node is not None else None,
        pos=top.pos,
    )


def load_bytes(data: bytes, path: str) -> ModelSpec:
    return load_text(read_text(path, data), path)


def _refused_kind(mode: int, *, stdin: bool = False) -> str | None:
    """What a non-file is ('a character device', …), or None when a model may be read from
    it: a regular file or a FIFO (``<(cmd)`` too); on standard input also a terminal, a socket
    or /dev/null."""
    import stat

    if stat.S_ISREG(mode) or stat.S_ISFIFO(mode):
        return None
    if stdin and (stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)):
        return None
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "not a regular file"  # pragma: no cover - no other kind on Linux or macOS


def _read_bounded(stream: BinaryIO) -> bytes:
    """At most ``MAX_FILE_BYTES + 1`` bytes: enough for :func:`read_text` to refuse a larger
    file, never the whole of /dev/zero or an endless pipe. A terminal gives a line per read."""
    left, chunks = MAX_FILE_BYTES + 1, []
    while left > 0 and (chunk := stream.read(left)):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def load_path(path: str) -> ModelSpec:
    """Read a model file ('-' for standard input), never more than the size limit plus one byte.

    A device, socket or folder named as MODEL is refused before it is opened (opening some
    devices has effects; reading /dev/zero never ends); a FIFO is read like a file."""
    import io
    import os
    import sys

    if path == "-":
        where = SourcePos("<stdin>")
        stream = sys.stdin  # None when the process started with descriptor 0 closed
        if stream is None:
            raise InputError("standard input is closed", where)
        try:
            kind = _refused_kind(os.fstat(stream.fileno()).st_mode, stdin=True)
        except io.UnsupportedOperation:  # an in-memory stream (a test runner's)
            kind = None
        except (OSError, ValueError):
            raise InputError("standard input is closed", where) from None
        if kind is not None:
            raise InputError(f"is {kind}, not a model file", where)
        try:
            data = _read_bounded(stream.buffer)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", where) from None
        except ValueError:  # closed since
            raise InputError("standard input is closed", where) from None
        return load_bytes(data, "<stdin>")
    where = SourcePos(path)
    try:
        kind = _refused_kind(os.stat(path).st_mode)
        if kind is None:
            with open(path, "rb") as fh:
                # checked again on what was opened, in case the path changed in between
                kind = _refused_kind(os.fstat(fh.fileno()).st_mode)
                data = b"" if kind else _read_bounded(fh)
    except FileNotFoundError:
        raise InputError("no such file", where) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a model file", where) from None
    except PermissionError:
        raise InputError("permission denied", where) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where) from None
    if kind is not None:
        raise InputError(f"is {kind}, not a model file", where)
    return load_bytes(data, path)
