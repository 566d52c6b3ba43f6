"""Limits from a model file's ``checks:`` and the command line → violations (data, not errors).

One module-level table declares every check: its parser and its test against a Report.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from rfcalc import expr
from rfcalc.build import sizes_from_text
from rfcalc.engine import Report
from rfcalc.errors import InputError, SourcePos, did_you_mean
from rfcalc.foreign import tuple_hint
from rfcalc.yamltree import YMap, YNode, YScalar, YSeq, what_node

_SUFFIX = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}
# 30M, 30m, 25557032, 2.5G, 20_000_000, 2e7: ASCII digits only, and never more than 30 of them
_NUMBER = re.compile(
    r"\s*([0-9]{1,30}(?:_[0-9]{1,30})*(?:\.[0-9]{1,30})?(?:[eE]\+?[0-9]{1,2})?)\s*([KMGkmg]?)\s*"
)
_EXACT_FLOAT = 2**53  # a float below this that is a whole number is that count exactly

Limit = int | bool | tuple[int, ...]


def parse_count(text: object, what: str, pos: SourcePos | None) -> int:
    """A count: an int, a whole number written as a float (YAML reads ``2e7`` as one), or a
    string with a decimal K/M/G suffix, either case ('30M' = '30m' = 30,000,000), '_' between
    digits and an exponent ('20_000_000', '2e7')."""
    if isinstance(text, float) and text.is_integer() and 0 <= text < _EXACT_FLOAT:
        text = int(text)
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise InputError(f"{what} must not be negative, got {text}", pos)
        return text
    if isinstance(text, str):
        m = _NUMBER.fullmatch(text)
        if m and len(m.group(1)) <= 40:
            value = Fraction(m.group(1).replace("_", "")) * _SUFFIX[m.group(2).upper()]
            if value.denominator == 1:
                return int(value)
    raise InputError(f"{what} takes a count such as 25557032, 30M or 5G; got {text!r}", pos)


def parse_shape(text: object, what: str, pos: SourcePos | None) -> tuple[int, ...]:
    if isinstance(text, str):
        with contextlib.suppress(InputError):  # then the message below, naming a shape
            text = sizes_from_text(text, what)
    if (
        isinstance(text, tuple)
        and text
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in text)
    ):
        return tuple(int(v) for v in text)
    raise InputError(
        f"{what} takes a shape such as [1000] or 2048,7,7; got {text!r}",
        pos,
        tuple_hint(text, what) if pos is not None else None,  # (1000,) in a file
    )


def parse_bool(value: object, what: str, pos: SourcePos | None) -> bool:
    if isinstance(value, bool):
        return value
    raise InputError(f"{what} must be true or false, got {value!r}", pos)


FILE = "file"  # the source of a limit set in the model's 'checks:' section


@dataclass(frozen=True, slots=True)
class Gate:
    """One limit to hold: a check, its limit, and where it was set (``FILE`` or the
    command-line option, e.g. ``--max-params``). A check set in both places is two gates, and
    both must hold, so the stricter decides."""

    check: str
    limit: Limit
    source: str = FILE


@dataclass(frozen=True, slots=True)
class Outcome:
    """A gate's result: the measured value beside the limit, and a sentence saying which."""

    check: str
    limit: Limit
    actual: Limit
    passed: bool
    source: str
    message: str


def _fmt(value: Limit) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "×".join(map(str, value))
    return f"{value:,}"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    doc: str
    parse: Callable[[object, str, SourcePos | None], Limit]
    actual: Callable[[Report], Limit]
    ok: Callable[[Limit, Limit], bool]
    failed: str  # how the measured value relates to the limit when it fails, and when it holds
    held: str
    explain: Callable[[Report, Limit, bool], str] | None = None  # replaces the generic message

    def run(self, report: Report, gate: Gate) -> Outcome:
        actual = self.actual(report)
        passed = self.ok(actual, gate.limit)
        if self.explain is not None:
            text = self.explain(report, gate.limit, passed)
        else:
            relation = self.held if passed else self.failed
            text = f"{_fmt(actual)} {relation} {_fmt(gate.limit)}"
        return Outcome(self.name, gate.limit, actual, passed, gate.source, f"{self.name}: {text}")


def _covering(report: Report, wanted: Limit, passed: bool) -> str:
    if not report.final.rf.size:
        return "the input has no spatial axis" + ("" if passed else ", so no field to cover it")
    seen = (
        f"(receptive field {_fmt(report.final.rf.size)} on a {_fmt(report.input_shape[1:])} input)"
    )
    if not wanted:
        return f"not required {seen}"
    who = "a unit" if passed else "no unit"
    return f"{who} of the final layer sees the whole input {seen}"


def _min_rf(report: Report) -> int:
    sizes = report.final.rf.size
    return min(sizes) if sizes else 0


def _le(a: Limit, b: Limit) -> bool:
    assert isinstance(a, int)
    assert isinstance(b, int)
    return a <= b


def _ge(a: Limit, b: Limit) -> bool:
    assert isinstance(a, int)
    assert isinstance(b, int)
    return a >= b


def _warned(report: Report, wanted: Limit, passed: bool) -> str:
    """strict: the warnings, by code and layer."""
    if not report.warnings:
        return "no warnings"
    if not wanted:
        return f"not required ({len(report.warnings)} warnings)"
    shown = ", ".join(f"{w.code} ({w.layer})" for w in report.warnings[:5])
    more = f" and {len(report.warnings) - 5} more" if len(report.warnings) > 5 else ""
    count = len(report.warnings)
    return f"{count} warning{'' if count == 1 else 's'}: {shown}{more}"


def _looks_ahead(report: Report, wanted: Limit, passed: bool) -> str:
    """causal: the first layer that reads ahead, per axis."""
    if report.causal and all(report.causal):
        return "no unit reads ahead of its input position"
    if not wanted:
        return "not required"
    from rfcalc.layers.base import axis_name

    rank = len(report.lookahead)
    parts = [
        f"layer '{found.layer}' reads up to {found.positions} position"
        f"{'' if found.positions == 1 else 's'} ahead on axis {axis_name(rank, a)}"
        for a, found in enumerate(report.lookahead)
        if found is not None
    ]
    return "; ".join(parts) or "the model has no spatial axis"


def _wanted(actual: Limit, wanted: Limit) -> bool:
    """A true/false check: it holds, or it is not asked for."""
    return bool(actual) or not wanted


CHECKS: dict[str, Check] = {
    c.name: c
    for c in (
        Check(
            "max_params",
            "most parameters allowed",
            parse_count,
            lambda r: r.totals.params,
            _le,
            "exceeds the limit",
            "is within the limit",
        ),
        Check(
            "max_macs",
            "most multiply-accumulates allowed",
            parse_count,
            lambda r: r.totals.macs,
            _le,
            "exceeds the limit",
            "is within the limit",
        ),
        Check(
            "params",
            "exact parameter count",
            parse_count,
            lambda r: r.totals.params,
            lambda a, b: a == b,
            "is not the expected",
            "is the expected",
        ),
        Check(
            "output_shape",
            "exact output shape (no batch dim)",
            parse_shape,
            lambda r: r.output_shape,
            lambda a, b: a == b,
            "is not the expected",
            "is the expected",
        ),
        Check(
            "min_rf",
            "smallest final receptive field, every axis",
            parse_count,
            _min_rf,
            _ge,
            "is below the minimum",
            "meets the minimum",
        ),
        Check(
            "rf_covers_input",
            "some final unit sees the whole input on every axis",
            parse_bool,
            lambda r: r.final.rf.covers_input,
            _wanted,
            "",
            "",
            _covering,
        ),
        Check(
            "strict",
            "no warning (after the layers' and --ignore's ignores)",
            parse_bool,
            lambda r: not r.warnings,
            _wanted,
            "",
            "",
            _warned,
        ),
        Check(
            "causal",
            "no unit reads past the input position it stands for, on every axis",
            parse_bool,
            lambda r: bool(r.causal) and all(r.causal),
            _wanted,
            "",
            "",
            _looks_ahead,
        ),
    )
}


def _value(node: YNode, env: Mapping[str, expr.Value]) -> object:
    if isinstance(node, YScalar):
        if expr.is_expression(node.value):
            assert isinstance(node.value, str)
            value = expr.evaluate(node.value, env, node.pos)
            return int(value) if isinstance(value, float) and value.is_integer() else value
        return node.value
    if isinstance(node, YSeq):
        return tuple(_value(item, env) for item in node.items)
    raise InputError(
        f"a check takes a number, a shape or true/false, got {what_node(node)}", node.pos
    )


def from_file(checks: YMap | None, env: Mapping[str, expr.Value]) -> list[Gate]:
    """The limits a model file sets in its ``checks:`` section."""
    gates: list[Gate] = []
    if checks is None:
        return gates
    for key, node in checks.items:
        name = str(key.value)
        check = CHECKS.get(name)
        if check is None:
            raise InputError(f"unknown check '{name}'", key.pos, did_you_mean(name, CHECKS))
        gates.append(Gate(name, check.parse(_value(node, env), name, node.pos)))
    return gates


def run(report: Report, gates: list[Gate]) -> list[Outcome]:
    """Every gate's outcome, in order; a gate set twice with the same limit is run once."""
    seen: set[tuple[str, Limit]] = set()
    out = []
    for gate in gates:
        if (gate.check, gate.limit) not in seen:
            seen.add((gate.check, gate.limit))
            out.append(CHECKS[gate.check].run(report, gate))
    return out
