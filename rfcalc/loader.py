"""Model file text → :class:`ModelSpec`, a typed spec whose every node keeps its position.

Only structure is checked here (top-level keys, layer entries, blocks); values stay YAML nodes,
because they may be expressions that depend on block arguments. :mod:`rfcalc.build` evaluates
and validates them against the layer registry.
"""

# no `from __future__ import annotations`: typing.NamedTuple compiles each string annotation
# of its fields into a ForwardRef (about 13 µs a field, at every start); the few fields that
# name what is not defined yet are quoted
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, NamedTuple

from rfcalc.errors import InputError, SourcePos, did_you_mean, printable
from rfcalc.yamltree import (
    MAX_FILE_BYTES,
    YMap,
    YNode,
    YScalar,
    YSeq,
    parse,
    read_text,
    scalar,
    what_node,
)

TOP_KEYS = ("name", "description", "include", "input", "vars", "blocks", "layers", "checks")
LAYER_KEYS = ("type", "name", "from", "repeat", "trainable", "runs", "if", "lint")
SCOPE_KEYS = ("name", "from", "repeat", "trainable", "runs", "if", "lint", "layers")
BLOCK_KEYS = ("args", "sequential", "layers")
LIBRARY_KEYS = ("description", "include", "vars", "blocks")
MAX_INCLUDES = 64


class ArgSpec(NamedTuple):
    """An argument: its name, its value, and where its key is written (kept in its own
    fields, and made a :class:`SourcePos` when asked, as :class:`YScalar` does)."""

    name: str
    value: YNode
    path: str
    line: int
    col: int

    @property
    def pos(self) -> SourcePos:
        """The key's position."""
        return SourcePos(self.path, self.line, self.col)


def _arg(name: str, key: YScalar, value: YNode) -> ArgSpec:
    return ArgSpec(name, value, key.path, key.line, key.col)


class LayerSpec(NamedTuple):
    """A layer, a block instance (``type`` names a block), or a nested scope (``layers``:
    a submodule or ``nn.Sequential`` written in place; ``type`` is then empty)."""

    type: str
    type_pos: SourcePos
    name: str | None
    name_pos: SourcePos | None
    from_: YNode | None
    repeat: YNode | None
    trainable: YNode | None
    args: tuple[ArgSpec, ...]
    pos: SourcePos
    if_: YNode | None = None
    layers: "tuple[LayerSpec, ...] | None" = None  # nested: its own class
    lint: YNode | None = None  # {ignore: [code, ...]}: warnings silenced on this layer
    runs: YNode | None = None  # false: not run at inference (parameters count, no MACs)


class BlockSpec(NamedTuple):
    name: str
    params: tuple[ArgSpec, ...]  # value is a null scalar when the argument is required
    layers: tuple[LayerSpec, ...]
    pos: SourcePos
    sequential: bool = False  # unnamed layers are named 0, 1, … (a subclass of nn.Sequential)
    library: str | None = None  # the built-in library defining it (None: the model, a file)

    @property
    def qualified(self) -> str:
        """``torchvision.Bottleneck`` for a block of a built-in library, else its name."""
        return f"{self.library}.{self.name}" if self.library else self.name


class ModelSpec(NamedTuple):
    path: str
    name: str | None
    description: str | None
    input: YNode
    vars: tuple[ArgSpec, ...]
    blocks: "Blocks"  # its own and its includes', by name, in order
    layers: tuple[LayerSpec, ...]
    checks: YMap | None
    pos: SourcePos


def _string(node: YNode, what: str) -> str:
    if not isinstance(node, YScalar) or not isinstance(node.value, str):
        raise InputError(f"{what} must be a string, got {what_node(node)}", node.pos)
    return node.value


def _name(node: YNode, what: str) -> str:
    value = node.value if isinstance(node, YScalar) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)  # names of digits only, as nn.Sequential's children have
    text = _string(node, what)
    if not text:
        raise InputError(f"{what} must not be empty", node.pos)
    _no_controls(text, what, node.pos)
    if "." in text and not (what == "layer name" and "${" in text):  # a template is checked
        raise InputError(f"{what} '{text}' must not contain '.', which separates levels", node.pos)
    return text


def _no_controls(text: str, what: str, pos: SourcePos) -> None:
    """Names are shown in tables and messages: no control characters, nor line breaks."""
    if printable(text, newlines=False) != text:
        raise InputError(f"{what} '{text}' must not contain control characters", pos)


def _mapping(node: YNode, what: str) -> YMap:
    if not isinstance(node, YMap):
        raise InputError(f"{what} must be a mapping, got {what_node(node)}", node.pos)
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
            f"a layer must be a mapping with 'type' or a type name, got {what_node(node)}", node.pos
        )
    _split_tuple(node)
    given: dict[str, YNode] = {}
    for k, v in node.items:
        if not isinstance(k.value, str):
            raise InputError(f"argument names must be strings, got {what_node(k)}", k.pos)
        given[k.value] = v
    get = given.get
    type_node, layers_node, name_node = get("type"), get("layers"), get("name")
    name = _name(name_node, "layer name") if name_node is not None else None
    name_pos = name_node.pos if name_node is not None else None
    args: tuple[ArgSpec, ...] = ()
    if layers_node is not None:
        if type_node is not None:
            raise InputError(
                "a layer has either 'type' or its own 'layers', not both",
                type_node.pos,
                "a block is used with 'type'; a submodule written in place has 'layers'",
            )
        for k, _ in node.items:
            if k.value not in SCOPE_KEYS:
                raise _unknown_key(k, SCOPE_KEYS, "nested 'layers'")
        kind, type_pos = "", node.pos
        children: tuple[LayerSpec, ...] | None = parse_layers(layers_node, "'layers'")
    elif type_node is None:
        raise InputError("layer has no 'type'", node.pos, "or give it its own 'layers' list")
    else:
        kind, type_pos, children = _string(type_node, "'type'"), type_node.pos, None
        args = tuple(_arg(str(k.value), k, v) for k, v in node.items if k.value not in LAYER_KEYS)
    # positional, in LayerSpec's field order (asserted below): with keywords, and a dict of
    # the common ones, a layer took 7.8 µs here, not 6.3
    return LayerSpec(
        kind,
        type_pos,
        name,
        name_pos,
        get("from"),
        get("repeat"),
        get("trainable"),
        args,
        node.pos,
        get("if"),
        children,
        get("lint"),
        get("runs"),
    )


assert LayerSpec._fields == (
    "type", "type_pos", "name", "name_pos", "from_", "repeat", "trainable", "args", "pos",
    "if_", "layers", "lint", "runs",
)  # fmt: skip


def _split_tuple(node: YMap) -> None:
    """``{kernel_size: (3, 3)}``: inside a flow mapping YAML splits a Python tuple at its
    commas, into the value '(3' and a key '3)'. Said as such, with the list to write."""
    items = node.items
    for i, (key, value) in enumerate(items):
        text = value.value if isinstance(value, YScalar) else None
        if not isinstance(text, str) or not text.startswith("(") or ")" in text:
            continue
        parts = [text[1:]]
        for k, v in items[i + 1 :]:
            if not (isinstance(v, YScalar) and v.value is None):
                break
            parts.append(str(k.value))
            if parts[-1].endswith(")"):
                parts[-1] = parts[-1][:-1]
                from rfcalc.foreign import tuple_hint

                tuple_text = "(" + ", ".join(p.strip() for p in parts if p.strip()) + ")"
                raise InputError(
                    f"{key.value}: {tuple_text} is not a list: inside {{…}} YAML splits it at"
                    " its commas",
                    value.pos,
                    tuple_hint(tuple_text, str(key.value)),
                )


def parse_layers(node: YNode, what: str, read: "_Layers | None" = None) -> tuple[LayerSpec, ...]:
    """A list of layers; ``read``: the list's items as :func:`parse` handed them over."""
    if not isinstance(node, YSeq):
        raise InputError(f"{what} must be a list of layers, got {what_node(node)}", node.pos)
    if read is not None and (read.specs or read.error):
        if read.error is not None:
            raise read.error
        return tuple(read.specs)
    if not node.items:
        raise InputError(f"{what} must not be empty", node.pos)
    return tuple(parse_layer(item) for item in node.items)


class _Layers:
    """The items of a model file's top-level ``layers`` list, read one by one as the parser
    completes each (:func:`rfcalc.yamltree.parse`), so that the tree of every layer is never
    held at once: their specs, in order, up to the first error, kept to be raised when
    :func:`load_tree` reaches the list (so errors come in the same order as from a tree)."""

    __slots__ = ("error", "specs")

    def __init__(self) -> None:
        self.specs: list[LayerSpec] = []
        self.error: InputError | None = None

    def __call__(self, node: YNode) -> None:
        if self.error is None:
            try:
                self.specs.append(parse_layer(node))
            except InputError as error:
                self.error = error


def _unknown_key(key: YScalar, valid: tuple[str, ...], where: str) -> InputError:
    return InputError(
        f"unknown {where} key '{key.value}'", key.pos, did_you_mean(str(key.value), valid)
    )


def _block(name_key: YScalar, node: YNode, library: str | None = None) -> BlockSpec:
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
        params = tuple(_arg(_name(k, "block argument"), k, v) for k, v in args_map.items)
    sequential = False
    sequential_node = body.get("sequential")
    if sequential_node is not None:
        if not isinstance(sequential_node, YScalar) or not isinstance(sequential_node.value, bool):
            raise InputError(
                f"'sequential' must be true or false, got {what_node(sequential_node)}",
                sequential_node.pos,
            )
        sequential = sequential_node.value
    layers = parse_layers(layers_node, f"'layers' of block '{name}'")
    return BlockSpec(name, params, layers, body.pos, sequential, library)


def load_text(text: str, path: str, scale: str | None = None) -> ModelSpec:
    """A model file's text; an Ultralytics model config (``backbone`` and ``head``) is read
    through :mod:`rfcalc.ultralytics` at ``scale`` (default: from the file's name)."""
    read: _Layers | None = _Layers()
    root = parse(text, path, read)
    if isinstance(root, YMap) and root.get("backbone") is not None and root.get("head"):
        from rfcalc.ultralytics import model_tree  # is_config, without importing it first

        root = model_tree(root, path, scale)
        read = None  # its layers are the config's: a 'layers' list it holds is not read
    elif scale is not None:
        raise InputError(
            f"--scale {scale}: the model is not an Ultralytics model config", SourcePos(path)
        )
    return load_tree(root, path, read)


def load_tree(root: YNode, path: str, read: _Layers | None = None) -> ModelSpec:
    """A model file's parsed tree (or one a front end made) as a spec; ``read``: its top-level
    layers, when :func:`parse` handed them over one by one."""
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
            _arg(_name(k, "variable name"), k, v) for k, v in _mapping(vars_node, "'vars'").items
        )
    library = _Library()
    library.include(top.get("include"), path, () if path.startswith("<") else (path,))
    own = {v.name for v in variables}
    variables = (*(v for v in library.vars if v.name not in own), *variables)
    if blocks_node is not None:
        for k, v in _mapping(blocks_node, "'blocks'").items:
            library.add(_block(k, v))
    blocks = library.blocks
    return ModelSpec(
        path=path,
        name=_model_name(name_node) if name_node is not None else None,
        description=_string(desc_node, "'description'") if desc_node is not None else None,
        input=input_node,
        vars=variables,
        blocks=blocks,
        layers=parse_layers(layers_node, "'layers'", read),
        checks=_mapping(checks_node, "'checks'") if checks_node is not None else None,
        pos=top.pos,
    )


_BUILTIN_NAME = re.compile(r"[A-Za-z0-9_-]+")


def builtin_libraries() -> list[str]:
    """The block libraries shipped in the package (``include: [torchvision]``)."""
    return sorted(p.stem for p in LIBRARY_DIR.glob("*.yaml"))


def builtin_blocks() -> "Blocks":
    """The blocks of every built-in library, by their plain and qualified names."""
    where = SourcePos("<built-in>")
    names = YSeq(tuple(scalar(name, where) for name in builtin_libraries()), where)
    library = _Library()
    library.include(names, where.path, ())
    return library.blocks


LIBRARY_DIR = Path(__file__).parent / "library"
_LIBRARY_PREFIX = str(LIBRARY_DIR) + os.sep


class Blocks(Mapping[str, BlockSpec]):
    """The blocks a model can use, by name, in the order they are defined: its own and those
    of the files it includes. A block of a built-in library is also known by its qualified
    name, ``torchvision.Bottleneck``; a name that two built-in libraries define is known only
    so (:meth:`ambiguous` lists its qualified names). A file of rfcalc's own library is known
    by its blocks' names (:func:`library_index`) until one of them is looked up, and then
    parsed whole: a model that includes ``torchvision`` reads the files of the blocks it
    uses, not all ten."""

    __slots__ = ("_ambiguous", "_found")

    def __init__(self) -> None:
        self._found: dict[str, BlockSpec | str] = {}  # a block, or the library file defining it
        self._ambiguous: dict[str, tuple[str, ...]] = {}  # a name → its qualified names

    def define(self, name: str, found: BlockSpec | str, library: str | None = None) -> None:
        """A block (or the library file defining it) of the model or a file (``library``
        None), or of a built-in library; its clashes are checked first (:meth:`clash`)."""
        if library is None:
            self._found[name] = found
            return
        qualified = f"{library}.{name}"
        self._found[qualified] = found
        if name in self._ambiguous:
            self._ambiguous[name] = tuple(sorted((*self._ambiguous[name], qualified)))
        elif name in self._found:  # another built-in library's
            other = f"{self.library_of(name)}.{name}"
            del self._found[name]
            self._ambiguous[name] = tuple(sorted((other, qualified)))
        else:
            self._found[name] = found

    def clash(self, name: str, library: str | None) -> str | None:
        """The key of a block that one named ``name`` of ``library`` (None: of the model or
        a file) may not be defined beside: any of that name, but another built-in library's."""
        if library is not None:
            if f"{library}.{name}" in self._found:
                return f"{library}.{name}"
            return name if name in self._found and self.library_of(name) is None else None
        if name in self._ambiguous:
            return self._ambiguous[name][0]
        return name if name in self._found else None

    def library_of(self, key: str) -> str | None:
        """The built-in library of the block found under ``key`` (None: the model's, a file's)."""
        found = self._found[key]
        return found.library if isinstance(found, BlockSpec) else library_name(found)

    def ambiguous(self, name: str) -> tuple[str, ...]:
        """The qualified names of a name that several built-in libraries define (or none)."""
        return self._ambiguous.get(name, ())

    def names(self) -> list[str]:
        """Every name a ``type`` may use, the ambiguous ones too (for "did you mean")."""
        return [*self._found, *self._ambiguous]

    def __getitem__(self, name: str) -> BlockSpec:
        found = self._found[name]
        if isinstance(found, str):
            top = _library_top(parse(read_text(found, read_path(found)), found))
            for block in _blocks_of(top, library_name(found)):
                for key in (block.name, block.qualified):
                    if self._found.get(key) == found:
                        self._found[key] = block
            found = self._found[name]
            assert not isinstance(found, str), f"{name} is not in {found} (library_index)"
        return found

    def get(self, name: str, default: BlockSpec | None = None) -> BlockSpec | None:  # type: ignore[override]
        """A block, without Mapping.get's KeyError for each name that is a layer type."""
        return self[name] if name in self._found else default

    def __contains__(self, name: object) -> bool:
        return name in self._found

    def __iter__(self) -> Iterator[str]:
        return iter(self._found)

    def __len__(self) -> int:
        return len(self._found)


def library_name(path: str) -> str | None:
    """The built-in library a file belongs to: ``library/torchvision.yaml`` and the files
    under ``library/torchvision/`` are ``torchvision``'s; None for a file outside it."""
    if not path.startswith(_LIBRARY_PREFIX):  # a string test: a Path costs microseconds
        return None
    return path[len(_LIBRARY_PREFIX) :].partition(os.sep)[0].removesuffix(".yaml")


def library_index(path: str) -> tuple[str, ...] | None:
    """The names of the blocks that a file of rfcalc's own library defines, in order, read from
    its lines without parsing it: the keys two spaces in under ``blocks:``, its one top-level
    key. None when the file is not in that shape, or not in the library's folder: it is then
    parsed when included. (tests/test_bundled.py checks the names against each file's parse.)"""
    if not Path(path).is_relative_to(LIBRARY_DIR):
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, ValueError):
        return None
    names: list[str] = []
    top = [line for line in lines if line[:1] not in ("", " ", "#")]
    if top != ["blocks:"]:
        return None
    for line in lines:
        if line.startswith("  ") and line[2:3] not in (" ", "#"):
            match = _INDEXED.fullmatch(line)
            if match is None:
                return None
            names.append(match[1])
    return tuple(names)


_INDEXED = re.compile(r"  ([A-Za-z_][A-Za-z0-9_]*):[ ]*(?:#.*)?")


def _library_top(root: YNode) -> YMap:
    """A block library file's top-level mapping, its keys checked."""
    top = _mapping(root, "a block library")
    for key, _ in top.items:
        if key.value not in LIBRARY_KEYS:
            raise _unknown_key(key, LIBRARY_KEYS, "block library")
    return top


def _blocks_of(top: YMap, library: str | None = None) -> Iterator[BlockSpec]:
    blocks = top.get("blocks")
    if blocks is not None:
        for k, v in _mapping(blocks, "'blocks'").items:
            yield _block(k, v, library)


class _Library:
    """The blocks a model can use: its own, and those of the files it includes (each file
    once, however often it is included; a cycle, or a block defined twice, is an error, but
    for a name two built-in libraries define: it is then written qualified)."""

    def __init__(self) -> None:
        self.blocks = Blocks()
        self.loaded: set[str] = set()
        # the libraries' variables: defaults that a model's own 'vars' (and --set) override
        self.vars: list[ArgSpec] = []

    def add(self, block: BlockSpec) -> None:
        first = self.blocks.clash(block.name, block.library)
        if first is not None:
            raise InputError(
                f"block '{block.name}' is defined twice (first at {self.blocks[first].pos})",
                block.pos,
                "rename one of them",
            )
        self.blocks.define(block.name, block, block.library)

    def include(self, node: YNode | None, including: str, stack: tuple[str, ...]) -> None:
        if node is None:
            return
        items = node.items if isinstance(node, YSeq) else (node,)
        for item in items:
            entry = _string(item, "an include")
            target = self._resolve(entry, including, item.pos)
            if os.path.abspath(target) in map(os.path.abspath, stack):
                chain = " → ".join(os.path.basename(t) for t in (*stack, target))
                raise InputError(f"include '{entry}' includes itself ({chain})", item.pos)
            if target in self.loaded:
                continue
            if len(self.loaded) >= MAX_INCLUDES:
                raise InputError(f"more than {MAX_INCLUDES} files included", item.pos)
            self.loaded.add(target)
            names = library_index(target)
            library = library_name(target)
            if names is not None and all(self.blocks.clash(n, library) is None for n in names):
                for name in names:
                    self.blocks.define(name, target, library)  # parsed when one is used
                continue
            try:
                text = read_text(target, read_path(target))
            except InputError as error:
                raise InputError(f"include '{entry}': {error.message}", item.pos) from None
            top = _library_top(parse(text, target))
            self.include(top.get("include"), target, (*stack, target))
            found = top.get("vars")
            for k, v in _mapping(found, "'vars'").items if found is not None else ():
                self.vars.append(_arg(_name(k, "variable name"), k, v))
            for block in _blocks_of(top, library):
                self.add(block)

    @staticmethod
    def _resolve(entry: str, including: str, pos: SourcePos) -> str:
        """A built-in library's file, or a path relative to the including file."""
        if "://" in entry:
            raise InputError(f"include '{entry}': includes are files, never URLs", pos)
        if _BUILTIN_NAME.fullmatch(entry):
            target = LIBRARY_DIR / f"{entry}.yaml"
            try:
                found = target.is_file()
            except OSError:  # a name too long for the file system
                found = False
            if not found:
                raise InputError(
                    f"no built-in block library '{entry}'",
                    pos,
                    did_you_mean(entry, builtin_libraries())
                    or f"built in: {', '.join(builtin_libraries())}; a file's name ends in .yaml",
                )
            return str(target)
        folder = Path.cwd() if including.startswith("<") else Path(including).parent
        return os.path.normpath(folder / entry)


def load_bytes(data: bytes, path: str, scale: str | None = None) -> ModelSpec:
    return load_text(read_text(path, data), path, scale)


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


def load_path(path: str, scale: str | None = None) -> ModelSpec:
    """Read a model file ('-' for standard input), never more than the size limit plus one byte.

    A device, socket or folder named as MODEL is refused before it is opened (opening some
    devices has effects; reading /dev/zero never ends); a FIFO is read like a file."""
    import io
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
        return load_bytes(data, "<stdin>", scale)
    if scale is None and not os.path.lexists(path):
        from rfcalc.ultralytics import scaled_path

        found = scaled_path(path)  # yolov8n.yaml: yolov8.yaml at scale n, as Ultralytics reads it
        if found is not None:
            return load_bytes(read_path(found[0]), found[0], found[1])
    return load_bytes(read_path(path), path, scale)


def read_path(path: str) -> bytes:
    """A file's bytes, never more than the size limit plus one; a device, socket or folder is
    refused before it is opened (opening some devices has effects)."""
    if not path:
        raise InputError("a model's path is empty")
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
    return data
