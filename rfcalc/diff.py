"""What changed between two model files: totals, output, final receptive field, layers."""

from __future__ import annotations

from dataclasses import dataclass

from rfcalc.engine import LayerRow, Report

FIELDS = ("type", "output_shape", "params", "macs")


@dataclass(frozen=True, slots=True)
class LayerChange:
    name: str
    old: LayerRow | None
    new: LayerRow | None
    fields: tuple[str, ...]  # which of FIELDS differ (changed layers only)


@dataclass(frozen=True, slots=True)
class Diff:
    old: Report
    new: Report
    added: tuple[LayerChange, ...]
    removed: tuple[LayerChange, ...]
    changed: tuple[LayerChange, ...]

    @property
    def identical(self) -> bool:
        """Nothing that the diff reports differs: no layer added, removed or changed, and the
        same totals, input, output and final receptive field (``rfcalc diff --exit-code``)."""
        return not (self.added or self.removed or self.changed) and _summary(self.old) == _summary(
            self.new
        )


def _summary(report: Report) -> tuple[object, ...]:
    return (
        report.totals,
        report.input_shape,
        report.output_shape,
        len(report.layers),
        report.final.rf,
    )


def compare(old: Report, new: Report) -> Diff:
    before = {r.name: r for r in old.layers}
    after = {r.name: r for r in new.layers}
    added = tuple(LayerChange(n, None, r, ()) for n, r in after.items() if n not in before)
    removed = tuple(LayerChange(n, r, None, ()) for n, r in before.items() if n not in after)
    changed = []
    for name, r in after.items():
        if name in before:
            fields = tuple(f for f in FIELDS if getattr(before[name], f) != getattr(r, f))
            if fields:
                changed.append(LayerChange(name, before[name], r, fields))
    return Diff(old, new, added, removed, tuple(changed))
