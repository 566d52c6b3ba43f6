"""``describe --format json`` (docs/json.md): exact integers, fractions as JSON numbers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rfcalc import __version__, counting
from rfcalc.engine import LayerRow, Report
from rfcalc.errors import may_hold_controls
from rfcalc.render import PLAIN, View
from rfcalc.render.blocks import block_dicts

if TYPE_CHECKING:
    from rfcalc.rf import Ratio

SCHEMA_VERSION = 1


def layer_dict(r: LayerRow) -> dict[str, object]:
    """A layer's JSON object as Python values (the API's records, diff's final field): what
    :func:`layer_text` writes, read back."""
    import json

    value: dict[str, object] = json.loads(layer_text(r, "", {}))
    return value


_BOOL = ("false", "true")


def _stride(value: Ratio | None) -> int | str:
    """A stride as layer_text's %s writes it: an int itself (most strides), a whole fraction
    as its int, any other as a float, None (a global axis) as null."""
    if type(value) is int:
        return value
    if value is None:
        return "null"
    if value.denominator == 1:
        return int(value.numerator)
    return _float(float(value))


def _container(brackets: str, items: list[str], indent: str) -> str:
    """A list's or an object's text (or %-form) from its items' texts, as ``json.dumps(indent=2)``
    lays it out with its closing bracket at ``indent``: an item a line, two spaces further
    in; empty, its brackets alone."""
    if not items:
        return brackets
    inner = indent + "  "
    return brackets[0] + "\n" + inner + (",\n" + inner).join(items) + "\n" + indent + brackets[1]


def _list_form(n: int, indent: str) -> str:
    """The form of a list of ``n`` items whose closing bracket is at ``indent``."""
    return _container("[]", ["%s"] * n, indent)


def _layer_form(key: tuple[str, int, int, int]) -> str:
    """The %-form of a layer whose braces are at the indent ``key[0]``, with ``key[1]``
    inputs, ``key[2]`` output dims and ``key[3]`` spatial axes: its keys, in order, as
    docs/json.md lists them, and a slot for each value."""
    indent, n_inputs, n_dims, rank = key
    inner = indent + "  "
    deeper = inner + "  "
    rf = [
        '"size": ' + _list_form(rank, deeper),
        '"stride": ' + _list_form(rank, deeper),
        '"padding": ' + _list_form(rank, deeper),
        '"uniform": %s',
        '"global": %s',
        '"covers_input": %s',
        '"global_context": %s',
    ]
    keys = [
        '"index": %s',
        '"name": %s',
        '"type": %s',
        '"inputs": ' + _list_form(n_inputs, inner),
        '"output_shape": ' + _list_form(n_dims, inner),
        '"params": %s',
        '"trainable_params": %s',
        '"buffers": %s',
        '"macs": %s',
        '"output_bytes": %s',
        '"rf": ' + _container("{}", rf, inner),
    ]
    return _container("{}", keys, indent)


def layer_text(r: LayerRow, indent: str, forms: dict[tuple[str, int, int, int], str]) -> str:
    """A layer's JSON object, as ``json.dumps(indent=2, ensure_ascii=False)`` writes it at
    ``indent``: the one statement of what a layer's keys hold. ``forms``: the forms made so
    far (a model's layers share a few: one per count of inputs and output dims)."""
    # every field at once (LayerRow and RF assert their order in rfcalc.engine)
    index, name, kind, inputs, shape, params, trainable, buffers, macs, nbytes, rf, _, _, _ = r
    size, stride, padding, uniform, is_global, covers, context = rf
    key = (indent, len(inputs), len(shape), len(size))
    form = forms.get(key)
    if form is None:
        form = forms[key] = _layer_form(key)
    # ints are written as %s writes them (int.__str__, which json.dumps uses too)
    return form % (
        index,
        _string(name),
        _string(kind),
        *map(_string, inputs),
        *shape,
        params,
        trainable,
        buffers,
        macs,
        nbytes,
        *size,
        *map(_stride, stride),
        *padding,
        _BOOL[uniform],
        _BOOL[is_global],
        _BOOL[covers],
        _BOOL[context],
    )


def report_dict(report: Report, lazy: bool = False) -> dict[str, object]:
    """The document. ``lazy``: for the writer, which writes each layer's row as
    :func:`layer_text` does (an iterator of them), else a list of :func:`layer_dict`."""
    t = report.totals
    return {
        "schema_version": SCHEMA_VERSION,
        "rfcalc_version": __version__,
        "model": {"name": report.name, "source": report.source},
        "input": {"shape": list(report.input_shape), "batch": report.batch, "dtype": report.dtype},
        "layers": iter(report.layers) if lazy else list(map(layer_dict, report.layers)),
        "blocks": block_dicts(report),
        "output_shape": list(report.output_shape),
        "totals": {
            "params": t.params,
            "trainable_params": t.trainable_params,
            "non_trainable_params": t.non_trainable_params,
            "buffers": t.buffers,
            "macs": t.macs,
            "flops": t.flops,
            "input_bytes": t.input_bytes,
            "param_bytes": t.param_bytes,
            "activation_bytes": t.activation_bytes,
        },
        "macs_convention": counting.describe(report.convention),
        "count": report.convention,
        "macs_by_convention": dict(report.macs_by_convention),
        "causal": list(report.causal),
        "warnings": [
            {"layer": w.layer, "code": w.code, "message": w.message} for w in report.warnings
        ],
    }


# json escapes C0 controls itself; these would reach a terminal raw (DEL, C1, bidi overrides)
# or could not be written at all (a lone surrogate: a path's byte that is not UTF-8)
_UNSAFE = "[\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"  # compiled on first use

# json.encoder's string encoder, without the json package (its decoder, its scanner's regexes)
try:
    from _json import encode_basestring as _string  # the C encoder, as json.encoder's
except ImportError:  # an interpreter without CPython's accelerator module
    from json.encoder import py_encode_basestring as _string
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _float(value: float) -> str:
    """A float as ``json.dumps`` writes it: its repr, and NaN, Infinity, -Infinity."""
    text = float.__repr__(value)
    return _NON_FINITE.get(text, text)


_CONSTANTS = {None: "null", True: "true", False: "false"}
_TEXT: dict[type, Callable[[Any], str]] = {
    int: repr,  # exactly int: an int subclass (IntEnum) is written by _scalar
    str: _string,
    bool: _CONSTANTS.__getitem__,
    type(None): _CONSTANTS.__getitem__,
    float: _float,
}
FLUSH = 1 << 12  # parts gathered before they go to the sink as one string


def _scalar(value: object) -> str:
    """The text of a scalar (an int subclass too)."""
    text = _TEXT.get(type(value))
    if text is not None:
        return text(value)
    if isinstance(value, int):
        return int.__repr__(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def _lazy(value: object) -> bool:
    """Is ``value`` an iterator, whose items are made as they are written?"""
    return not isinstance(value, str) and hasattr(value, "__next__")


class _Writer:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, byte for byte, for the values a
    report holds: dicts with str keys, lists, tuples, str, int, float, bool, None, a layer's
    row (its object, as :func:`layer_text` writes it) and iterators of items as the values of
    the document's dict (the standard library falls back to its pure-Python encoder whenever
    it indents, and needs the whole list at once).

    A value that holds no iterator (a layer) is made as one string, a layer with one %-format,
    each other container with one join, and each key's text is made once; an iterator's items
    go to ``sink`` in pieces of about FLUSH parts, so that a document of 100,000 layers is
    never one string."""

    def __init__(self, sink: Callable[[str], object]) -> None:
        self.sink = sink
        self.parts: list[str] = []
        self.heads: dict[str, str] = {}  # a key's text and ": "
        self.forms: dict[tuple[str, int, int, int], str] = {}  # layer_text's

    def flush(self) -> None:
        self.sink("".join(self.parts))
        self.parts.clear()

    def head(self, key: str) -> str:
        head = self.heads.get(key)
        if head is None:
            head = self.heads[key] = _string(key) + ": "
        return head

    def text(self, value: object, indent: str) -> str:
        """The text of a value that holds no iterator, its lines after the first indented by
        ``indent``."""
        scalar = _TEXT.get(type(value))
        if scalar is not None:
            return scalar(value)
        if type(value) is LayerRow:
            return layer_text(value, indent, self.forms)
        inner = indent + "  "
        items: list[str] = []
        if isinstance(value, dict):
            heads, text_of = self.heads, _TEXT
            for key, item in value.items():
                head = heads.get(key) or self.head(key)
                scalar = text_of.get(type(item))
                text = scalar(item) if scalar is not None else self.text(item, inner)
                items.append(head + text)
            return _container("{}", items, indent)
        if isinstance(value, list | tuple):
            kinds = set(map(type, value))  # one kind of scalar (a shape): its text at C speed
            scalar = _TEXT.get(kinds.pop()) if len(kinds) == 1 else None
            if scalar is not None:
                items = list(map(scalar, value))
            else:
                items = [self.text(item, inner) for item in value]
            return _container("[]", items, indent)
        return _scalar(value)

    def encode(self, value: object, indent: str) -> None:
        """Add ``value``'s text to the parts; a dict's iterators and an iterator's items are
        written item by item."""
        parts = self.parts
        if isinstance(value, dict) and value:
            items: Iterator[tuple[str, object]] = (
                (self.head(key), item) for key, item in value.items()
            )
            brackets = "{}"
        elif _lazy(value):
            items = (("", item) for item in value)  # type: ignore[attr-defined]
            brackets = "[]"
        else:
            parts.append(self.text(value, indent))
            return
        inner = indent + "  "
        opening = brackets[0] + "\n" + inner
        for head, item in items:
            if type(item) is not LayerRow and _lazy(item):  # a row, most items: never lazy
                parts.append(opening + head)
                self.encode(item, inner)
            else:
                parts.append(opening + head + self.text(item, inner))
                if len(parts) > FLUSH:
                    self.flush()
            opening = ",\n" + inner
        parts.append("\n" + indent + brackets[1] if opening[0] == "," else brackets)


def write(doc: object, sink: Callable[[str], object]) -> None:
    """Every JSON document rfcalc prints, given to ``sink`` in pieces: indented, UTF-8, and
    inert on a terminal as it is (the command line does not scan it again)."""

    def safe(text: str) -> object:
        # ASCII text (a flag Python keeps: no scan) can hold only DEL of them (memchr), other
        # text only what is not printable (the writer leaves no control raw but newlines)
        suspect = "\x7f" in text if text.isascii() else may_hold_controls(text, "\n")
        if suspect and re.search(_UNSAFE, text):
            text = re.sub(_UNSAFE, lambda m: f"\\u{ord(m.group()):04x}", text)
        return sink(text)

    writer = _Writer(safe)
    writer.encode(doc, "")
    writer.parts.append("\n")
    writer.flush()


def dumps(doc: object) -> str:
    """Every JSON document rfcalc prints, as one string."""
    pieces: list[str] = []
    write(doc, pieces.append)
    return "".join(pieces)


def render(report: Report, view: View = PLAIN) -> str:
    """The whole report; ``view`` changes nothing (the ``blocks`` key is --depth's data)."""
    return dumps(report_dict(report, lazy=True))


def stream(report: Report, view: View, sink: Callable[[str], object]) -> None:
    """:func:`render`'s text given to ``sink`` in pieces (for a large model's output)."""
    write(report_dict(report, lazy=True), sink)
