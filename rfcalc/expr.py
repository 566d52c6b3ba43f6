"""A small, safe evaluator for ``$name`` and ``${expression}`` values.

Grammar: numbers, names, ``+ - * / // % **``, parentheses, and calls of ``min max abs round
floor ceil make_divisible``. No attribute access, no other calls, never ``eval``. Sizes are
bounded: a result beyond ±2**63 (e.g. ``${9**9**9}``) is an error found before any big
arithmetic is done.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rfcalc.errors import InputError, SourcePos, did_you_mean

Number = int | float
Value = Number | tuple[Number | None, ...]

MAX_EXPR_CHARS = 1000
MAX_EXPR_DEPTH = 50
LIMIT = 2**63

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|//|[-+*/%(),]))"
)


def _make_divisible(v: Number, divisor: Number = 8, min_value: Number | None = None) -> Number:
    # torchvision.models._utils._make_divisible
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _round(x: Number, ndigits: Number | None = None) -> Number:
    if ndigits is None:
        return round(x)
    if not isinstance(ndigits, int):
        raise ValueError("round's second argument must be an int")
    return round(x, ndigits)


_FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "min": (min, 1, 64),
    "max": (max, 1, 64),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "make_divisible": (_make_divisible, 1, 3),
}
FUNCTION_NAMES = tuple(_FUNCTIONS)


@dataclass(slots=True)
class _Parser:
    text: str
    tokens: list[tuple[str, str, int]]
    names: Mapping[str, Value]
    pos: SourcePos
    i: int = 0
    depth: int = 0

    def fail(self, message: str, hint: str | None = None) -> InputError:
        return InputError(f"expression '{self.text}': {message}", self.pos, hint)

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, op: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] == op:
            self.i += 1
            return True
        return False

    def expect(self, op: str) -> None:
        if not self.take(op):
            tok = self.peek()
            got = f"'{tok[1]}'" if tok else "the end"
            raise self.fail(f"expected '{op}', found {got}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_EXPR_DEPTH:
            raise self.fail(f"nested deeper than {MAX_EXPR_DEPTH} levels")

    def expr(self) -> Value:
        self.enter()
        left = self.term()
        while True:
            if self.take("+"):
                left = self.arith("+", left, self.term())
            elif self.take("-"):
                left = self.arith("-", left, self.term())
            else:
                break
        self.depth -= 1
        return left

    def term(self) -> Value:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok is not None and tok[0] == "op" and tok[1] in ("*", "/", "//", "%"):
                self.i += 1
                left = self.arith(tok[1], left, self.unary())
            else:
                return left

    def unary(self) -> Value:
        if self.take("-"):
            self.enter()
            value = self.arith("neg", 0, self.unary())
            self.depth -= 1
            return value
        if self.take("+"):
            self.enter()
            same = self.unary()
            self.depth -= 1
            return same
        return self.power()

    def power(self) -> Value:
        base = self.atom()
        if self.take("**"):
            self.enter()
            exponent = self.unary()
            self.depth -= 1
            return self.arith("**", base, exponent)
        return base

    def atom(self) -> Value:
        tok = self.peek()
        if tok is None:
            raise self.fail("unexpected end")
        kind, text, _ = tok
        self.i += 1
        if kind == "num":
            number: Number = float(text) if any(c in text for c in ".eE") else int(text)
            return self.check(number)
        if kind == "name":
            if self.take("("):
                return self.call(text)
            if text in self.names:
                return self.names[text]
            hint = did_you_mean(text, list(self.names) + list(FUNCTION_NAMES))
            raise self.fail(f"unknown name '{text}'", hint)
        if text == "(":
            value = self.expr()
            self.expect(")")
            return value
        raise self.fail(f"unexpected '{text}'")

    def call(self, name: str) -> Value:
        if name not in _FUNCTIONS:
            raise self.fail(
                f"'{name}' is not a function rfcalc knows", did_you_mean(name, FUNCTION_NAMES)
            )
        fn, lo, hi = _FUNCTIONS[name]
        args: list[Value] = []
        if not self.take(")"):
            while True:
                args.append(self.expr())
                if self.take(")"):
                    break
                self.expect(",")
        if not lo <= len(args) <= hi:
            raise self.fail(f"{name}() takes {lo} to {hi} arguments, got {len(args)}")
        numbers = [self.number(a) for a in args]
        try:
            return self.check(fn(*numbers))
        except ZeroDivisionError:
            raise self.fail(f"{name}(): division by zero") from None
        except (ValueError, ArithmeticError, TypeError) as exc:
            raise self.fail(f"{name}(): {exc}") from None

    def number(self, value: Value) -> Number:
        if isinstance(value, tuple):
            raise self.fail("a list cannot be used in arithmetic")
        return value

    def check(self, value: Number) -> Number:
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            raise self.fail("result is not a finite number")
        if abs(value) >= LIMIT:
            raise self.fail("result is too large (beyond ±2**63)")
        return value

    def arith(self, op: str, a_val: Value, b_val: Value) -> Number:
        a, b = self.number(a_val), self.number(b_val)
        try:
            if op == "+":
                r: Number = a + b
            elif op == "-":
                r = a - b
            elif op == "neg":
                r = -b
            elif op == "*":
                r = a * b
            elif op == "/":
                r = a / b
            elif op == "//":
                r = a // b
            elif op == "%":
                r = a % b
            else:
                if abs(a) > 1 and b > 0 and b * math.log2(abs(a)) >= 63:
                    raise self.fail("result is too large (beyond ±2**63)")
                if a == 0 and b < 0:
                    raise self.fail("division by zero")
                r = a**b
                if isinstance(r, complex):
                    raise self.fail("result is not a real number")
        except ZeroDivisionError:
            raise self.fail("division by zero") from None
        except OverflowError:
            raise self.fail("result is too large") from None
        return self.check(r)


def tokenize(text: str, pos: SourcePos) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    i = 0
    while i < len(text):
        if text[i:].strip() == "":
            break
        m = _TOKEN.match(text, i)
        if m is None or m.end() == i:
            ch = text[i:].lstrip()[:1]
            raise InputError(f"expression '{text}': unexpected character '{ch}'", pos)
        kind = m.lastgroup or "op"
        tokens.append((kind, m.group(kind), m.start(kind)))
        i = m.end()
    return tokens


def is_expression(value: object) -> bool:
    return isinstance(value, str) and value.startswith("$")


def evaluate(source: str, names: Mapping[str, Value], pos: SourcePos) -> Value:
    """Evaluate ``$name`` or ``${expression}`` with the given variables."""
    if len(source) > MAX_EXPR_CHARS:
        raise InputError(f"expression longer than {MAX_EXPR_CHARS} characters", pos)
    if source.startswith("${"):
        if not source.endswith("}"):
            raise InputError(f"expression '{source}' is missing its closing '}}'", pos)
        body = source[2:-1]
    else:
        body = source[1:]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", body):
            raise InputError(
                f"'{source}' is not a variable name; write '${{...}}' for an expression", pos
            )
    parser = _Parser(body, tokenize(body, pos), names, pos)
    if not parser.tokens:
        raise InputError("empty expression", pos)
    value = parser.expr()
    if parser.i != len(parser.tokens):
        raise parser.fail(f"unexpected '{parser.tokens[parser.i][1]}'")
    return value
