"""``rfcalc check`` reports: one result object, rendered as text or JSON."""

from __future__ import annotations

from dataclasses import dataclass

from rfcalc.checks import FILE, Limit, Outcome
from rfcalc.errors import RfcalcError
from rfcalc.render.json_out import dumps


@dataclass(frozen=True, slots=True)
class FileResult:
    """One file's result. A file with no checks passes (nothing failed; the JSON statuses stay
    pass, fail and error), and the text report says SKIP (no checks)."""

    path: str
    status: str  # pass | fail | error
    outcomes: tuple[Outcome, ...] = ()
    error: RfcalcError | None = None

    @classmethod
    def of(cls, path: str, outcomes: tuple[Outcome, ...]) -> FileResult:
        return cls(path, "pass" if all(o.passed for o in outcomes) else "fail", outcomes)

    @property
    def unchecked(self) -> bool:
        return self.status == "pass" and not self.outcomes

    @property
    def violations(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed)


def summary(results: list[FileResult]) -> dict[str, int]:
    """The files per status, and among those passed, the ones with no checks."""
    counts = {
        key: sum(r.status == status for r in results)
        for key, status in (("passed", "pass"), ("failed", "fail"), ("errors", "error"))
    }
    return {**counts, "no_checks": sum(r.unchecked for r in results)}


def _line(o: Outcome, outcomes: tuple[Outcome, ...]) -> str:
    """One check: its mark, the measured value beside the limit, and the option that set it
    when the file sets the same check too."""
    mark = "ok  " if o.passed else "FAIL"
    twice = o.source != FILE and any(p.check == o.check and p.source == FILE for p in outcomes)
    return f"       {mark}  {o.message}" + (f" ({o.source})" if twice else "")


def render_text(results: list[FileResult]) -> str:
    lines = []
    for r in results:
        if r.status == "error":
            assert r.error is not None
            lines.append(f"ERROR  {r.path}: {r.error.message}")
        elif r.unchecked:
            lines.append(f"SKIP   {r.path}  (no checks)")
        else:
            lines.append(f"{r.status.upper():<7}{r.path}")
            lines += [_line(o, r.outcomes) for o in r.outcomes]
    s = summary(results)
    text = (
        f"checked {len(results)} file{'s' if len(results) != 1 else ''}: "
        f"{s['passed'] - s['no_checks']} passed, {s['failed']} failed, {s['errors']} invalid"
    )
    if s["no_checks"]:
        text += f", {s['no_checks']} skipped (no checks)"
    lines.append(text)
    return "\n".join(lines) + "\n"


def _json_limit(value: Limit) -> object:
    return list(value) if isinstance(value, tuple) else value


def _outcome(o: Outcome) -> dict[str, object]:
    return {
        "check": o.check,
        "limit": _json_limit(o.limit),
        "actual": _json_limit(o.actual),
        "passed": o.passed,
        "source": o.source,
        "message": o.message,
    }


def render_json(results: list[FileResult]) -> str:
    files = []
    for r in results:
        error = None
        if r.error is not None:
            pos = r.error.pos
            error = {
                "message": r.error.message,
                "line": pos.line if pos else None,
                "column": pos.col if pos else None,
                "hint": r.error.hint,
            }
        files.append(
            {
                "path": r.path,
                "status": r.status,
                "checks": [_outcome(o) for o in r.outcomes],
                "violations": [_outcome(o) for o in r.violations],
                "error": error,
            }
        )
    doc = {"schema_version": 1, "files": files, "summary": summary(results)}
    return dumps(doc)
