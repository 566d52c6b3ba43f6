"""``describe --format json`` (docs/json.md): exact integers, fractions as JSON numbers."""

from __future__ import annotations

import json
import re
from fractions import Fraction

from rfcalc import __version__
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


def report_dict(report: Report) -> dict[str, object]:
    t = report.totals
    return {
        "schema_version": SCHEMA_VERSION,
        "rfcalc_version": __version__,
        "model": {"name": report.name, "source": report.source},
        "input": {"shape": list(report.input_shape), "batch": report.batch, "dtype": report.dtype},
        "layers": [layer_dict(r) for r in report.layers],
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
        "macs_convention": "torchvision/fvcore: multiply-accumulates per sample, bias excluded",
        "causal": list(report.causal),
        "warnings": [
            {"layer": w.layer, "code": w.code, "message": w.message} for w in report.warnings
        ],
    }


# json escapes C0 controls itself; these would reach a terminal raw (DEL, C1, bidi overrides)
_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


_CONSTANTS = {None: "null", True: "true", False: "false"}


def _scalar(value: object) -> str | None:
    """The text of a scalar, or None for a container (one call, no recursion)."""
    t = type(value)
    if t is int:
        return int.__repr__(value)
    if t is str:
        return _string(value)  # type: ignore[arg-type]
    if value is None or t is bool:
        return _CONSTANTS[value]  # type: ignore[index]
    if t is float:
        return json.dumps(value)
    if isinstance(value, (dict, list, tuple)):
        return None
    if isinstance(value, int):  # an int subclass
        return int.__repr__(value)
    raise TypeError(f"not JSON: {t.__name__}")


def _encode(value: object, indent: str, out: list[str]) -> None:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, byte for byte, for the values a
    report holds (dicts with str keys, lists, tuples, str, int, float, bool, None). The
    standard library falls back to its pure-Python encoder whenever it indents, and that was
    a third of the time of a large model's ``--format json``; here scalars inside a container
    are written without a call of their own."""
    text = _scalar(value)
    if text is not None:
        out.append(text)
        return
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        opening = "{\n"
        for key, item in value.items():
            head = opening + inner + _string(key) + ": "
            opening = ",\n"
            text = _scalar(item)
            if text is None:
                out.append(head)
                _encode(item, inner, out)
            else:
                out.append(head + text)
        out.append("\n" + indent + "}")
        return
    assert isinstance(value, (list, tuple))
    if not value:
        out.append("[]")
        return
    texts = [_scalar(v) for v in value]
    if None not in texts:  # shapes, sizes, names: one join
        out.append("[\n" + inner + (",\n" + inner).join(texts) + "\n" + indent + "]")  # type: ignore[arg-type]
        return
    opening = "[\n"
    for item, text in zip(value, texts, strict=True):
        if text is None:
            out.append(opening + inner)
            _encode(item, inner, out)
        else:
            out.append(opening + inner + text)
        opening = ",\n"
    out.append("\n" + indent + "]")


_string = json.encoder.encode_basestring  # the C encoder where there is one


def dumps(doc: object) -> str:
    """Every JSON document rfcalc prints: indented, UTF-8, and inert on a terminal."""
    out: list[str] = []
    _encode(doc, "", out)
    out.append("\n")
    text = "".join(out)
    if _UNSAFE.search(text):
        text = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def render(report: Report, view: View = PLAIN) -> str:
    """The whole report; ``view`` changes nothing (the ``blocks`` key is --depth's data)."""
    return dumps(report_dict(report))
