"""``describe --format json`` (docs/json.md): exact integers, fractions as JSON numbers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

from rfcalc import __version__, counting
from rfcalc.engine import LayerRow, Report
from rfcalc.render import PLAIN, View
from rfcalc.render.blocks import block_dicts

SCHEMA_VERSION = 1


def _number(value: Fraction | None) -> int | float | None:
    if value is None:
        return None
    return value.numerator if value.denominator == 1 else float(value)


def layer_dict(r: LayerRow) -> dict[str, object]:
    return {
        "index": r.index,
        "name": r.name,
        "type": r.type,
        "inputs": list(r.inputs),
        "output_shape": list(r.output_shape),
        "params": r.params,
        "trainable_params": r.trainable_params,
        "buffers": r.buffers,
        "macs": r.macs,
        "output_bytes": r.output_bytes,
        "rf": {
            "size": list(r.rf.size),
            "stride": [_number(s) for s in r.rf.stride],
            "padding": list(r.rf.padding),
            "uniform": r.rf.uniform,
            "global": r.rf.is_global,
            "covers_input": r.rf.covers_input,
            "global_context": r.rf.global_context,
        },
    }


def report_dict(report: Report, lazy: bool = False) -> dict[str, object]:
    """The document. ``lazy``: its layers are made one by one as they are written (an
    iterator, for the writer), else a list."""
    layers = map(layer_dict, report.layers)
    t = report.totals
    return {
        "schema_version": SCHEMA_VERSION,
        "rfcalc_version": __version__,
        "model": {"name": report.name, "source": report.source},
        "input": {"shape": list(report.input_shape), "batch": report.batch, "dtype": report.dtype},
        "layers": layers if lazy else list(layers),
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
_UNSAFE = "[\x7f-\x9f\u202a-\u202e\u2066-\u2069]"  # compiled on first use (re caches it)

_string = json.encoder.encode_basestring  # the C encoder where there is one
_CONSTANTS = {None: "null", True: "true", False: "false"}
_TEXT: dict[type, Callable[[Any], str]] = {
    int: int.__repr__,
    str: _string,
    bool: _CONSTANTS.__getitem__,
    type(None): _CONSTANTS.__getitem__,
    float: json.dumps,  # as json writes it, inf and nan included
}
_CONTAINERS = (dict, list, tuple)
FLUSH = 1 << 12  # parts gathered before they go to the sink as one string


def _scalar(value: object) -> str | None:
    """The text of a scalar, or None for a container."""
    text = _TEXT.get(type(value))
    if text is not None:
        return text(value)
    if isinstance(value, _CONTAINERS):
        return None
    if isinstance(value, int):  # an int subclass
        return int.__repr__(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


class _Writer:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, byte for byte, for the values a
    report holds (dicts with str keys, lists, tuples, iterators of items, str, int, float,
    bool, None). The standard library falls back to its pure-Python encoder whenever it
    indents; here a scalar inside a container costs one lookup of its type's text, a key's
    text is made once, and the text goes to ``sink`` in pieces of about FLUSH parts, so that
    a document of 100,000 layers is never one list of millions of strings."""

    def __init__(self, sink: Callable[[str], object]) -> None:
        self.sink = sink
        self.parts: list[str] = []
        self.keys: dict[str, str] = {}

    def flush(self) -> None:
        self.sink("".join(self.parts))
        self.parts.clear()

    def encode(self, value: object, indent: str) -> None:
        parts, text_of = self.parts, _TEXT
        inner = indent + "  "
        if isinstance(value, dict):
            if not value:
                parts.append("{}")
                return
            keys = self.keys
            opening = "{\n" + inner
            for key, item in value.items():
                head = keys.get(key)
                if head is None:
                    head = keys[key] = _string(key) + ": "
                text = text_of.get(type(item))
                if text is not None:
                    parts.append(opening + head + text(item))
                else:
                    parts.append(opening + head)
                    self.encode(item, inner)
                opening = ",\n" + inner
            parts.append("\n" + indent + "}")
            return
        if isinstance(value, (list, tuple)):
            texts = [_scalar(v) for v in value]
            if not texts:
                parts.append("[]")
            elif None not in texts:  # shapes, sizes, names: one join
                parts.append("[\n" + inner + (",\n" + inner).join(texts) + "\n" + indent + "]")  # type: ignore[arg-type]
            else:
                self._items(zip(value, texts, strict=True), indent)
            return
        if not isinstance(value, str) and hasattr(value, "__next__"):  # an iterator of items
            self._items(((v, _scalar(v)) for v in value), indent)  # type: ignore[attr-defined]
            return
        parts.append(_scalar(value))  # type: ignore[arg-type]

    def _items(self, items: Iterator[tuple[object, str | None]], indent: str) -> None:
        parts = self.parts
        inner = indent + "  "
        opening = "[\n" + inner
        for item, text in items:
            if text is None:
                parts.append(opening)
                self.encode(item, inner)
                if len(parts) > FLUSH:
                    self.flush()
            else:
                parts.append(opening + text)
            opening = ",\n" + inner
        parts.append("[]" if opening == "[\n" + inner else "\n" + indent + "]")


def write(doc: object, sink: Callable[[str], object]) -> None:
    """Every JSON document rfcalc prints, given to ``sink`` in pieces: indented, UTF-8, and
    inert on a terminal."""

    def safe(text: str) -> object:
        if (not text.isascii() or "\x7f" in text) and re.search(_UNSAFE, text):
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
