"""``rfcalc diff`` as text and JSON."""

from __future__ import annotations

from collections.abc import Callable

from rfcalc.diff import Diff, LayerChange
from rfcalc.engine import Report
from rfcalc.render.json_out import SCHEMA_VERSION, dumps, layer_dict
from rfcalc.render.rows import fraction, per_axis, shape, si, thousands

MAX_LISTED = 12


def _field(report: Report) -> str:
    """The final receptive field in words: '7 (stride 1)', '627 (global)'."""
    rf = report.final.rf
    size = per_axis(tuple(str(v) for v in rf.size))
    if rf.is_global:
        return f"{size} (global)"
    stride = per_axis(tuple(fraction(s) for s in rf.stride))
    context = ", with global context" if rf.global_context else ""
    return f"{size} (stride {stride}{context})"


def _rf_sentence(old: Report, new: Report) -> str:
    """The final receptive field as a sentence: the same in both, or how it changes."""
    a, b = old.final.rf, new.final.rf
    if not a.size and not b.size:
        return "Neither model has a spatial axis, so neither has a receptive field."
    if not a.size or not b.size:
        which, other = ("new", "old") if not b.size else ("old", "new")
        return (
            f"The {which} model has no spatial axis; the {other} model's final receptive "
            f"field is {_field(new if which == 'old' else old)}."
        )
    if _field(old) == _field(new):
        return f"The final receptive field is the same in both: {_field(old)}."
    pairs = list(zip(a.size, b.size, strict=False))
    if len(a.size) == len(b.size) and all(x <= y for x, y in pairs) and a.size != b.size:
        verb = "grows"
    elif len(a.size) == len(b.size) and all(x >= y for x, y in pairs) and a.size != b.size:
        verb = "shrinks"
    else:
        verb = "changes"
    return f"The final receptive field {verb} from {_field(old)} to {_field(new)}."


def _change(old: int, new: int, fmt: Callable[[int], str] = thousands) -> str:
    if old == new:
        return "="
    sign = "+" if new > old else "-"
    text = f"{sign}{fmt(abs(new - old))}"
    if old:
        text += f" ({(new - old) / old * 100:+.1f}%)"
    return text


def _listing(mark: str, group: tuple[LayerChange, ...]) -> list[str]:
    """Added or removed layers as aligned columns: name, type, output, params."""
    rows = []
    for c in group:
        r = c.new or c.old
        assert r is not None
        rows.append((r.name, r.type, shape(r.output_shape), f"{thousands(r.params)} params"))
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        f"  {mark} {row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}"
        f"  {row[3]:>{widths[3]}}"
        for row in rows
    ]


def _layer_line(c: LayerChange) -> str:
    assert c.old is not None
    assert c.new is not None
    parts = []
    for f in c.fields:
        a, b = getattr(c.old, f), getattr(c.new, f)
        if f == "output_shape":
            a, b = shape(a), shape(b)
        elif f in ("params", "macs"):
            a, b = thousands(a), thousands(b)
        parts.append(f"{f} {a} → {b}")
    return f"  ~ {c.name}  " + "; ".join(parts)


def _headers(old: Report, new: Report) -> tuple[list[str], str, str]:
    """The two columns' headers: the models' names when they differ, else 'old' and 'new'
    with their paths on lines above the table."""
    if old.name and new.name and old.name != new.name:
        return [], old.name, new.name
    return [f"old: {old.source}", f"new: {new.source}", ""], "old", "new"


def render_text(diff: Diff) -> str:
    old, new = diff.old, diff.new
    above, old_header, new_header = _headers(old, new)
    rows = [
        ("", old_header, new_header, "change"),
        (
            "Params",
            thousands(old.totals.params),
            thousands(new.totals.params),
            _change(old.totals.params, new.totals.params),
        ),
        (
            "MACs",
            si(old.totals.macs),
            si(new.totals.macs),
            _change(old.totals.macs, new.totals.macs, si),
        ),
        (
            "Buffers",
            thousands(old.totals.buffers),
            thousands(new.totals.buffers),
            _change(old.totals.buffers, new.totals.buffers),
        ),
        (
            "Layers",
            str(len(old.layers)),
            str(len(new.layers)),
            _change(len(old.layers), len(new.layers)),
        ),
        (
            "Output",
            shape(old.output_shape),
            shape(new.output_shape),
            "=" if old.output_shape == new.output_shape else "changed",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = above + [
        "  ".join(
            (v.ljust(w) if i == 0 else v.rjust(w))
            for i, (v, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    ]
    lines += ["", _rf_sentence(old, new)]
    lines.append(
        f"Layers by name: {len(diff.added)} added, {len(diff.removed)} removed, "
        f"{len(diff.changed)} changed"
    )
    for mark, group in (("+", diff.added), ("-", diff.removed), ("~", diff.changed)):
        shown = group[:MAX_LISTED]
        lines += [_layer_line(c) for c in shown] if mark == "~" else _listing(mark, shown)
        if len(group) > MAX_LISTED:
            lines.append(f"  {mark} … and {len(group) - MAX_LISTED} more (--format json lists all)")
    return "\n".join(lines) + "\n"


def _summary(report: Report) -> dict[str, object]:
    rf = report.final.rf
    return {
        "name": report.name,
        "source": report.source,
        "params": report.totals.params,
        "trainable_params": report.totals.trainable_params,
        "buffers": report.totals.buffers,
        "macs": report.totals.macs,
        "layers": len(report.layers),
        "output_shape": list(report.output_shape),
        "final_rf": layer_dict(report.final)["rf"],
        "rf_global": rf.is_global,
    }


def render_json(diff: Diff) -> str:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "identical": diff.identical,
        "old": _summary(diff.old),
        "new": _summary(diff.new),
        "layers": {
            "added": [c.name for c in diff.added],
            "removed": [c.name for c in diff.removed],
            "changed": [
                {
                    "name": c.name,
                    "fields": {
                        f: [_plain(getattr(c.old, f)), _plain(getattr(c.new, f))] for f in c.fields
                    },
                }
                for c in diff.changed
            ],
        },
    }
    return dumps(doc)


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value
