"""Source positions and the single error family rendered by the CLI.

Every user mistake anywhere in rfcalc is an :class:`RfcalcError` carrying the position of
the node at fault; the CLI renders it once as ``path:line:col: error: message``.
"""

# no `from __future__ import annotations`: its NamedTuples' string annotations would each cost
# a ForwardRef at every start (as rfcalc/engine.py says)
import difflib
import re
from collections.abc import Callable, Iterable
from typing import NamedTuple


class SourcePos(NamedTuple):
    """A 1-based position in a model file. (Immutable values are NamedTuples throughout: a
    dataclass compiles its methods when its module is imported, which cost start-up a
    millisecond a class, and builds each instance through object.__setattr__.)"""

    path: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


Hint = str | Callable[[], str | None] | None


class RfcalcError(Exception):
    """A user-facing error with a source position and an optional hint.

    A hint may be given as a function, called only when the hint is shown: a model with
    thousands of errors renders twenty, and pays for twenty "did you mean" searches."""

    def __init__(self, message: str, pos: SourcePos | None = None, hint: Hint = None):
        super().__init__(message)
        self.message = message
        self.pos = pos
        self._hint = hint

    @property
    def hint(self) -> str | None:
        if callable(self._hint):
            self._hint = self._hint()
        return self._hint

    def render(self) -> str:
        where = printable(str(self.pos), newlines=False) if self.pos is not None else "rfcalc"
        text = f"{where}: error: {shorten(printable(self.message, newlines=False))}"
        hint = self.hint
        if hint:
            text += f"\nhint: {shorten(printable(hint, newlines=False))}"
        return text


# C0 controls but tab, DEL, C1 controls, and the bidirectional overrides that can reorder what
# a terminal shows; newlines are kept only where the caller's own text has its lines
# and lone surrogates: a command-line argument's bytes that are not UTF-8 (os.fsdecode)
# (patterns as text: re compiles and caches them on first use, not each time rfcalc starts)
_CONTROL = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
_CONTROL_OR_NEWLINE = "[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
_LONG_WORD = r"\S{201,}"
# the ASCII that _CONTROL (_CONTROL_OR_NEWLINE) lets through: deleting it leaves the controls
_INERT_ASCII_LINE = bytes(range(0x20, 0x7F)) + b"\t"
_INERT_ASCII = _INERT_ASCII_LINE + b"\n"


_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # the byte that was not UTF-8, as the shell shows it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def may_hold_controls(text: str, layout: str) -> bool:
    """Might ``text`` hold a control, format or surrogate character other than those in
    ``layout``? False is certain, found at C speed: ``str.isprintable`` is False for every
    character of those categories (Cc, Cf, Cs), which hold all that :data:`_CONTROL` and the
    JSON writer's pattern match. True says only that a search is needed (a no-break space, say,
    is not printable either); it spares compiling those patterns for most non-ASCII text."""
    for char in layout:
        text = text.replace(char, " ")
    return not text.isprintable()


def printable(text: str, newlines: bool = True) -> str:
    """Text with every control character that could act on a terminal (clear the screen,
    retitle it, move the cursor, reorder a line) shown as an escape (``\\x1b``), so that what
    rfcalc echoes of its input is always inert. With ``newlines=False``, ``\\n`` too."""
    if text.isascii():  # most text (a flag Python keeps): its controls found at C speed
        inert = _INERT_ASCII if newlines else _INERT_ASCII_LINE
        if not text.encode("ascii").translate(None, inert):  # nothing left but controls
            return text
    elif not may_hold_controls(text, "\t\n" if newlines else "\t"):
        return text
    pattern = _CONTROL if newlines else _CONTROL_OR_NEWLINE
    return re.sub(pattern, _escape, text) if re.search(pattern, text) else text


def _elide(match: re.Match[str]) -> str:
    word = match.group()
    return f"{word[:80]}…({len(word) - 120:,} characters)…{word[-40:]}"


def shorten(text: str) -> str:
    """A message with every run of over 200 non-blank characters (a megabyte-long name, an
    expression) elided in the middle, so that an error stays a line."""
    return re.sub(_LONG_WORD, _elide, text)


class InputError(RfcalcError):
    """The file or the command line is malformed (YAML, types, unknown keys)."""


class ShapeError(RfcalcError):
    """A shape cannot be computed (window too large, rank mismatch, ...)."""


class GraphError(RfcalcError):
    """Names, ``from`` references, blocks and cycles."""


def what(value: object) -> str:
    """How an error message names a value: ``3``, ``null``, ``true (a boolean)``,
    ``'relu' (a string)``, ``2.5 (a float)``, ``a list``, ``a mapping``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"'{value}' (a string)"
    if isinstance(value, float):
        return f"{value!r} (a float)"
    if isinstance(value, (tuple, list)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


MAX_REPORTED = 20


class GroupedError(RfcalcError):
    """Several independent errors found in one file, reported together (the first 20)."""

    def __init__(self, errors: list[RfcalcError]):
        first = errors[0]
        super().__init__(first.message, first.pos, lambda: first.hint)
        self.errors = errors

    def render(self) -> str:
        shown = self.errors[:MAX_REPORTED]
        text = "\n".join(e.render() for e in shown)
        if len(self.errors) > len(shown):
            text += f"\n… and {len(self.errors) - len(shown)} more errors"
        return text


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """``did you mean 'x'?`` for the nearest candidate, or None (difflib, as sqlglot does)."""
    best = nearest(word, candidates)
    return f"did you mean '{best}'?" if best else None


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``word``, or None when none is near enough.

    Case is ignored when comparing; ties go to the alphabetically first candidate."""
    best: tuple[float, str] | None = None
    for candidate in sorted(set(candidates)):
        matcher = difflib.SequenceMatcher(None, word.lower(), candidate.lower())
        if matcher.real_quick_ratio() < 0.6 or matcher.quick_ratio() < 0.6:
            continue
        score = matcher.ratio()
        if score >= 0.6 and (best is None or score > best[0]):
            best = (score, candidate)
    return best[1] if best else None
