"""Expressions (docs/format.md; issue "Today's CNNs, written as PyTorch writes them"): comparisons,
``and or not``, ``a if c else b``, booleans, strings and null, beside the arithmetic that
tests/test_graph.py covers.

The tables say where each expected value comes from: ``PYTHON`` rows were worked out by hand
*and* are checked against Python's own ``eval`` of the same text (``test_python_agrees``);
``RFCALC`` rows are rfcalc's documented decisions, worked out by hand (Python differs or has
no such text). The property tests compare the evaluator with Python's ``eval`` on random
expressions, through an oracle that tells which documented difference, if any, is met.
"""

from __future__ import annotations

import ast
import math
import operator
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rfcalc.errors import InputError, SourcePos
from rfcalc.expr import MAX_EXPR_DEPTH, MAX_STRING_CHARS, Value, evaluate
from tests.helpers import SCALE

POS = SourcePos("m.yaml", 4, 9)
NAMES: dict[str, Value] = {
    "x": 3,
    "y": -2,
    "z": 0.5,
    "flag": True,
    "act": "relu",
    "nil": None,
    "k": (3, 3),
    "k1": (3, 1),
    "k2": (3, True),
    "stride": 2,
    "in_channels": 64,
    "planes": 16,
}
# the spellings rfcalc adds to Python's, for Python's eval of the same text
PYTHON_SPELLINGS: dict[str, object] = {"true": True, "false": False, "null": None, "none": None}
PYTHON_FUNCTIONS: dict[str, Callable[..., object]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
}


def ours(body: str) -> Value:
    return evaluate("${" + body + "}", NAMES, POS)


def python(body: str) -> object:
    namespace = {"__builtins__": {}, **PYTHON_FUNCTIONS, **PYTHON_SPELLINGS, **NAMES}
    return eval(body, namespace)  # the reference: test text only, never rfcalc's input


def same(a: object, b: object) -> bool:
    """Equal, and of the same type all the way down (``True`` is not ``1``, ``2.0`` not ``2``)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(p, q) for p, q in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------- values

# (text, value): worked out by hand, and Python's eval gives the same
PYTHON: list[tuple[str, Value]] = [
    # comparisons
    ("1 == 1", True),
    ("1 != 1", False),
    ("2 < 3", True),
    ("3 <= 3", True),
    ("2 > 3", False),
    ("2 >= 3", False),
    ("2 == 2.0", True),  # int and float are both numbers
    ("'relu' == act", True),
    ('"relu" != act', False),
    ("'gelu' < 'relu'", True),  # strings order as Python's
    ("k == k", True),
    ("k2 == k", False),  # True == 3 is false in Python too
    ("nil == null", True),
    ("nil == 0", False),
    ("'3' == 3", False),
    # chains, as Python: a < b < c is a < b and b < c
    ("1 < 2 < 3", True),
    ("1 < 3 < 2", False),
    ("3 > 2 == 2", True),  # 3 > 2 and 2 == 2
    ("1 < 2 > 0 != 5", True),
    ("(1 < 2) == true", True),  # parenthesised: a boolean compared with a boolean
    # and, or, not
    ("true and false", False),
    ("true or false", True),
    ("not false", True),
    ("not not true", True),
    ("True and False or True", True),
    ("flag and x > 2", True),
    # precedence: not < and < or, comparisons tighter than not, arithmetic tighter still
    ("true or false and false", True),  # or(true, and(false, false)), not and(or(...), false)
    ("not true or true", True),  # (not true) or true
    ("not (true or true)", False),
    ("not 1 == 2", True),  # not (1 == 2)
    ("false and false or true", True),  # (false and false) or true
    ("not false and false", False),  # (not false) and false
    ("1 + 2 * 3 == 7", True),
    ("2 * 3 + 4 < 11", True),
    ("-2 ** 2", -4),  # -(2 ** 2)
    ("2 ** -1", 0.5),
    ("2 ** 3 ** 2", 512),  # right-associative: 2 ** 9
    ("-3 // 2", -2),  # Python's floor division
    ("-7 % 3", 2),
    ("10 - 4 - 3", 3),  # left-associative
    # the conditional: lowest precedence, right-associative
    ("1 if true else 2", 1),
    ("1 if false else 2", 2),
    ("1 + 1 if false else 5", 5),  # (1 + 1) if false else 5
    ("1 if false else 2 if false else 3", 3),  # 1 if false else (2 if false else 3)
    ("(1 if true else 2) + 10", 11),
    ("'relu' if act == 'relu' else 'gelu'", "relu"),
    ("x if x > y else y", 3),
    ("max(1 if flag else 2, 0)", 1),
    ("not true if false else true", True),  # (not true) if false else true
    # what the networks write
    ("stride != 1 or in_channels != planes * 4", True),
    ("stride == 1 and in_channels == planes * 4", False),  # stride is 2
    ("planes * 4 if stride == 2 else planes", 64),
    # values of every kind pass through
    ("act", "relu"),
    ("'a'", "a"),
    ('""', ""),
    ("k", (3, 3)),
    # a list's entry, as Python's k1[1], k1[-2]
    ("k1[1] * 2 + k1[-2]", 5),
    ("k2[1]", True),
    ("nil", None),
    ("True", True),
    ("None", None),
    ("(((true)))", True),
]

# (text, value): rfcalc's documented decisions, by hand; Python differs or cannot read the text
RFCALC: list[tuple[str, Value]] = [
    ("true == 1", False),  # kinds differ: never equal (Python: True)
    ("false != 0", True),  # Python: False
    ("k2 == k1", False),  # (3, true) vs (3, 1): true is not 1 (Python: True)
    ("k1 != k2", True),
    ("null", None),  # YAML's spelling
    ("none == None", True),
    ("round(2.567, null)", 3),  # null where Python's default is None
    ("make_divisible(30, 8, null)", 32),  # torchvision: max(8, int(30 + 4) // 8 * 8) = 32
    ("round(2.567, 2)", 2.57),
]


@pytest.mark.parametrize(("text", "value"), PYTHON + RFCALC)
def test_values(text: str, value: Value) -> None:
    assert same(ours(text), value)


@pytest.mark.parametrize(("text", "value"), PYTHON)
def test_python_agrees(text: str, value: Value) -> None:
    assert same(python(text), value)


def test_a_bare_name_may_hold_any_value() -> None:
    assert evaluate("$act", NAMES, POS) == "relu"
    assert evaluate("$flag", NAMES, POS) is True
    assert evaluate("$nil", NAMES, POS) is None
    assert evaluate("$true", NAMES, POS) is True


def test_keywords_win_over_variables() -> None:
    names: dict[str, Value] = {"true": 5, "none": 7}
    assert evaluate("${true}", names, POS) is True
    assert evaluate("${none}", names, POS) is None


# ---------------------------------------------------------------- laziness


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("false and 1 / 0", False),
        ("true or 1 / 0", True),
        ("false and true + 1", False),  # the refused arithmetic is never reached
        ("false and 9 ** 9 ** 9", False),
        ("true or not 3", True),
        ("false and (1 if 3 else 2)", False),
        ("false and false and 1 / 0", False),
        ("true and false and 1 / 0", False),
        ("false or true or 1 / 0", True),
        ("1 if true else 1 / 0", 1),
        ("1 / 0 if false else 2", 2),
        ("1 if true else 'relu' + 1", 1),
        ("1 > 2 > 1 / 0", False),  # the chain stops at the first false link
        ("1 == 2 == 1 / 0", False),
        ("1 < 2 and 3 < 4 or 1 / 0", True),
    ],
)
def test_evaluation_stops_where_pythons_does(text: str, value: Value) -> None:
    """Each part not reached would fail if evaluated (by hand; Python's eval agrees)."""
    assert same(ours(text), value)
    assert same(python(text), value)


def test_a_chain_fails_at_its_middle_before_reading_its_end() -> None:
    """Evaluation order is Python's: left to right, each link compared before the next."""
    with pytest.raises(InputError, match="division by zero"):
        ours("1 < 1 / 0 < 'x' + 1")
    with pytest.raises(InputError, match="'<' needs two numbers or two strings"):
        ours("1 < 'x' < 1 / 0")


# ---------------------------------------------------------------- errors

ERRORS: list[tuple[str, str, str | None]] = [
    # conditions must be booleans
    ("3 and 4", "'and' needs true or false, got 3", None),
    ("true and 4", "'and' needs true or false, got 4", None),
    ("false or 'relu'", "'or' needs true or false, got 'relu' (a string)", None),
    ("not 3", "'not' needs true or false, got 3", None),
    ("not nil", "'not' needs true or false, got null", None),
    ("x if 3 else y", "condition must be true or false, got 3", None),
    ("x if k else y", "condition must be true or false, got [3, 3] (a list)", None),
    # arithmetic takes numbers
    ("true + 1", "'+' needs numbers, got true (a boolean)", None),
    ("1 - false", "'-' needs numbers, got false (a boolean)", None),
    ("'a' + 'b'", "'+' needs numbers, got 'a' (a string)", None),
    ("act * 2", "'*' needs numbers, got 'relu' (a string)", None),
    ("(1 < 2) * 3", "'*' needs numbers, got true (a boolean)", None),
    ("nil // 2", "'//' needs numbers, got null", None),
    ("k ** 2", "'**' needs numbers, got [3, 3] (a list)", None),
    ("k2 % 2", "'%' needs numbers, got [3, true] (a list)", None),
    ("-flag", "'-' needs a number, got true (a boolean)", None),
    ("+act", "'+' needs a number, got 'relu' (a string)", None),
    ("max(true, 2)", "max() takes numbers, got true (a boolean)", None),
    ("abs('relu')", "abs() takes numbers, got 'relu' (a string)", None),
    ("round(null)", "round() takes numbers, got null", None),
    # ordering takes two numbers or two strings
    ("1 < 'a'", "'<' needs two numbers or two strings, got 1 and 'a' (a string)", None),
    (
        "true >= false",
        "'>=' needs two numbers or two strings, got true (a boolean) and false (a boolean)",
        None,
    ),
    ("nil > 0", "'>' needs two numbers or two strings, got null and 0", None),
    (
        "k <= k",
        "'<=' needs two numbers or two strings, got [3, 3] (a list) and [3, 3] (a list)",
        None,
    ),
    # syntax
    ("1 if true", "expected 'else', found the end", None),
    ("1 if 2 if 3 else 4 else 5", "expected 'else', found 'if'", None),  # as Python
    ("1 == not true", "unexpected 'not'", None),  # as Python
    ("1 + not true", "unexpected 'not'", None),
    ("- not true", "unexpected 'not'", None),
    ("true and", "unexpected end", None),
    ("x == nil or", "unexpected end", None),
    ("x is None", "unexpected 'is'", "compare with '==' or '!='"),
    ("x = 3", "unexpected '='", "compare with '=='"),
    ("x == 1 && true", "unexpected character '&'", "write 'and'"),
    ("x == 1 || true", "unexpected character '|'", "write 'or'"),
    ("!flag", "unexpected character '!'", "write 'not'"),
    ("not", "unexpected end", None),
    ("if", "unexpected 'if'", None),
    ("else 1", "unexpected 'else'", None),
    # strings: quoted, short, no escapes
    ("'relu", "a string is missing its closing quote", None),
    ("\"relu'", "a string is missing its closing quote", None),
    ("'re\\lu'", "a string takes no '\\' escapes", None),
    ("'re\tlu'", "a string may not hold control characters", None),
    (
        "'" + "a" * (MAX_STRING_CHARS + 1) + "'",
        f"a string longer than {MAX_STRING_CHARS} characters",
        None,
    ),
    ("act.upper", "unexpected character '.'", None),
    # a list's entry (in_shape[1]): a list, an integer index, within the list
    ("act[0]", "'[…]' takes an entry of a list, got 'relu' (a string)", None),
    ("k[flag]", "a list index must be an integer, got true (a boolean)", None),
    ("k[2]", "index 2 is outside the list of 2 entries", None),
    ("k[-3]", "index -3 is outside the list of 2 entries", None),
    ("k[0", "expected ']', found the end", None),
    # names are checked even where evaluation does not reach
    ("1 if true else wdth", "unknown name 'wdth'", None),
    ("false and 'relu' == actt", "unknown name 'actt'", "did you mean 'act'?"),
    ("flag or open(1)", "'open' is not a function rfcalc knows", None),
    ("false and max()", "max() takes 1 to 64 arguments, got 0", None),
    ("ture", "unknown name 'ture'", "did you mean 'true'?"),
]


@pytest.mark.parametrize(("text", "message", "hint"), ERRORS)
def test_errors(text: str, message: str, hint: str | None) -> None:
    with pytest.raises(InputError) as info:
        ours(text)
    assert info.value.message == f"expression '{text}': {message}"
    assert info.value.pos == POS
    assert info.value.hint == hint


def test_the_longest_string_is_read() -> None:
    word = "a" * MAX_STRING_CHARS
    assert ours(f"'{word}' == '{word}'") is True


@pytest.mark.parametrize(
    "wrap",
    [
        lambda inner: f"({inner})",
        lambda inner: f"not {inner}",
        lambda inner: f"1 if ({inner}) else 2",
        lambda inner: f"true if true else {inner}",
        lambda inner: f"max({inner}, 1)",
    ],
)
def test_nesting_is_bounded_for_every_construct(wrap: Callable[[str], str]) -> None:
    """Each construct that nests counts a level; beyond the bound it is an error found in
    the parser, quickly, with no RecursionError."""
    deep = "true"
    for _ in range(MAX_EXPR_DEPTH + 5):
        deep = wrap(deep)
    start = time.perf_counter()
    with pytest.raises(InputError, match="nested deeper"):
        ours(deep)
    assert time.perf_counter() - start < 1.0


def test_the_deepest_accepted_nesting_evaluates() -> None:
    """The whole expression is one level, each parenthesis or prefix one more."""
    text = "(" * (MAX_EXPR_DEPTH - 1) + "true" + ")" * (MAX_EXPR_DEPTH - 1)
    assert ours(text) is True
    for deeper in (f"({text})", f"not {text}", f"- {text}"):
        with pytest.raises(InputError, match="nested deeper"):
            ours(deeper)


def test_long_flat_chains_do_not_recurse() -> None:
    """A run of one precedence level is one flat node: far more operators than levels."""
    assert ours(" and ".join(["true"] * 100)) is True
    assert ours(" < ".join(str(i) for i in range(100))) is True
    assert ours(" - ".join(["1"] * 200)) == -198


# ---------------------------------------------------------------- against Python's eval


class RefusalError(Exception):
    """A documented refusal met by the oracle; ``kind`` names it."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# how rfcalc words each refusal
REFUSALS = {
    "arithmetic": ("needs numbers, got", "needs a number, got"),
    "call": ("takes numbers, got",),
    "condition": ("true or false, got",),
    "order": ("needs two numbers or two strings",),
    "zero": ("division by zero",),
    "large": ("too large",),
    "real": ("not a real number",),
}
LIMIT = 2**63


def kind_of(v: object) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def strict_equal(a: object, b: object) -> bool:
    """The documented ``==``: values of different kinds are never equal."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(strict_equal(p, q) for p, q in zip(a, b, strict=True))
    return kind_of(a) == kind_of(b) and a == b


def checked(v: object) -> object:
    if isinstance(v, complex):
        raise RefusalError("real")
    if isinstance(v, (int, float)) and abs(v) >= LIMIT:
        raise RefusalError("large")
    return v


class S:
    """A value under the documented rules; Python's eval drives it over the same text, so
    Python decides parsing, precedence and evaluation order, and S only the documented rules.
    ``differs`` records that ``==`` met values Python compares otherwise."""

    differs = False

    def __init__(self, v: object) -> None:
        self.v = v

    def num(self, kind: str = "arithmetic") -> int | float:
        if isinstance(self.v, bool) or not isinstance(self.v, (int, float)):
            raise RefusalError(kind)
        return self.v

    def arith(self, other: S, fn: Callable[[float, float], object]) -> S:
        a, b = self.num(), other.num()
        try:
            return S(checked(fn(a, b)))
        except ZeroDivisionError:
            raise RefusalError("zero") from None

    def __add__(self, o: S) -> S:
        return self.arith(o, operator.add)

    def __sub__(self, o: S) -> S:
        return self.arith(o, operator.sub)

    def __mul__(self, o: S) -> S:
        return self.arith(o, operator.mul)

    def __truediv__(self, o: S) -> S:
        return self.arith(o, operator.truediv)

    def __floordiv__(self, o: S) -> S:
        return self.arith(o, operator.floordiv)

    def __mod__(self, o: S) -> S:
        return self.arith(o, operator.mod)

    def __pow__(self, o: S) -> S:
        a, b = self.num(), o.num()
        if abs(a) > 1 and b > 0 and b * math.log2(abs(a)) >= 63:
            raise RefusalError("large")  # before Python computes a huge power
        return self.arith(o, operator.pow)

    def __neg__(self) -> S:
        return S(-self.num())

    def __pos__(self) -> S:
        return S(+self.num())

    def __bool__(self) -> bool:
        if not isinstance(self.v, bool):
            raise RefusalError("condition")
        return self.v

    def __eq__(self, o: object) -> S:  # type: ignore[override]
        assert isinstance(o, S)
        result = strict_equal(self.v, o.v)
        S.differs |= result != (self.v == o.v)
        return S(result)

    def __ne__(self, o: object) -> S:  # type: ignore[override]
        return S(not (self == o).v)

    def order(self, o: S, fn: Callable[[Any, Any], object]) -> S:
        kinds = {kind_of(self.v), kind_of(o.v)}
        if kinds not in ({"number"}, {"str"}):
            raise RefusalError("order")
        return S(fn(self.v, o.v))

    def __lt__(self, o: S) -> S:
        return self.order(o, operator.lt)

    def __le__(self, o: S) -> S:
        return self.order(o, operator.le)

    def __gt__(self, o: S) -> S:
        return self.order(o, operator.gt)

    def __ge__(self, o: S) -> S:
        return self.order(o, operator.ge)

    __hash__ = None  # type: ignore[assignment]


def condition(s: S) -> S:
    bool(s)  # each operand of and/or must be a boolean, the last one too
    return s


def strict_function(fn: Callable[..., object], nullable: int | None = None) -> Callable[..., S]:
    def call(*args: S) -> S:
        values = [
            None if a.v is None and i == nullable else a.num("call") for i, a in enumerate(args)
        ]
        try:
            return S(checked(fn(*values)))
        except ZeroDivisionError:
            raise RefusalError("zero") from None

    return call


class Instrument(ast.NodeTransformer):
    """Constants and ``not x`` become S values; each operand of and/or passes ``condition``."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return ast.Call(ast.Name("S", ast.Load()), [node], [])

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):  # Python's not gives a bool: keep it an S
            return ast.Call(ast.Name("S", ast.Load()), [node], [])
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        node.values = [ast.Call(ast.Name("condition", ast.Load()), [v], []) for v in node.values]
        return node


def oracle(tree: ast.Expression) -> tuple[object, bool]:
    """The documented value of the expression and whether Python's own differs from it;
    raises RefusalError where rfcalc documents an error."""
    code = compile(ast.fix_missing_locations(Instrument().visit(tree)), "<oracle>", "eval")
    functions = {name: strict_function(fn) for name, fn in PYTHON_FUNCTIONS.items()}
    namespace: dict[str, object] = {
        "__builtins__": {},
        "S": S,
        "condition": condition,
        **functions,
        "round": strict_function(round, nullable=1),
        **{name: S(v) for name, v in {**PYTHON_SPELLINGS, **NAMES}.items()},
    }
    S.differs = False
    result = eval(code, namespace)  # the oracle: test text only
    assert isinstance(result, S)
    return result.v, S.differs


def agree_with_python(text: str) -> None:
    try:
        value: Value | None = ours(text)
        error = None
    except InputError as exc:
        value, error = None, exc.message
    assume(error is None or "nested deeper" not in error)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        assert error is not None, f"Python cannot read {text!r}, rfcalc gave {value!r}"
        assert "expected" in error or "unexpected" in error
        return
    refusal = None
    try:
        expected, differs = oracle(tree)
    except RefusalError as refused:
        refusal = refused.kind
    if refusal is not None:
        assert error is not None, f"{text!r}: rfcalc gave {value!r}, documented: {refusal}"
        assert any(f in error for f in REFUSALS[refusal]), (error, refusal)
        return
    assert error is None, f"{text!r}: {error}; documented: {expected!r}"
    assert same(value, expected), (text, value, expected)
    if not differs:
        assert same(value, python(text)), text


Term = tuple[str, str]  # (kind of the value, text)

LEAVES: list[Term] = [
    *(("num", t) for t in ("0", "1", "2", "3", "5", "2.5", "0.5", "x", "y", "z")),
    *(("bool", t) for t in ("true", "false", "True", "False", "flag")),
    *(("str", t) for t in ("'relu'", '"gelu"', "act")),
    *(("null", t) for t in ("null", "none", "None", "nil")),
    *(("list", t) for t in ("k", "k2")),
]
NUMBER_LEAVES = [t for kind, t in LEAVES if kind == "num"]
ARITH = ["+", "-", "*", "/", "//", "%"]
ORDER = ["<", "<=", ">", ">="]
EQUAL = ["==", "!="]
EVERY = [*ARITH, *ORDER, *EQUAL, "and", "or"]


def ops_for(kinds: set[str]) -> list[str]:
    """The binary operators the documented rules accept for operands of these kinds."""
    if kinds == {"num"}:
        return ARITH + ORDER + EQUAL
    if kinds == {"bool"}:
        return ["and", "or", *EQUAL]
    if kinds == {"str"}:
        return ORDER + EQUAL
    return EQUAL


@st.composite
def compound(draw: st.DrawFn, children: st.SearchStrategy[Term]) -> Term:
    """A node over random children: mostly well typed (its operator fits its operands' kinds),
    one time in eight anything; an operand loses its parentheses one time in two, so the
    text's own precedence decides what it means (to rfcalc and to Python alike)."""

    def operand(term: Term) -> str:
        return term[1] if draw(st.booleans()) else f"({term[1]})"

    def number(term: Term) -> Term:
        return term if sloppy or term[0] == "num" else ("num", draw(st.sampled_from(NUMBER_LEAVES)))

    sloppy = draw(st.integers(0, 7)) == 0
    shape = draw(st.sampled_from(["binary", "binary", "chain", "unary", "if", "call", "power"]))
    if shape == "binary":
        a, b = draw(children), draw(children)
        op = draw(st.sampled_from(EVERY if sloppy else ops_for({a[0], b[0]})))
        kind = "num" if op in ARITH else "bool"
        return kind, f"{operand(a)} {op} {operand(b)}"
    if shape == "chain":
        terms = draw(st.lists(children, min_size=3, max_size=4))
        ops = EVERY if sloppy else [*ORDER, *EQUAL] if {k for k, _ in terms} == {"num"} else EQUAL
        text = operand(terms[0])
        for term in terms[1:]:
            text += f" {draw(st.sampled_from(ops))} {operand(term)}"
        return "bool", text
    if shape == "unary":
        kind, text = draw(children)
        fits = {"num": ["-", "+"], "bool": ["not "]}.get(kind, ["-", "+", "not "])
        op = draw(st.sampled_from(["-", "+", "not "] if sloppy else fits))
        return ("bool" if op == "not " else "num"), op + operand((kind, text))
    if shape == "if":
        then, cond, otherwise = draw(children), draw(children), draw(children)
        test = (
            operand(cond) if sloppy or cond[0] == "bool" else f"{operand(cond)} == {operand(cond)}"
        )
        kind = then[0] if then[0] == otherwise[0] else "any"
        return kind, f"{operand(then)} if {test} else {operand(otherwise)}"
    if shape == "call":
        name = draw(st.sampled_from(["min", "max", "abs", "round", "floor", "ceil"]))
        count = draw(st.integers(2, 3)) if name in ("min", "max") else 1
        args = [number(draw(children))[1] for _ in range(count)]
        return "num", f"{name}({', '.join(args)})"
    base = number(draw(children))
    exponents = ["0", "1", "2", "3", "-1", "-2"] + (["true", "'a'", "0.5"] if sloppy else [])
    return "num", f"{operand(base)} ** {draw(st.sampled_from(exponents))}"


EXPRESSIONS = st.recursive(st.sampled_from(LEAVES), compound, max_leaves=12).map(lambda t: t[1])


@st.composite
def joined(draw: st.DrawFn, parts: st.SearchStrategy[str], ops: list[str], most: int) -> str:
    """``p op p op p …`` with no parentheses: precedence alone gives it a meaning."""
    text = draw(parts)
    for _ in range(draw(st.integers(0, most))):
        text += f" {draw(st.sampled_from(ops))} {draw(parts)}"
    return text


# Unparenthesised runs over every level, well typed only if precedence is Python's:
# arithmetic in comparisons in not/and/or in a conditional.
POWERS = st.tuples(
    st.sampled_from(["", "-", "+", "- -"]),
    st.sampled_from([*NUMBER_LEAVES, "-1", "4"]),
    st.sampled_from(["", " ** 2", " ** 3", " ** -1", " ** 0 ** 2"]),
).map("".join)
SUMS = joined(POWERS, ARITH, 3)
COMPARISONS = st.tuples(SUMS, st.sampled_from([*ORDER, *EQUAL]), joined(SUMS, [*ORDER, *EQUAL], 2))
TESTS = st.tuples(
    st.sampled_from(["", "not ", "not not "]),
    COMPARISONS.map(" ".join) | st.sampled_from(["true", "false", "flag"]),
).map("".join)
CONDITIONS = joined(TESTS, ["and", "or"], 3)
SOUP = CONDITIONS | st.tuples(SUMS, CONDITIONS, SUMS).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}")


@settings(max_examples=500 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_random_expressions_agree_with_python(text: str) -> None:
    agree_with_python(text)


@settings(max_examples=300 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SOUP)
def test_precedence_agrees_with_python(text: str) -> None:
    agree_with_python(text)


@settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRESSIONS)
def test_what_is_not_reached_is_not_evaluated(text: str) -> None:
    """Any expression rfcalc can read, however it would fail, is skipped where Python skips."""
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        assume(False)
    assert ours(f"false and ({text})") is False
    assert ours(f"true or ({text})") is True
    assert ours(f"1 if true else ({text})") == 1
    assert ours(f"({text}) if false else 2") == 2
    assert ours(f"1 > 2 < ({text})") is False


@pytest.mark.parametrize(
    "text",
    [
        "1 + true",
        "true == 1",
        "3 and 4",
        "not 0",
        "'a' + 'b'",
        "(1 < 2) + 1",
        "k2 == k1",
        "true < 2",
    ],
)
def test_the_oracle_sees_each_documented_difference(text: str) -> None:
    """The property test filters exactly the documented differences: here Python's eval gives
    a value, and the oracle marks each of these as a difference (a refusal, or ``differs``)."""
    python(text)
    try:
        _, differs = oracle(ast.parse(text, mode="eval"))
    except RefusalError:
        return
    assert differs


# ---------------------------------------------------------------- one parse per text


def test_a_text_parsed_once_reads_each_environment_anew() -> None:
    """The same text at two places with two environments: each gets its own values and its own
    position (the tree is kept by text, the values are not)."""
    here, there = SourcePos("a.yaml", 1, 2), SourcePos("b.yaml", 3, 4)
    assert evaluate("${w * 2 + 1}", {"w": 3}, here) == 7  # 3 * 2 + 1
    assert evaluate("${w * 2 + 1}", {"w": 10}, there) == 21  # 10 * 2 + 1
    with pytest.raises(InputError) as info:
        evaluate("${w * 2 + 1}", {"v": 1}, there)
    assert info.value.message == "expression 'w * 2 + 1': unknown name 'w'"
    assert info.value.pos == there
    with pytest.raises(InputError) as info:
        evaluate("${w // 0}", {"w": 1}, here)
    assert info.value.pos == here
    with pytest.raises(InputError) as info:
        evaluate("${w // 0}", {"w": 2}, there)  # the same text, parsed before: its own place
    assert (info.value.message, info.value.pos) == ("expression 'w // 0': division by zero", there)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a misspelt name before the mistake is met first, as the parser reads left to right
        ("wdth + (1", "unknown name 'wdth'"),
        ("wdth + max()", "unknown name 'wdth'"),
        ("x + wdth + (1", "unknown name 'wdth'"),
        # the mistake before the misspelt name is met first
        ("(1 + ) + wdth", "unexpected ')'"),
        ("max() + wdth", "max() takes 1 to 64 arguments, got 0"),
        ("1e400 + wdth", "result is not a finite number"),
    ],
)
def test_the_first_mistake_is_reported_whatever_was_parsed_before(text: str, message: str) -> None:
    for _ in range(2):  # a text that fails is never kept: the second time reads the same
        with pytest.raises(InputError) as info:
            ours(text)
        assert info.value.message == f"expression '{text}': {message}"


def test_a_name_is_read_once_before_evaluating() -> None:
    """Every name an expression mentions is read before it is evaluated, also in a branch that
    is not taken (an unknown one is an error there too), and each once."""
    reads: list[str] = []

    class Env(dict[str, Value]):
        def __getitem__(self, key: str) -> Value:
            reads.append(key)
            return super().__getitem__(key)

    env = Env(a=1, b=2)
    assert evaluate("${a if true else b + b}", env, POS) == 1
    assert reads == ["a", "b"]
