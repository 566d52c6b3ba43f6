"""A small, safe evaluator for ``$name`` and ``${expression}`` values.

An expression is parsed whole into a small tree, which is then evaluated; nothing ever reaches
Python's ``eval``. The grammar is a subset of Python's expressions (EBNF)::

    expression  = disjunction [ "if" disjunction "else" expression ] ;
    disjunction = conjunction { "or" conjunction } ;
    conjunction = inversion { "and" inversion } ;
    inversion   = "not" inversion | comparison ;
    comparison  = sum { ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) sum } ;
    sum         = term { ( "+" | "-" ) term } ;
    term        = factor { ( "*" | "/" | "//" | "%" ) factor } ;
    factor      = ( "+" | "-" ) factor | power ;
    power       = atom [ "**" factor ] ;
    atom        = number | string | literal | name | call | "(" expression ")" ;
    call        = function "(" [ expression { "," expression } ] ")" ;
    function    = "min" | "max" | "abs" | "round" | "floor" | "ceil" | "make_divisible" ;
    literal     = "true" | "True" | "false" | "False" | "null" | "none" | "None" ;
    string      = "'" { char - "'" } "'" | '"' { char - '"' } '"' ;  (* char: no "\\", no control *)

Values are numbers (int, float), booleans, strings, null, and lists (lists come only from
variables and block arguments: there are no list literals). What Python defines, rfcalc
computes as Python does — precedence, ``//`` and ``%`` on negatives, ``round``'s banker's
rounding — with these decisions, made for a configuration language:

- Booleans are not numbers. Arithmetic (``+ - * / // % **``, unary ``-`` and ``+``, and the
  functions) takes numbers only: ``true + 1`` is an error (Python: 2), as are arithmetic on
  strings (no concatenation), null and lists. ``null`` is accepted where Python's default is
  ``None``: ``round(x, null)``, ``make_divisible(v, 8, null)``.
- Conditions must be booleans: the condition of ``if``, the operand of ``not``, and each
  operand of ``and``/``or`` that is evaluated: ``x if 3 else y`` is an error ("condition must
  be true or false, got 3"), as are ``not 3`` and ``3 and 4`` ("'and' needs true or false, got
  3"), so ``and``/``or`` always give a boolean (Python's ``3 and 4`` gives 4).
- Evaluation is lazy where Python's is: ``and``/``or`` short-circuit (``false and 1/0`` is
  false), ``a if c else b`` evaluates ``c`` and then only the chosen branch, and comparisons
  chain as Python's: ``a < b < c`` means ``a < b and b < c`` with ``b`` evaluated once.
- ``==`` and ``!=`` take any two values. Values of different kinds (number, boolean, string,
  null, list) are never equal: ``true == 1`` is false (Python: True); ``2 == 2.0`` is true;
  lists are equal when their items are. ``< <= > >=`` take two numbers or two strings.
- Names are checked when the expression is parsed, so a misspelt name is an error even in a
  branch that is not taken (Python fails only on reaching it): every variable and block
  argument always exists, so an unknown name is always a mistake. Function names and argument
  counts are checked the same way. The keywords (``and or not if else`` and the literals) win
  over a variable of the same name.
- Strings are short quoted words (``'relu'``, ``"relu"``) of at most ``MAX_STRING_CHARS``
  characters, with no escapes: a backslash is refused, so a string means the same as in Python.

Sizes are bounded: at most ``MAX_EXPR_CHARS`` characters and ``MAX_EXPR_DEPTH`` levels of
nesting, and a number beyond ±2**63 (e.g. ``${9**9**9}``) is an error found before any big
arithmetic is done. There is no attribute access, no call of anything else, and no list
literal; a list's entry is ``name[i]`` (``in_shape[1]``; a negative ``i`` counts from the end,
as in Python).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import NamedTuple, TypeAlias, TypeGuard, TypeVar

from rfcalc.errors import InputError, SourcePos, did_you_mean

Number = int | float
Value: TypeAlias = int | float | bool | str | tuple["Value", ...] | None

MAX_EXPR_CHARS = 1000
MAX_EXPR_DEPTH = 50
MAX_STRING_CHARS = 100
LIMIT = 2**63

_TOKEN = re.compile(
    r"\s*(?:(?P<num>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<str>'[^'\\\x00-\x1f\x7f]*'|\"[^\"\\\x00-\x1f\x7f]*\")"
    r"|(?P<op>\*\*|//|==|!=|<=|>=|[-+*/%(),<>=\[\]]))"
)
_LITERALS: dict[str, Value] = {
    "true": True,
    "True": True,
    "false": False,
    "False": False,
    "null": None,
    "none": None,
    "None": None,
}
_KEYWORDS = frozenset(("and", "or", "not", "if", "else", *_LITERALS))
_COMPARISONS = frozenset(("==", "!=", "<", "<=", ">", ">="))
# binary operators by how tightly they bind; 'not' (a prefix) sits between 'and' and comparing
_OR, _AND, _NOT, _COMPARE, _SUM, _TERM = range(1, 7)
_PRECEDENCE = {
    "or": _OR,
    "and": _AND,
    **dict.fromkeys(_COMPARISONS, _COMPARE),
    **dict.fromkeys(("+", "-"), _SUM),
    **dict.fromkeys(("*", "/", "//", "%"), _TERM),
}
# what a Python, C or SQL habit most likely meant, for the "unexpected ..." errors
_HINTS = {
    "=": "compare with '=='",
    "is": "compare with '==' or '!='",
    "&": "write 'and'",
    "|": "write 'or'",
    "!": "write 'not'",
    "i": "'i' is the repeat index: it exists inside a layer, block or nested list with 'repeat'",
    "in_channels": "in_channels is a layer's own input's: use it in a layer's arguments or 'if'",
    "in_shape": "in_shape is a layer's own input's: use it in a layer's arguments or 'if'",
}


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


# name → (function, fewest arguments, most arguments, the argument that may be null)
_FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int, int | None]] = {
    "min": (min, 1, 64, None),
    "max": (max, 1, 64, None),
    "abs": (abs, 1, 1, None),
    "round": (_round, 1, 2, 1),
    "floor": (math.floor, 1, 1, None),
    "ceil": (math.ceil, 1, 1, None),
    "make_divisible": (_make_divisible, 1, 3, 2),
}
FUNCTION_NAMES = tuple(_FUNCTIONS)

# ---------------------------------------------------------------- the tree


class _Const(NamedTuple):
    value: Value


class _Unary(NamedTuple):
    op: str  # "-", "+" or "not"
    operand: _Node


class _Chain(NamedTuple):
    """``first op1 x1 op2 x2 …``: arithmetic (left to right) or a chain of comparisons."""

    first: _Node
    rest: tuple[tuple[str, _Node], ...]


class _Logic(NamedTuple):
    op: str  # "and" or "or"
    operands: tuple[_Node, ...]


class _IfElse(NamedTuple):
    condition: _Node
    then: _Node
    otherwise: _Node


class _Call(NamedTuple):
    name: str
    args: tuple[_Node, ...]


class _Name(NamedTuple):
    """A variable: its value is the expression's ``at``-th name's, read when evaluated."""

    at: int


class _Index(NamedTuple):
    """``base[key]``: an entry of a list (``in_shape[1]``)."""

    base: _Node
    key: _Node


_Node: TypeAlias = _Const | _Unary | _Chain | _Logic | _IfElse | _Call | _Name | _Index


class _Parsed(NamedTuple):
    """An expression's tree, which holds no value of a variable: one tree serves every place
    and every environment that the same text is evaluated in."""

    tree: _Node
    names: tuple[str, ...]  # the variables it reads, in the order it first reads them


# ---------------------------------------------------------------- values


def _is_number(value: Value) -> TypeGuard[Number]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, tuple):
        return "list"
    return "number"


def _show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value)


def _what(value: Value) -> str:
    """``3``, ``2.5``, ``null``, ``true (a boolean)``, ``'relu' (a string)``, ``[3] (a list)``."""
    kind = _kind(value)
    return _show(value) if kind in ("number", "null") else f"{_show(value)} (a {kind})"


_Ordered = TypeVar("_Ordered", float, str)


def _order(op: str, a: _Ordered, b: _Ordered) -> bool:
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _equal(a: Value, b: Value) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return _kind(a) == _kind(b) and a == b


# ---------------------------------------------------------------- parsing


class _Parser:
    __slots__ = ("depth", "i", "names", "pos", "text", "tokens")

    def __init__(self, text: str, tokens: list[tuple[str, str, int]], pos: SourcePos) -> None:
        self.text = text
        self.tokens = tokens
        self.names: dict[str, int] = {}  # the variables read so far → their index
        self.pos = pos
        self.i = 0
        self.depth = 0

    def fail(self, message: str, hint: str | None = None) -> InputError:
        return InputError(f"expression '{self.text}': {message}", self.pos, hint)

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, word: str) -> bool:
        """Consume the operator or keyword ``word`` if it comes next."""
        tok = self.peek()
        if tok is not None and tok[0] in ("op", "name") and tok[1] == word:
            self.i += 1
            return True
        return False

    def take_any(self, words: frozenset[str] | tuple[str, ...]) -> str | None:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in words:
            self.i += 1
            return tok[1]
        return None

    def expect(self, op: str) -> None:
        if not self.take(op):
            tok = self.peek()
            got = f"'{tok[1]}'" if tok else "the end"
            raise self.fail(f"expected '{op}', found {got}", _HINTS.get(tok[1]) if tok else None)

    def unexpected(self) -> InputError:
        tok = self.peek()
        if tok is None:
            return self.fail("unexpected end")
        return self.fail(f"unexpected '{tok[1]}'", _HINTS.get(tok[1]))

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_EXPR_DEPTH:
            raise self.fail(f"nested deeper than {MAX_EXPR_DEPTH} levels")

    def whole(self) -> _Node:
        node = self.expression()
        if self.i != len(self.tokens):
            raise self.unexpected()
        return node

    def expression(self) -> _Node:
        self.enter()
        node = self.binary(_OR)
        if self.take("if"):
            condition = self.binary(_OR)
            self.expect("else")
            node = _IfElse(condition, node, self.expression())
        self.depth -= 1
        return node

    def binary(self, lowest: int) -> _Node:
        """Operators from ``or`` to ``%`` binding at least as tightly as ``lowest``, by
        precedence climbing (a level of parentheses costs a few Python frames, not one per
        precedence level); a run of one precedence level becomes one flat node."""
        if lowest <= _NOT and self.take("not"):
            self.enter()
            left: _Node = _Unary("not", self.binary(_NOT))
            self.depth -= 1
        else:
            left = self.factor()
        while (op := self.binary_op(lowest)) is not None:
            level = _PRECEDENCE[op]
            rest = [(op, self.binary(level + 1))]
            while (op := self.binary_op(level)) is not None:
                rest.append((op, self.binary(level + 1)))
            if level in (_OR, _AND):
                left = _Logic(rest[0][0], (left, *(node for _, node in rest)))
            else:
                left = _Chain(left, tuple(rest))
        return left

    def binary_op(self, lowest: int) -> str | None:
        """The next token, consumed, if it is a binary operator binding at least as tightly
        as ``lowest``."""
        tok = self.peek()
        if tok is None or tok[0] not in ("op", "name"):
            return None
        level = _PRECEDENCE.get(tok[1])
        if level is None or level < lowest:
            return None
        self.i += 1
        return tok[1]

    def factor(self) -> _Node:
        op = self.take_any(("-", "+"))
        if op is None:
            return self.power()
        self.enter()
        node = _Unary(op, self.factor())
        self.depth -= 1
        return node

    def power(self) -> _Node:
        base = self.atom()
        while self.take("["):
            base = _Index(base, self.expression())
            self.expect("]")
        if not self.take("**"):
            return base
        self.enter()
        node = _Chain(base, (("**", self.factor()),))
        self.depth -= 1
        return node

    def atom(self) -> _Node:
        tok = self.peek()
        if tok is None:
            raise self.unexpected()
        kind, text, _ = tok
        if kind == "num":
            self.i += 1
            number: Number = float(text) if any(c in text for c in ".eE") else int(text)
            return _Const(_Evaluator(self.text, self.pos, ()).check(number))
        if kind == "str":
            self.i += 1
            return _Const(text[1:-1])
        if kind == "name" and text in _LITERALS:
            self.i += 1
            return _Const(_LITERALS[text])
        if kind == "name" and text not in _KEYWORDS:
            self.i += 1
            if self.take("("):
                return self.call(text)
            return _Name(self.names.setdefault(text, len(self.names)))
        if text == "(":
            self.i += 1
            node = self.expression()
            self.expect(")")
            return node
        raise self.unexpected()

    def call(self, name: str) -> _Node:
        if name not in _FUNCTIONS:
            raise self.fail(
                f"'{name}' is not a function rfcalc knows", did_you_mean(name, FUNCTION_NAMES)
            )
        _, lo, hi, _ = _FUNCTIONS[name]
        args: list[_Node] = []
        if not self.take(")"):
            while True:
                args.append(self.expression())
                if self.take(")"):
                    break
                self.expect(",")
        if not lo <= len(args) <= hi:
            raise self.fail(f"{name}() takes {lo} to {hi} arguments, got {len(args)}")
        return _Call(name, tuple(args))


# ---------------------------------------------------------------- evaluation


class _Evaluator(NamedTuple):
    text: str
    pos: SourcePos
    values: tuple[Value, ...]  # of the expression's names, in order

    def fail(self, message: str) -> InputError:
        return InputError(f"expression '{self.text}': {message}", self.pos)

    def value(self, node: _Node) -> Value:
        if isinstance(node, _Const):
            return node.value
        if isinstance(node, _Name):
            return self.values[node.at]
        if isinstance(node, _Chain):
            return self.chain(node)
        if isinstance(node, _Logic):
            stop = node.op == "or"  # the value that decides: true for 'or', false for 'and'
            for operand in node.operands:
                if self.condition(self.value(operand), f"'{node.op}' needs") is stop:
                    return stop
            return not stop
        if isinstance(node, _IfElse):
            chosen = self.condition(self.value(node.condition), "condition must be")
            return self.value(node.then if chosen else node.otherwise)
        if isinstance(node, _Index):
            return self.entry(node)
        if isinstance(node, _Unary):
            inner = self.value(node.operand)
            if node.op == "not":
                return not self.condition(inner, "'not' needs")
            number = self.number(inner, f"'{node.op}' needs a number")
            return self.check(-number if node.op == "-" else number)
        return self.call(node)

    def entry(self, node: _Index) -> Value:
        base, index = self.value(node.base), self.value(node.key)
        if not isinstance(base, tuple):
            raise self.fail(f"'[…]' takes an entry of a list, got {_what(base)}")
        if isinstance(index, bool) or not isinstance(index, int):
            raise self.fail(f"a list index must be an integer, got {_what(index)}")
        if not -len(base) <= index < len(base):
            raise self.fail(f"index {index} is outside the list of {len(base)} entries")
        return base[index]

    def condition(self, value: Value, what: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"{what} true or false, got {_what(value)}")
        return value

    def number(self, value: Value, what: str) -> Number:
        if not _is_number(value):
            raise self.fail(f"{what}, got {_what(value)}")
        return value

    def check(self, value: Number) -> Number:
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            raise self.fail("result is not a finite number")
        if abs(value) >= LIMIT:
            raise self.fail("result is too large (beyond ±2**63)")
        return value

    def chain(self, node: _Chain) -> Value:
        """Left to right, as Python: ``a - b + c`` is ``(a - b) + c``; ``a < b < c`` is
        ``a < b and b < c``, ``b`` evaluated once and ``c`` only if ``a < b``."""
        comparing = node.rest[0][0] in _COMPARISONS
        left = self.value(node.first)
        for op, operand in node.rest:
            right = self.value(operand)
            if not comparing:
                left = self.arith(op, left, right)
            elif not self.compare(op, left, right):
                return False
            else:
                left = right
        return True if comparing else left

    def compare(self, op: str, a: Value, b: Value) -> bool:
        if op == "==":
            return _equal(a, b)
        if op == "!=":
            return not _equal(a, b)
        if _is_number(a) and _is_number(b):
            return _order(op, a, b)
        if isinstance(a, str) and isinstance(b, str):
            return _order(op, a, b)
        raise self.fail(f"'{op}' needs two numbers or two strings, got {_what(a)} and {_what(b)}")

    def call(self, node: _Call) -> Number:
        fn, _, _, nullable = _FUNCTIONS[node.name]
        values = [self.value(arg) for arg in node.args]
        numbers = [
            None if v is None and i == nullable else self.number(v, f"{node.name}() takes numbers")
            for i, v in enumerate(values)
        ]
        try:
            return self.check(fn(*numbers))
        except ZeroDivisionError:
            raise self.fail(f"{node.name}(): division by zero") from None
        except (ValueError, ArithmeticError, TypeError) as exc:
            raise self.fail(f"{node.name}(): {exc}") from None

    def arith(self, op: str, a_val: Value, b_val: Value) -> Number:
        what = f"'{op}' needs numbers"
        a, b = self.number(a_val, what), self.number(b_val, what)
        try:
            if op == "+":
                r: Number = a + b
            elif op == "-":
                r = a - b
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


# ---------------------------------------------------------------- the public functions


def tokenize(text: str, pos: SourcePos) -> list[tuple[str, str, int]]:
    """``(kind, text, offset)`` for each token; kind is ``num``, ``name``, ``str`` or ``op``."""
    tokens: list[tuple[str, str, int]] = []
    i, end = 0, len(text.rstrip())
    while i < end:
        m = _TOKEN.match(text, i)
        if m is None or m.end() == i:
            raise InputError(f"expression '{text}': {_bad_character(text, i)}", pos, _hint(text, i))
        kind = m.lastgroup or "op"
        if kind == "str" and len(m.group(kind)) - 2 > MAX_STRING_CHARS:
            raise InputError(
                f"expression '{text}': a string longer than {MAX_STRING_CHARS} characters", pos
            )
        tokens.append((kind, m.group(kind), m.start(kind)))
        i = m.end()
    return tokens


def _bad_character(text: str, i: int) -> str:
    start = len(text) - len(text[i:].lstrip())
    ch = text[start]
    if ch in "'\"":
        end = text.find(ch, start + 1)
        if end < 0:
            return "a string is missing its closing quote"
        if "\\" in text[start:end]:
            return "a string takes no '\\' escapes"
        return "a string may not hold control characters"
    return f"unexpected character '{ch}'"


def _hint(text: str, i: int) -> str | None:
    return _HINTS.get(text[i:].lstrip()[:1])


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
    parsed = _PARSED.get(body)
    if parsed is None:
        tokens = tokenize(body, pos)
        if not tokens:
            raise InputError("empty expression", pos)
        parser = _Parser(body, tokens, pos)
        try:
            parsed = _Parsed(parser.whole(), tuple(parser.names))
        except InputError:
            _read(body, tuple(parser.names), names, pos)  # a name before the mistake fails first
            raise
        if len(_PARSED) >= MAX_PARSED:
            _PARSED.clear()
        _PARSED[body] = parsed
    return _Evaluator(body, pos, _read(body, parsed.names, names, pos)).value(parsed.tree)


MAX_PARSED = 4096
_PARSED: dict[str, _Parsed] = {}
"""Expressions parsed, by their text: a block's expressions are evaluated once for each of
its instances. Only expressions that parse are kept; errors name the place they occur."""


def _read(
    body: str, wanted: tuple[str, ...], names: Mapping[str, Value], pos: SourcePos
) -> tuple[Value, ...]:
    """The values of the variables an expression reads, in the order it reads them. Every
    name is checked, and read, before anything is evaluated: a misspelt name is an error even
    in a branch that is not taken."""
    values = []
    for name in wanted:
        if name not in names:
            known, literals = list(names), ("true", "false", "null")
            hint = _HINTS.get(name) or did_you_mean(name, [*known, *FUNCTION_NAMES, *literals])
            raise InputError(f"expression '{body}': unknown name '{name}'", pos, hint)
        values.append(names[name])
    return tuple(values)
