"""Source positions and the single error family rendered by the CLI.

Every user mistake anywhere in rfcalc is an :class:`RfcalcError` carrying the position of
the node at fault; the CLI renders it once as ``path:line:col: error: message``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourcePos:
    """A 1-based position in a model file."""

    path: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class RfcalcError(Exception):
    """A user-facing error with a source position and an optional hint."""

    def __init__(self, message: str, pos: SourcePos | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.hint = hint

    def render(self) -> str:
        where = str(self.pos) if self.pos is not None else "rfcalc"
        text = f"{where}: error: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class InputError(RfcalcError):
    """The file or the command line is malformed (YAML, types, unknown keys)."""


class ShapeError(RfcalcError):
    """A shape cannot be computed (window too large, rank mismatch, ...)."""


class GraphError(RfcalcError):
    """Names, ``from`` references, blocks and cycles."""


MAX_REPORTED = 20


class GroupedError(RfcalcError):
    """Several independent errors found in one file, reported together (the first 20)."""

    def __init__(self, errors: list[RfcalcError]):
        first = errors[0]
        super().__init__(first.message, first.pos, first.hint)
        self.errors = errors

    def render(self) -> str:
        shown = self.errors[:MAX_REPORTED]
        text = "\n".join(e.render() for e in shown)
        if len(self.errors) > len(shown):
            text += f"\n… and {len(self.errors) - len(shown)} more errors"
        return text


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """``did you mean 'x'?`` for the nearest candidate, or None (difflib, as sqlglot does).

    Case is ignored when comparing; ties go to the alphabetically first candidate."""
    best: tuple[float, str] | None = None
    for candidate in sorted(set(candidates)):
        matcher = difflib.SequenceMatcher(None, word.lower(), candidate.lower())
        if matcher.real_quick_ratio() < 0.6 or matcher.quick_ratio() < 0.6:
            continue
        score = matcher.ratio()
        if score >= 0.6 and (best is None or score > best[0]):
            best = (score, candidate)
    return f"did you mean '{best[1]}'?" if best else None
