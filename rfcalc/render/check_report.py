"""``rfcalc check`` reports: one result object, rendered as text or JSON."""

from __future__ import annotations

from dataclasses import dataclass

from rfcalc.checks import Limit, Violation
from rfcalc.errors import RfcalcError
from rfcalc.render.json_out import dumps


@dataclass(frozen=True, slots=True)
class FileResult:
    path: str
    status: str  # pass | fail | error
    checks: int
    violations: tuple[Violation, ...] = ()
    error: RfcalcError | None = None


def summary(results: list[FileResult]) -> dict[str, int]:
    return {
        s: sum(r.status == k for r in results)
        for s, k in (("passed", "pass"), ("failed", "fail"), ("errors", "error"))
    }


def render_text(results: list[FileResult]) -> str:
    lines = []
    for r in results:
        if r.status == "pass":
            count = f"{r.checks} check{'s' if r.checks != 1 else ''}"
            lines.append(f"PASS   {r.path}  ({count})")
        elif r.status == "fail":
            lines.append(f"FAIL   {r.path}")
            lines += [f"       {v.message}" for v in r.violations]
        else:
            assert r.error is not None
            lines.append(f"ERROR  {r.path}: {r.error.message}")
    s = summary(results)
    lines.append(
        f"checked {len(results)} file{'s' if len(results) != 1 else ''}: "
        f"{s['passed']} passed, {s['failed']} failed, {s['errors']} invalid"
    )
    return "\n".join(lines) + "\n"


def _json_limit(value: Limit) -> object:
    return list(value) if isinstance(value, tuple) else value


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
                "violations": [
                    {
                        "check": v.check,
                        "limit": _json_limit(v.limit),
                        "actual": _json_limit(v.actual),
                        "message": v.message,
                    }
                    for v in r.violations
                ],
                "error": error,
            }
        )
    doc = {"schema_version": 1, "files": files, "summary": summary(results)}
    return dumps(doc)
