"""Safe YAML → a small immutable tree in which every node knows its 1-based position.

Built from ``yaml.compose`` (no object construction, so no code can run). Bounds: file size,
nesting depth, and alias expansion (a "billion laughs" document fails at once: an alias re-uses
the already converted, immutable subtree and is charged its size).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from rfcalc.errors import InputError, SourcePos

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000

_TAG_PREFIX = "tag:yaml.org,2002:"
_COLLECTION_TAGS = (_TAG_PREFIX + "seq", _TAG_PREFIX + "map")
# libyaml's C composer when PyYAML was built with it (about 10× faster), else pure Python.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class YScalar:
    value: object  # int, float, str, bool or None
    pos: SourcePos


@dataclass(frozen=True, slots=True)
class YSeq:
    items: tuple[YNode, ...]
    pos: SourcePos


@dataclass(frozen=True, slots=True)
class YMap:
    items: tuple[tuple[YScalar, YNode], ...]
    pos: SourcePos

    def keys(self) -> list[str]:
        return [str(k.value) for k, _ in self.items]

    def get(self, key: str) -> YNode | None:
        for k, v in self.items:
            if k.value == key:
                return v
        return None


YNode = YScalar | YSeq | YMap


def _pos(path: str, node: yaml.Node) -> SourcePos:
    mark = node.start_mark
    return SourcePos(path, mark.line + 1, mark.column + 1)


def describe(node: YNode) -> str:
    """A short phrase naming what a node is, for error messages."""
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    v = node.value
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"{str(v).lower()} (a boolean)"
    if isinstance(v, str):
        return f"'{v}' (a string)"
    if isinstance(v, float):
        return f"{v!r} (a float)"
    return repr(v)


class _Converter:
    def __init__(self, path: str):
        self.path = path
        self.done: dict[int, tuple[YNode, int]] = {}
        self.alias_nodes = 0
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used

    def convert(self, node: yaml.Node, depth: int) -> tuple[YNode, int]:
        """Return the converted node and its size (number of nodes)."""
        key = id(node)
        if key in self.done:
            converted, size = self.done[key]
            self.alias_nodes += size
            if self.alias_nodes > MAX_ALIAS_NODES:
                raise InputError(
                    f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes",
                    _pos(self.path, node),
                )
            return converted, size
        if depth > MAX_DEPTH:
            raise InputError(f"nesting deeper than {MAX_DEPTH} levels", _pos(self.path, node))
        pos = _pos(self.path, node)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            raise InputError(f"YAML tag '{node.tag}' is not allowed", pos)
        result: YNode
        size = 1
        if isinstance(node, yaml.ScalarNode):
            result = YScalar(self._scalar(node, pos), pos)
        elif isinstance(node, yaml.SequenceNode):
            items = []
            for child in node.value:
                item, n = self.convert(child, depth + 1)
                items.append(item)
                size += n
            result = YSeq(tuple(items), pos)
        elif isinstance(node, yaml.MappingNode):
            pairs: list[tuple[YScalar, YNode]] = []
            seen: dict[object, SourcePos] = {}
            for knode, vnode in node.value:
                if knode.tag == _TAG_PREFIX + "merge":
                    raise InputError(
                        "YAML merge keys ('<<') are not supported; repeat the keys, or use a block",
                        _pos(self.path, knode),
                    )
                kconv, _ = self.convert(knode, depth + 1)
                if not isinstance(kconv, YScalar):
                    raise InputError("mapping keys must be plain names", kconv.pos)
                if isinstance(kconv.value, (dict, list)):
                    raise InputError("mapping keys must be plain names", kconv.pos)
                hashable = kconv.value
                if hashable in seen:
                    first = seen[hashable]
                    raise InputError(
                        f"duplicate key '{kconv.value}' (first at line {first.line})", kconv.pos
                    )
                seen[hashable] = kconv.pos
                vconv, n = self.convert(vnode, depth + 1)
                pairs.append((kconv, vconv))
                size += n + 1
            result = YMap(tuple(pairs), pos)
        else:  # pragma: no cover - compose yields only the three kinds
            raise InputError("unsupported YAML node", pos)
        self.done[key] = (result, size)
        return result, size

    def _scalar(self, node: yaml.ScalarNode, pos: SourcePos) -> object:
        tag = node.tag
        if not tag.startswith(_TAG_PREFIX):
            raise InputError(f"YAML tag '{tag}' is not allowed", pos)
        kind = tag[len(_TAG_PREFIX) :]
        if kind == "str":
            return node.value
        if kind == "int" and node.value.isdigit():
            return int(node.value)  # the common case, without the generic constructor
        if kind in ("int", "float", "bool", "null"):
            value = self.constructor.construct_object(node, deep=False)
            if isinstance(value, float) and value != value:
                raise InputError("'.nan' is not a number rfcalc can use", pos)
            return value
        if kind in ("timestamp", "binary"):
            return node.value  # keep the text; callers will reject it where a number is needed
        raise InputError(f"YAML tag '{tag}' is not allowed", pos)


def read_text(path: str, data: bytes) -> str:
    """Decode a model file's bytes, rejecting what cannot be a YAML text."""
    where = SourcePos(path)
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", where)
    if b"\x00" in data:
        raise InputError("file is binary (contains a NUL byte), not YAML", where)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"file is not valid UTF-8 (byte {exc.start})", where) from None
    if not text.strip():
        raise InputError("file is empty", where)
    return text


_QUOTED_OR_COMMENT = re.compile(
    r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\n]|'')*'|(?:^|(?<=\s))#[^\n]*", re.M
)
_BRACKET = re.compile(r"[\[\]{}]")
_INDENT = re.compile(r"^[ \t-]*", re.M)


def _check_nesting(text: str, path: str) -> type[yaml.SafeLoader]:
    """Reject deep flow nesting before parsing (libyaml's composer recurses in C and would
    crash), and send deeply indented text to the pure-Python composer, which fails cleanly."""
    depth = 0
    stripped = _QUOTED_OR_COMMENT.sub("", text)
    for m in _BRACKET.finditer(stripped):
        depth = depth + 1 if m.group() in "[{" else max(depth - 1, 0)
        if depth > MAX_DEPTH:
            line = stripped.count("\n", 0, m.start()) + 1
            raise InputError(f"nesting deeper than {MAX_DEPTH} levels", SourcePos(path, line))
    widest = max((len(m.group()) for m in _INDENT.finditer(text)), default=0)
    return yaml.SafeLoader if widest > 4 * MAX_DEPTH else _LOADER


def parse(text: str, path: str) -> YNode:
    """Parse one YAML document into a located tree."""
    loader = _check_nesting(text, path)
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = SourcePos(path, mark.line + 1, mark.column + 1) if mark else SourcePos(path)
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"invalid YAML: {problem}", pos) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", SourcePos(path)) from None
    except RecursionError:
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels", SourcePos(path)) from None
    if node is None:
        raise InputError("file is empty", SourcePos(path))
    converted, _ = _Converter(path).convert(node, 0)
    return converted
