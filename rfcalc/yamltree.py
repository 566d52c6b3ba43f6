"""Safe YAML → a small immutable tree in which every node knows its 1-based position.

Built from the parser's event stream (no Python object construction, so no code can run), with
an explicit stack: no recursion, so no nesting can overflow a C or Python stack. Bounds: file
size, nesting depth (checked on every event, as the parser reaches it), and alias expansion (a
"billion laughs" document fails at once: an alias re-uses the already converted, immutable
subtree and is charged its size).

Plain scalars follow one rule, YAML 1.2's core schema, wherever rfcalc reads YAML (model files
and ``--set``): ``010`` is ten, ``0o10`` eight, ``0x10`` sixteen, ``1:30`` and ``yes`` are
strings; ``_`` may separate the digits of a decimal integer, as in Python (``20_000_000``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple, Protocol

import yaml

from rfcalc.errors import InputError, SourcePos, what

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000
MAX_DIGITS = 100  # longer integers are errors (Python refuses 4,300 digits; nothing needs 100)

_TAG_PREFIX = "tag:yaml.org,2002:"
_COLLECTION_TAGS = (None, "!", _TAG_PREFIX + "seq", _TAG_PREFIX + "map")
# libyaml's C parser when PyYAML was built with it (about 10× faster), else pure Python.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YScalar(NamedTuple):
    """A scalar and where it is written. Its position is kept in its own fields, and made a
    :class:`SourcePos` when asked (``pos``): a model of many layers keeps three or four
    scalars a line, and a position object for each took a tenth of its memory."""

    value: object  # int, float, str, bool or None
    path: str
    line: int
    col: int

    @property
    def pos(self) -> SourcePos:
        return SourcePos(self.path, self.line, self.col)


def scalar(value: object, pos: SourcePos) -> YScalar:
    """A scalar written at ``pos``."""
    return YScalar(value, pos.path, pos.line, pos.col)


class YSeq(NamedTuple):
    items: tuple[YNode, ...]
    pos: SourcePos


class YMap(NamedTuple):
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

# a tuple made directly: a NamedTuple's own __new__ is a Python function, and a model of many
# layers makes a YScalar for each of its scalars (8% of reading a long chain);
# _new(YScalar, (value, path, line, col)) gives every field, in order
_new = tuple.__new__
assert YScalar._fields == ("value", "path", "line", "col")
assert SourcePos._fields == ("path", "line", "col")


def what_node(node: YNode) -> str:
    """How an error message names a YAML node (see :func:`rfcalc.errors.what`)."""
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    return what(node.value)


# ---------------------------------------------------------------- scalars (YAML 1.2 core)

_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_DECIMAL = re.compile(r"[-+]?[0-9]+(?:_[0-9]+)*")
_PREFIXED = re.compile(r"([-+]?)0(?:([oO])([0-7]+)|([xX])([0-9a-fA-F]+))")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_FLOATS = {
    ".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
    "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
    "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
}  # fmt: skip
_NANS = frozenset((".nan", ".NaN", ".NAN"))
_NOT_A_NUMBER = object()


def _integer(text: str, pos: SourcePos) -> object:
    """The int a YAML 1.2 integer denotes, or _NOT_A_NUMBER."""
    if _DECIMAL.fullmatch(text):
        if len(text) > MAX_DIGITS:
            raise InputError(f"an integer of {len(text):,} digits is too large", pos)
        return int(text.replace("_", ""))
    m = _PREFIXED.fullmatch(text)
    if m:
        digits = m.group(3) or m.group(5)
        if len(digits) > MAX_DIGITS:
            raise InputError(f"an integer of {len(digits):,} digits is too large", pos)
        value = int(digits, 8 if m.group(2) else 16)
        return -value if m.group(1) == "-" else value
    return _NOT_A_NUMBER


def _float(text: str, pos: SourcePos) -> object:
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    if text in _NANS:
        raise InputError("'.nan' is not a number rfcalc can use", pos)
    if _FLOAT.fullmatch(text):
        return float(text)
    return _NOT_A_NUMBER


def plain_scalar(text: str, pos: SourcePos) -> object:
    """An untagged plain scalar's value under YAML 1.2's core schema."""
    if text in _NULLS:
        return None
    first = text[0]
    if first in "0123456789-+.":
        value = _integer(text, pos)
        if value is _NOT_A_NUMBER:
            value = _float(text, pos)
        if value is not _NOT_A_NUMBER:
            return value
    elif first in "tTfF" and text in _BOOLS:
        return _BOOLS[text]
    return text


def _tagged_scalar(text: str, tag: str, pos: SourcePos) -> object:
    """A scalar with an explicit tag: !!str, !!int, !!float, !!bool or !!null."""
    kind = tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else None
    if kind == "str":
        return text
    value: object = _NOT_A_NUMBER
    if kind == "int":
        value = _integer(text.strip(), pos)
    elif kind == "float":
        value = _integer(text.strip(), pos)
        value = _float(text.strip(), pos) if value is _NOT_A_NUMBER else float(value)  # type: ignore[arg-type]
    elif kind == "bool":
        value = _BOOLS.get(text.strip(), _NOT_A_NUMBER)
    elif kind == "null":
        value = None if text.strip() in _NULLS else _NOT_A_NUMBER
    else:
        raise InputError(f"YAML tag '{_short_tag(tag)}' is not allowed", pos)
    if value is _NOT_A_NUMBER:
        raise InputError(f"'{text}' is not a valid {_short_tag(tag)}", pos)
    return value


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else tag


def _lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text`` (no UTF-8 file holds one: an escape or the command
    line puts it there), or None. UTF-8's encoder refuses exactly these, at C speed."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return text[exc.start]
    return None


def _string(text: str, pos: SourcePos) -> str:
    surrogate = _lone_surrogate(text)
    if surrogate is not None:
        raise InputError(
            f"a string holds a lone surrogate (\\u{ord(surrogate):04x}), which is not text", pos
        )
    return text


# ---------------------------------------------------------------- the tree


class _Mark(Protocol):
    line: int
    column: int


def _mark_pos(path: str, mark: _Mark | None) -> SourcePos:
    return SourcePos(path, mark.line + 1, mark.column + 1) if mark else SourcePos(path)


class _Frame:
    """A sequence or mapping being built."""

    __slots__ = ("anchor", "is_map", "items", "key", "pos", "seen", "size")

    def __init__(self, is_map: bool, pos: SourcePos, anchor: str | None) -> None:
        self.is_map = is_map
        self.pos = pos
        self.anchor = anchor
        self.items: list[object] = []  # YNode items, or for a mapping (key, value) pairs
        self.size = 1
        self.key: YScalar | None = None  # a mapping's key awaiting its value
        self.seen: dict[object, YScalar] | None = {} if is_map else None  # keys


class _Builder:
    """A model of many layers is many alike lines: the nodes of a line share its number,
    equal strings (keys, type names) are one str object, and a plain scalar's text is read
    once."""

    def __init__(self, path: str, layer: Callable[[YNode], None] | None = None):
        self.path = path
        self.layer = layer  # given each item of the top-level 'layers' list (see parse)
        self.anchors: dict[str, tuple[YNode, int]] = {}
        self.alias_nodes = 0
        self.line = (-1, 0)  # the last position's 0-based line and its 1-based number
        self.strings: dict[str, str] = {}
        self.plain: dict[str, object] = {}  # plain_scalar's value of each text met

    def pos(self, event: yaml.Event) -> SourcePos:
        mark = event.start_mark
        if mark is None:
            return SourcePos(self.path)
        if mark.line != self.line[0]:
            self.line = (mark.line, mark.line + 1)
        return _new(SourcePos, (self.path, self.line[1], mark.column + 1))

    def scalar(self, event: yaml.ScalarEvent) -> YScalar:
        mark = event.start_mark
        if mark is None:
            line, col = 1, 1
        else:
            if mark.line != self.line[0]:
                self.line = (mark.line, mark.line + 1)
            line, col = self.line[1], mark.column + 1
        tag, text = event.tag, event.value
        if tag is None and event.implicit[0]:
            value = self.plain.get(text, _NOT_A_NUMBER)
            if value is _NOT_A_NUMBER:
                value = self.plain[text] = plain_scalar(text, SourcePos(self.path, line, col))
        elif tag is None or tag == "!":
            value = text
        else:
            value = _tagged_scalar(text, tag, SourcePos(self.path, line, col))
        if type(value) is str:
            if event.style == '"':  # only escapes make a lone surrogate: parse() checked the text
                _string(value, SourcePos(self.path, line, col))
            value = self.strings.setdefault(value, value)
        return _new(YScalar, (value, self.path, line, col))

    def alias(self, event: yaml.AliasEvent) -> tuple[YNode, int]:
        pos = self.pos(event)
        if event.anchor not in self.anchors:
            raise InputError(f"alias '*{event.anchor}' names no earlier anchor", pos)
        node, size = self.anchors[event.anchor]
        self.alias_nodes += size
        if self.alias_nodes > MAX_ALIAS_NODES:
            raise InputError(f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes", pos)
        return node, size

    def build(self, events: yaml.SafeLoader) -> YNode | None:
        stack: list[_Frame] = []
        root: YNode | None = None
        streamed: _Frame | None = None  # the top-level 'layers' list, when given to self.layer
        documents = 0
        get_event, scalar, layer = events.get_event, self.scalar, self.layer
        # PyYAML's own event classes, never subclassed
        scalar_event, mapping_start = yaml.ScalarEvent, yaml.MappingStartEvent
        collection_end = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
        while True:
            event = get_event()  # type: ignore[no-untyped-call]  # PyYAML's stubs
            if event is None:  # after the stream's end
                break
            kind = type(event)
            node: YNode
            if kind is scalar_event:
                node, size = scalar(event), 1
                if event.anchor is not None:
                    self.anchors[event.anchor] = (node, size)
            elif kind is mapping_start or kind is yaml.SequenceStartEvent:
                pos = self.pos(event)
                if stack and stack[-1].is_map and stack[-1].key is None:
                    raise InputError("mapping keys must be plain names", pos)
                if len(stack) > MAX_DEPTH:
                    raise InputError(f"nesting deeper than {MAX_DEPTH} levels", pos)
                if event.tag not in _COLLECTION_TAGS:
                    raise InputError(f"YAML tag '{_short_tag(event.tag)}' is not allowed", pos)
                frame = _Frame(kind is mapping_start, pos, event.anchor)
                if (
                    layer is not None
                    and len(stack) == 1
                    and stack[0].key is not None
                    and stack[0].key.value == "layers"
                    and kind is not mapping_start
                    and event.anchor is None  # an alias of the list would need its items
                ):
                    streamed = frame
                stack.append(frame)
                continue
            elif kind in collection_end:
                frame = stack.pop()
                if frame.is_map:
                    node = YMap(tuple(frame.items), frame.pos)  # type: ignore[arg-type]
                else:
                    node = YSeq(tuple(frame.items), frame.pos)  # type: ignore[arg-type]
                size = frame.size
                if frame.anchor is not None:
                    self.anchors[frame.anchor] = (node, size)
            elif kind is yaml.AliasEvent:
                node, size = self.alias(event)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise InputError(
                        "a model file holds one YAML document; this is a second",
                        self.pos(event),
                        "remove the '---' line, or split the file",
                    )
                continue
            else:  # stream start/end, document end
                continue
            if not stack:
                root = node
                continue
            frame = stack[-1]
            frame.size += size
            if frame is streamed and layer is not None:  # (streamed is set only with a layer)
                layer(node)
            elif not frame.is_map:
                frame.items.append(node)
            elif frame.key is not None:
                frame.items.append((frame.key, node))
                frame.key = None
            else:
                self._key(frame, node, event)
        return root

    @staticmethod
    def _key(frame: _Frame, node: YNode, event: yaml.Event) -> None:
        """A mapping's next key: a plain name, not a merge key, not seen before."""
        if not isinstance(node, YScalar):
            raise InputError("mapping keys must be plain names", node.pos)
        if (
            node.value == "<<"
            and isinstance(event, yaml.ScalarEvent)
            and event.tag is None
            and event.implicit[0]
        ):
            raise InputError(
                "YAML merge keys ('<<') are not supported; repeat the keys, or use a block",
                node.pos,
            )
        assert frame.seen is not None
        first = frame.seen.get(node.value)
        if first is not None:
            raise InputError(f"duplicate key '{node.value}' (first at line {first.line})", node.pos)
        frame.seen[node.value] = node
        frame.key = node


_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)


def read_text(path: str, data: bytes) -> str:
    """Decode a model file's bytes (UTF-8, or UTF-16/32 with a byte-order mark), rejecting
    what cannot be a YAML text."""
    where = SourcePos(path)
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", where)
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), None)
    if encoding is not None:
        try:
            text = data[4 if "32" in encoding else 2 :].decode(encoding)
        except UnicodeDecodeError as exc:
            message = f"file is not valid {encoding.upper()} (byte {exc.start})"
            raise InputError(message, where) from None
    else:
        if b"\x00" in data:
            raise InputError("file is binary (contains a NUL byte), not YAML", where)
        try:
            text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")  # as utf-8-sig reads
        except UnicodeDecodeError as exc:
            raise InputError(f"file is not valid UTF-8 (byte {exc.start})", where) from None
    if "\x00" in text:
        raise InputError("file is binary (contains a NUL character), not YAML", where)
    if not text.strip():
        raise InputError("file is empty", where)
    return text


def _problem(exc: yaml.MarkedYAMLError, text: str) -> str:
    problem = exc.problem or exc.context or "invalid YAML"
    mark = exc.problem_mark
    if mark is not None and "\t" in problem + text[mark.index : mark.index + 1]:
        lines = text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        if "\t" in line[: len(line) - len(line.lstrip(" \t"))]:
            return "tabs are not allowed for indentation; indent with spaces"
    return problem


def parse(text: str, path: str, layer: Callable[[YNode], None] | None = None) -> YNode:
    """Parse one YAML document into a located tree.

    With ``layer``, each item of the top-level mapping's ``layers`` list is handed to it as
    soon as it is read, and not kept: that list is left empty in the tree. A model of many
    layers then never holds the tree of all of them at once. (A list with an anchor is kept
    whole, as an alias of it needs its items.)"""
    if _lone_surrogate(text) is not None:  # only text from the command line
        raise InputError("not valid UTF-8 text", SourcePos(path))
    events = _LOADER(text)
    try:
        node = _Builder(path, layer).build(events)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(f"invalid YAML: {_problem(exc, text)}", _mark_pos(path, mark)) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", SourcePos(path)) from None
    finally:
        events.dispose()
    if node is None:
        raise InputError("file is empty", SourcePos(path))
    return node
