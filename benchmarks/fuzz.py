"""Fuzz the rfcalc command line and check the product's promise on every input.

    python benchmarks/fuzz.py [--count N] [--seconds S] [--seed N] [--jobs J]
                              [--timeout S] [--slow S] [--memory-mb M]
                              [--minimize-seconds S] [--crash-dir DIR] [--progress]

The promise (docs/cli.md, the README's "Limits"): for any input (file bytes, standard input,
``--set`` values, ``--input``, check limits, flags) rfcalc exits 0, 1 (a failed ``check``) or 2
with ``path:line:col: error: …`` on stderr; never a traceback, a signal, a hang or runaway
memory; its output never carries terminal control characters echoed from the input; and when
it exits 2, stdout is empty.

Inputs. Input ``i`` is drawn from ``random.Random(f"{seed}:{i}")``, so a run is a function of
``--seed`` and ``--count`` alone, whatever ``--jobs`` is. Each is a model (or several) plus a
command line:

- *grammar*: model files built from the layer registry (every LayerKind's arguments, by their
  type ``T``), with ``vars``, ``blocks``, ``repeat``, ``from``, ``${…}`` expressions,
  ``checks``, anchors and aliases, explicit tags and odd scalars, in block or flow style; then
  dressed as text: BOMs, UTF-16/32, CRLF, tabs, directives, NULs, invalid UTF-8;
- *mutation*: the examples (or a grammar file) with bytes and lines flipped, inserted,
  deleted, duplicated, numbers and type names swapped, two files spliced;
- *pathology*: deep nesting (flow, block, ``? `` keys, ``- `` entries), alias bombs, huge
  numbers, long lines, many errors, huge axes;
- *command line*: ``describe`` with random ``--set``, ``--input``, ``--batch``, ``--depth``,
  ``--dtype``, ``--format``, ``-o``; ``check`` of several good and bad files with odd limits;
  ``diff``; ``layers``; unknown options. The model comes as a file, on standard input (a pipe,
  or a file when large), or is a special path (/dev/zero, a folder, a missing file).

Running. Each input runs in a child forked from this process, which has imported rfcalc once
(a fork-server loop: a child costs a fork, not a start-up). The child's working directory is a
scratch folder holding the model files (m0.yaml, …; ``-o`` writes out.txt); its standard input
is a pipe, a file or closed; stdout and stderr go to files outside that folder; ``RLIMIT_AS``
is the parent's address space plus twice ``--memory-mb``; no core dumps. It calls
``rfcalc.cli.main()`` as the ``rfcalc`` script does, printing an uncaught exception's
traceback and exiting 1 as the interpreter would. The parent kills a child after ``--timeout``
seconds of CPU time (or four times that of wall time), and reads its CPU time and peak RSS from
``wait4``; a segfault ends only the child. ``--jobs`` children run at once. Times are CPU
times because wall times on a busy machine measure the machine.

Verdicts, one per input (the worst counts):

- *crash*: a traceback, a signal, an exit code other than 0, 1 and 2, a ``MemoryError``;
- *hang*: killed at the timeout;
- *violation*: exit 1 outside ``check``; exit 2 with stdout, without a message, or with a
  stderr line not in the error format; stderr on exit 0 or 1; a control character (C0 but tab
  and newline, ESC included; C1, U+0080–U+009F; or bytes that are not UTF-8) in stdout, stderr
  or the ``-o`` file; JSON output that is not strict JSON; peak RSS over the parent's by more
  than ``--memory-mb``; ``-o`` written on failure, or the model file changed;
- *slow*: finished, but used more than ``--slow`` seconds of CPU (user + system).

Decisions where the promise is silent:

- Exit 2's stderr lines are ``path:line:col: error: …``, ``hint: …``, ``… and N more
  errors``, or ``rfcalc: error: …`` (``errors.py``'s form for an error without a position) for
  what is not in a file: an option's value (the message names the option: ``--set …``) or the
  TYPE of ``rfcalc layers``. Click's usage block (stderr starting ``Usage: rfcalc`` or
  ``Error: ``) is accepted for command-line syntax: an unknown option, a missing argument, a
  non-integer ``--batch``, a ``--format`` outside its choices, no command at all.
- ``check`` prints its report on stdout also when a file is invalid (exit 2; the README: "the
  other files are still checked"), so for ``check`` the stdout of exit 2 must be that report.
- The standard streams are those of a UTF-8 locale such as en_US.UTF-8: stdout encodes
  strictly, stderr with backslashreplace (``PYTHONIOENCODING=utf-8:strict`` gives the same
  under C.UTF-8, whose stdout would instead write lone surrogates as raw bytes).
- A positioned error whose path is empty (``rfcalc describe ''`` gives ``:1:1: error: …``) is
  reported as its own class: the position names no file.
- Hangs and slow inputs are grouped by the generator that made them (``pathology:huge-axes``),
  the rest by what went wrong (exception and innermost rfcalc frame, signal, message template).
- ``repeat`` values stay small: a model that legitimately expands to a million layers takes
  tens of seconds (README), which is documented, not a hang.

Output: the summary line ``inputs: N  crashes: C  hangs: H  slow: S  violations: V``, then
one line per failure class: its verdict, its key, how many inputs showed it, the reproducer
and its command. Reproducers are minimized (arguments, then lines, then bytes, by delta
debugging, while the class stays the same) within ``--minimize-seconds`` in all, and saved
under ``--crash-dir``: ``<class>.txt`` holds the command, what happened and the output, the
model files sit beside it. Last, the exit codes and the time. Exit status 1 when anything
failed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import resource
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn, TypeAlias

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rfcalc.layers import REGISTRY, lookup  # noqa: E402
from rfcalc.layers.base import Arg, LayerKind, T  # noqa: E402

KINDS: list[LayerKind] = sorted(
    {k.name: k for k in REGISTRY.values()}.values(), key=lambda k: k.name
)
TYPE_NAMES = sorted(REGISTRY)
COMMANDS = ("describe", "check", "diff", "layers")


def _kinds_by_rank() -> dict[int, list[LayerKind]]:
    """Layer kinds that fit an input of each spatial rank: 'conv2d' for 2, 'relu' for all."""
    out: dict[int, list[LayerKind]] = {r: [] for r in range(4)}
    for kind in KINDS:
        m = re.search(r"(\d)d$", kind.name)
        for rank in out:
            if m is None or int(m.group(1)) == rank:
                out[rank].append(kind)
    return out


KINDS_BY_RANK = _kinds_by_rank()

# ---------------------------------------------------------------------------------------------
# Values: YAML source text of scalars, some odd on purpose
# ---------------------------------------------------------------------------------------------

ODD_NUMBERS = [
    # YAML 1.1 forms PyYAML resolves to numbers (octal, hex, binary, base 60, underscores)
    *("010", "0o17", "0x1F", "-0x1F", "0b1010", "1_000", "1:30", "190:20:30", "+12", "-0"),
    *("0.", ".5", "1e3", "1.5e3", "3.0", ".inf", "-.inf", ".nan", ".NaN", "1e400", "-1e400"),
    *("1e-400", "2147483647", "2147483648", "-2147483649", "9223372036854775808"),
    *("9" * 30, "1" + "0" * 400, "9" * 4301, "9" * 20_000, "-" + "9" * 5000),
    # digits Python's int() reads but YAML does not
    *("²", "٣", "１２", "߁", "3²"),
]
ODD_STRINGS = [
    *('"\\ud800"', '"\\udfff"', '"\\udcff"', '"\\x1b[2J"', '"\\e[31m"', '"\\x9b31m"'),
    *('"\\u202e"', '"\\x85"', '"\\0"', '"\\x07"', '"\\r"', '"a\\nb"', '"\\t"', "'\\x1b'"),
    *("''", '""', "~", "null", "Null", "yes", "no", "on", "off", "y", "n", "TRUE", "-", "x"),
    *("'3'", "[]", "{}", "[1, null]", "[[1, 2], [0, 3]]", "{a: 1}", "same", "valid", "'SAME'"),
    "\x1b[2J",
    "\u0085",
]
ODD_TAGGED = [
    *("!!int abc", "!!int 3", "!!int 0x1F", "!!int 1:30", "!!int 010", "!!int ''", "!!int 3.5"),
    *("!!int " + "9" * 5000, "!!int ٣", "!!float 3", "!!float abc", "!!float 1e400"),
    *("!!float .nan", "!!bool yes", "!!bool 3", "!!str 3", "!!null 3", "!!null ''"),
    *("!!timestamp 2001-12-14", "!!timestamp 2001-12-14t21:59:43.10-05:00", "!!timestamp x"),
    *("!!binary aGVsbG8=", "!!binary '!!!'", "!foo 3", "!<tag:yaml.org,2002:int> 7"),
    *("!<tag:example.com,2000:x> 7", "!!python/object:os.system x", "!!set {a}"),
    *("!!omap [a: 1]", "!!seq [1]", "!!map {a: 1}", "!!str [1]", "!!int [3]"),
]
ODD_EXPRESSIONS = [
    *("${9**9**9}", "${make_divisible(8, 0)}", "${make_divisible(1e308, 1e-308)}"),
    *("${make_divisible(-8, 3, -1)}", "${round(1e308, -400)}", "${round(2.5, 400)}"),
    *("${round(1e300 * 10)}", "${10**18 * 10}", "${2**62 + 2**62}", "${-2**63}", "${1/3}"),
    *("${0**-1}", "${(-8)**0.5}", "${1e308 * 10}", "${floor(1e300)}", "${ceil(-1e19)}"),
    *("${max()}", "${min(1)}", "${8 // 0}", "${8 % 0}", "${1 +}", "${((((1))))}", "$", "${}"),
    *("${w}}", "$w.x", "${w[0]}", "${__import__('os')}", "${lambda: 1}", "${1 if 1 else 2}"),
    *("${1e999}", "${.5e-999}", "${1_000}", "${٣}", "${0x10}", "${2 ** 0.5}", "${-(-(-1))}"),
    *("${" + "(" * 60 + "1" + ")" * 60 + "}", "${" + "-" * 200 + "1}", "${" + "1+" * 600 + "1}"),
    *("${" + "max(" * 30 + "1" + ")" * 30 + "}", "${abs(-9223372036854775807 - 1)}"),
    *("${2 ** 62.9}", "${floor(-0.5)}", "${round(0.5)}", "${\x1b}", "${w ** -1}", "${1e-320}"),
]


def quote(text: str) -> str:
    """A YAML single-quoted scalar."""
    return "'" + text.replace("'", "''") + "'"


ODD_SCALARS = ODD_NUMBERS + ODD_STRINGS + ODD_TAGGED + [quote(e) for e in ODD_EXPRESSIONS]

ODD_NAMES = [
    *('"a.b"', '""', '"\\x1b[2J"', '"\\x1b]0;pwned\\x07"', '"input"', '"a b"', '"0"', "123"),
    *("true", "null", '"${w}"', "$w", '"\\ud800"', '"\\u202e"', '"x\\ny"', '"\\t"', "[a]"),
    *('"' + "n" * 5000 + '"', '"ünïcødé"', '"\\x9b"'),
]

# command-line values
CLI_INTS = [
    *("0", "1", "2", "3", "-1", "+3", " 4", "4 ", "007", "1_000", "0x10", "1e3", "1e320"),
    *("1.5", "2147483647", "2147483648", "4294967296", "9" * 25, "9" * 400, "9" * 5000),
    *("٣", "²", "１２", "", " ", "abc", "nan", "inf", "-0", "\x1b[2J", "3\n", "\t3"),
]
CLI_COUNTS = [
    *("0", "1", "100", "30M", "5G", "1.5K", "1.2345K", "2.5", "-1", "1e3", "1_000", " 3 "),
    *("3 M", "K", "", "٣", "9" * 30, "9" * 5000, "0x10", "nan", "inf", "1,000", "\x1b[2J"),
    *("30m", "1T", "+5", "0.0001G", "1" + "0" * 400 + "G", "\udcff", "3\n"),
]
CLI_SHAPES = [
    *("1000", "2048,7,7", "64,22,22", "1,28,28", "3,224,224", "0", "1x2", ",", "", "٣"),
    *("9" * 25, "-1", "1,2,3,4,5", "10×10", " 3 , 4 ", "3,,4", "1e3", "\x1b", "3,8,8,8"),
    *("2147483648,1", "1,2147483647", "3 x 8 x 8", "3;8;8", "[3, 8, 8]", "9" * 5000),
]
CLI_SET_NAMES = [
    *("w", "k", "c", "width", "s", "depth", "ratio", "planes", "nope", "", " ", "w ", "="),
    *("a.b", "\x1b", "input", "layers", "W", "\udcff", "w\nx"),
]
CLI_SET_VALUES = [
    *("1", "2", "8", "64", "0", "-1", "[1, 2]", "[3, 3]", "$w", "${w * 2}", "", " "),
    *("{a: 1}", "[1, [2]]", "[" * 100, "&a 1", "*a", "- 1", "a: b", "1 # c", "'", '"'),
    *("\\", "%YAML 1.1", "---", "...", "a\nb", "\x1b[2J", "\udcff", "1\n---\n2", "? a"),
    *("!!int abc", "[" * 10_000, "x" * 100_000),
]
FORMATS = ["table", "json", "markdown", "csv", "JSON", "text", "", "\x1b", "tabl"]
CHECK_FORMATS = ["text", "json", "table", ""]
DTYPES = ["float32", "float16", "bfloat16", "int8", "float64", "", "\x1b"]
SPECIAL_PATHS = [
    *("/dev/null", "/dev/zero", ".", "missing.yaml", "-", "/dev/stdin", "*.yaml", "**"),
    *("", " ", "\x1b[2J.yaml", "no\ndir/m.yaml", "/proc/self/status", "m0.yaml/"),
]

# ---------------------------------------------------------------------------------------------
# Grammar: random, mostly valid model files
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tagged:
    """A node written after a prefix: an anchor ``&a``, a tag ``!!map``, or both."""

    prefix: str
    node: Node


Node: TypeAlias = "str | list[Node] | dict[str, Node] | Tagged"  # a str is YAML source text


class Emitter:
    """Writes a Node tree as YAML, each collection in block or flow style at random."""

    def __init__(self, rng: random.Random, flow_share: float):
        self.rng = rng
        self.flow_share = flow_share
        self.step = rng.choice([2, 2, 2, 4, 1, 3])

    def flow(self, node: Node) -> str:
        if isinstance(node, str):
            return node
        if isinstance(node, Tagged):
            return f"{node.prefix} {self.flow(node.node)}"
        if isinstance(node, list):
            return "[" + ", ".join(self.flow(v) for v in node) + "]"
        return "{" + ", ".join(f"{k}: {self.flow(v)}" for k, v in node.items()) + "}"

    def _inline(self, node: Node) -> bool:
        inner = node.node if isinstance(node, Tagged) else node
        return isinstance(inner, str) or not inner or self.rng.random() < self.flow_share

    def block(self, node: Node, indent: int) -> list[str]:
        if isinstance(node, dict):
            return [line for k, v in node.items() for line in self.entry(k, v, indent)]
        if isinstance(node, list):
            return [line for v in node for line in self.item(v, indent)]
        return [" " * indent + self.flow(node)]

    def entry(self, key: str, value: Node, indent: int) -> list[str]:
        pad = " " * indent
        if self._inline(value):
            if self.rng.random() < 0.03:  # a complex key
                return [f"{pad}? {key}", f"{pad}: {self.flow(value)}"]
            return [f"{pad}{key}: {self.flow(value)}"]
        prefix, inner = (value.prefix, value.node) if isinstance(value, Tagged) else ("", value)
        head = f"{pad}{key}:" + (f" {prefix}" if prefix else "")
        return [head, *self.block(inner, indent + self.step)]

    def item(self, value: Node, indent: int) -> list[str]:
        pad = " " * indent
        if self._inline(value):
            return [f"{pad}- {self.flow(value)}"]
        if isinstance(value, Tagged):
            return [f"{pad}- {value.prefix}", *self.block(value.node, indent + 2)]
        lines = self.block(value, indent + 2)
        lines[0] = f"{pad}- {lines[0][indent + 2 :]}"
        return lines


class Grammar:
    """Model documents from the layer registry; ``rank`` tracks the spatial rank loosely so
    that most layers fit their input."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.rank = 2
        self.var_names: list[str] = []
        self.block_args: list[str] = []
        self.blocks_made: list[tuple[str, list[str]]] = []
        self.var_anchors: list[str] = []  # anchors on variables' values, aliased as arguments
        self.anchors: list[str] = []  # anchors on layers, aliased as layers
        self.clean = rng.random() < 0.4  # no odd values, names, tags or keys at all
        self.odd = 0.0 if self.clean else rng.choice([0.02, 0.05, 0.15])  # share of odd values

    def noisy(self, p: float) -> bool:
        """True with probability p, in a file that is not clean."""
        return not self.clean and self.rng.random() < p

    def document(self) -> dict[str, Node]:
        r = self.rng
        self.rank = r.choice([0, 1, 2, 2, 2, 3])
        channels = r.choice([1, 3, 4, 8, 16])
        sizes = [1, 5, 8, 16, 32, 64] if r.random() < 0.9 else [224, 1000, 4097, 100_000, 2**24]
        shape = [str(channels)] + [str(r.choice(sizes)) for _ in range(self.rank)]
        doc: dict[str, Node] = {}
        if r.random() < 0.3:
            doc["name"] = self.text()
        if r.random() < 0.1:
            doc["description"] = self.text()
        doc["input"] = [self.maybe_odd(s) for s in shape]
        if self.noisy(0.1):
            doc["input"] = self.value_for_var()
        if r.random() < 0.5:
            doc["vars"] = self.variables()
        if r.random() < 0.35:
            doc["blocks"] = self.blocks()
        doc["layers"] = self.layers(r.randrange(1, 9))
        if r.random() < 0.25:
            doc["checks"] = self.checks()
        if self.noisy(0.03):
            doc[r.choice(["layer", "Layers", "inputs", "check", "var", "\x1b", '"a\\nb"'])] = "1"
        if self.noisy(0.03):
            del doc[r.choice(["input", "layers"])]
        return doc

    def maybe_odd(self, value: str) -> str:
        return self.rng.choice(ODD_SCALARS) if self.rng.random() < self.odd else value

    def text(self) -> str:
        if not self.noisy(0.7):
            return self.rng.choice(["net", "'my net'", "ünïcødé-net", '"with: colon"'])
        return self.rng.choice(['"tab\\there"', "x" * 300, *ODD_NAMES])

    def small_int(self, lo: int = 1) -> str:
        return str(max(lo, self.rng.choice([0, 1, 1, 2, 2, 3, 4, 8, 16, 32])))

    def expression(self, depth: int = 0) -> str:
        r = self.rng
        names = self.var_names + self.block_args
        roll = r.random()
        if depth > 3 or roll < 0.35:
            if names and r.random() < 0.6:
                return r.choice(names)
            return r.choice(["0", "1", "2", "3", "8", "0.5", "1.5", "1e3", "7.", ".5", "9" * 19])
        if roll < 0.6:
            op = r.choice(["+", "-", "*", "/", "//", "%", "**"])
            return f"{self.expression(depth + 1)} {op} {self.expression(depth + 1)}"
        if roll < 0.7:
            return f"({self.expression(depth + 1)})"
        if roll < 0.78:
            return f"-{self.expression(depth + 1)}"
        fn = r.choice(["min", "max", "abs", "round", "floor", "ceil", "make_divisible"])
        if self.noisy(0.05):
            fn = r.choice(["pow", "int", "__import__", "max.__class__"])
        args = ", ".join(self.expression(depth + 1) for _ in range(r.choice([1, 1, 2, 2, 3, 0])))
        return f"{fn}({args})"

    def expr_value(self) -> str:
        names = self.var_names + self.block_args
        if names and self.rng.random() < 0.4:
            return "$" + self.rng.choice(names)
        if self.noisy(0.1):
            return quote(self.rng.choice(ODD_EXPRESSIONS))
        return quote("${" + self.expression() + "}")

    def value_for_var(self) -> Node:
        r = self.rng
        roll = r.random()
        if roll < 0.5:
            return self.small_int()
        if roll < 0.6:
            return r.choice(["0.5", "1.5", "2.0", "0.25"])
        if roll < 0.75:
            return [self.small_int() for _ in range(r.choice([1, 2, 3]))]
        if roll < 0.9 or self.clean:
            return self.expr_value()
        return r.choice(ODD_SCALARS)

    def variables(self) -> dict[str, Node]:
        out: dict[str, Node] = {}
        for name in self.rng.sample(
            ["w", "k", "c", "width", "s", "ratio"], self.rng.randrange(1, 5)
        ):
            value = self.value_for_var()
            if self.rng.random() < 0.2:
                self.var_anchors.append(f"{name}A")
                value = Tagged(f"&{name}A", value)
            out[name] = value
            self.var_names.append(name)
        return out

    def blocks(self) -> dict[str, Node]:
        r = self.rng
        out: dict[str, Node] = {}
        for i in range(r.randrange(1, 3)):
            name = r.choice(["b", "stage", "res", "unit"]) + str(i)
            if self.noisy(0.1):
                name = r.choice(["conv2d", "Relu", "b.x", "input", '""', "1"])
            params = r.sample(["c", "s", "k"], r.randrange(0, 3))
            args: dict[str, Node] = {p: r.choice(["null", "1", "2", "3", "[1, 2]"]) for p in params}
            self.block_args = params
            body: dict[str, Node] = {"layers": self.layers(r.randrange(1, 5), in_block=True)}
            if params or r.random() < 0.2:
                empty = r.choice(["{}", "null", "[]"] if self.noisy(0.5) else ["{}", "null"])
                body = {"args": args or empty, **body}
            if self.noisy(0.03):
                body["extra"] = "1"
            self.block_args = []
            out[name] = body
            self.blocks_made.append((name, params))
        if self.noisy(0.1):  # a block using a later one: a cycle, or a forward use
            first = out[next(iter(out))]
            if isinstance(first, dict) and isinstance(first["layers"], list):
                first["layers"].append(r.choice(list(out)))
        return out

    def layers(self, n: int, in_block: bool = False) -> list[Node]:
        names = ["input"]
        saved_rank = self.rank
        items = [self.layer(names) for _ in range(n)]
        if in_block:
            if self.rng.random() < 0.4:
                items.append({"type": "add", "from": [names[-1], "input"]})
            self.rank = saved_rank
        if self.anchors and self.rng.random() < 0.3:
            items.append("*" + self.rng.choice(self.anchors))
        if self.var_anchors and self.noisy(0.1):  # a number where a layer goes
            items.append("*" + self.rng.choice(self.var_anchors))
        if self.noisy(0.02):  # an alias to an anchor that does not exist (yet)
            items.append("*nowhere")
        return items

    def type_name(self, kind: LayerKind) -> str:
        r = self.rng
        roll = r.random()
        if roll < 0.6:
            return kind.name
        if roll < 0.75 and (lookup(kind.torch_name) is not None or not self.clean):
            return kind.torch_name
        if roll < 0.82 and kind.aliases:
            return r.choice(kind.aliases)
        if roll < 0.9:
            i = r.randrange(1, len(kind.name))
            return kind.name[:i] + "_" + kind.name[i:]
        if roll < 0.95 or self.clean:
            return kind.name.upper()
        return r.choice([kind.name[:-1], kind.name + "x", "Conv2D", "conv2dd", "\x1b", "''"])

    def layer(self, names: list[str]) -> Node:
        r = self.rng
        if self.blocks_made and r.random() < 0.2:
            return self.block_instance(names)
        pool = KINDS if self.noisy(0.15) else KINDS_BY_RANK[self.rank]
        kind = r.choice(pool)
        if not any(a.required for a in kind.args) and kind.max_inputs == 1 and r.random() < 0.3:
            self.track(kind)
            return self.type_name(kind)  # a bare string
        entry: dict[str, Node] = {"type": self.type_name(kind)}
        name = None
        if r.random() < 0.4:
            name = r.choice(ODD_NAMES) if self.noisy(0.05) else f"l{len(names)}"
            entry["name"] = name
        for arg in kind.args:
            if arg.required or r.random() < 0.25:
                entry[arg.name] = self.arg_value(arg)
        if kind.name == "upsample" and not self.noisy(0.3):  # exactly one of the two
            entry.pop(r.choice(["size", "scale_factor"]), None)
            if "size" not in entry and "scale_factor" not in entry:
                entry["scale_factor"] = "2"
        if kind.max_inputs > 1:
            entry["from"] = [r.choice(names) for _ in range(r.choice([2, 2, 2, 3]))]
            if self.noisy(0.1):
                entry["from"] = r.choice([names[-1], "[]", f"[{names[-1]}]"])
        elif r.random() < 0.1:
            entry["from"] = r.choice(names)
        elif self.noisy(0.03):
            entry["from"] = r.choice(["nowhere", "[]", "[input, input]", "3", "{a: 1}"])
        if r.random() < 0.06:
            entry["repeat"] = r.choice(["1", "2", "3"])
        elif self.noisy(0.03):
            entry["repeat"] = r.choice(["0", "-1", "$w", "'${w}'", "2.0", "[2]", "null"])
        if r.random() < 0.04:
            entry["trainable"] = r.choice(["false", "true"])
        elif self.noisy(0.02):
            entry["trainable"] = r.choice(["0", "'no'", "null", "yes"])
        if self.noisy(0.03):
            entry[r.choice(["kernal_size", "stides", "outchannels", "Type", '"\\x1b"'])] = "1"
        self.track(kind)
        if name is not None:
            names.append(name)
        if r.random() < 0.05:
            anchor = f"L{len(self.anchors)}"
            self.anchors.append(anchor)
            return Tagged(f"&{anchor}", entry)
        if self.noisy(0.01):
            return Tagged(r.choice(["!!map", "!foo", "!!seq", "!!str"]), entry)
        return entry

    def block_instance(self, names: list[str]) -> Node:
        r = self.rng
        block, params = r.choice(self.blocks_made)
        entry: dict[str, Node] = {"type": block}
        for p in params:
            if r.random() < 0.9:
                entry[p] = r.choice([self.small_int(), self.small_int(), self.expr_value()])
        if r.random() < 0.4:
            entry["name"] = f"l{len(names)}"
            names.append(f"l{len(names)}")
        if r.random() < 0.4:
            entry["repeat"] = r.choice(["1", "2", "3", "$w", "'${1 + 1}'"])
        return entry

    def track(self, kind: LayerKind) -> None:
        if kind.name in ("flatten",) or kind.family == "global pooling":
            self.rank = 0

    def arg_value(self, arg: Arg) -> Node:
        r = self.rng
        if r.random() < self.odd:
            return r.choice(ODD_SCALARS)
        if r.random() < 0.05:
            return self.expr_value()
        if self.var_anchors and r.random() < 0.03:
            return "*" + r.choice(self.var_anchors)
        lo = arg.minimum if arg.minimum is not None else 0
        rank = max(self.rank, 1)
        t = arg.type
        if t in (T.INT, T.PER_AXIS, T.PAD_LIST) and r.random() < 0.03:  # valid, but large
            return r.choice(["2147483647", "1000000", "65536", "4097", "2147483648"])
        if t is T.INT:
            if arg.name in ("dim", "start_dim", "end_dim"):
                return str(r.randrange(-2, self.rank + 3))
            if arg.name in ("groups", "num_groups"):
                return r.choice(["1", "1", "2", "4"])
            return self.small_int(max(lo, 1) if arg.name.startswith("out") else lo)
        if t is T.BOOL:
            return (
                r.choice(["yes", "True", "1"]) if self.noisy(0.2) else r.choice(["true", "false"])
            )
        if t is T.FLOAT:
            return r.choice(["0.5", "2", "1.5", "1e-3"])
        if t is T.CHOICE:
            return r.choice(["area", "'BILINEAR'"]) if self.noisy(0.2) else r.choice(arg.choices)
        if t is T.PER_AXIS:
            if r.random() < 0.6:
                return r.choice(["1", "2", "3", "3", "5"]) if lo > 0 else r.choice(["0", "1", "2"])
            return [r.choice(["1", "2", "3"]) for _ in range(r.choice([rank, rank, rank + 1]))]
        if t is T.PADDING:
            pairs: Node = [[r.choice(["0", "1", "-1"]), r.choice(["0", "2"])] for _ in range(rank)]
            per_axis: Node = [r.choice(["0", "1", "2"]) for _ in range(rank)]
            return r.choice(["0", "1", "same", "valid", "'same'", per_axis, pairs])
        if t is T.INT_LIST:
            return [r.choice(["-1", "1", "2", "4", "8"]) for _ in range(r.randrange(1, 4))]
        if t is T.SIZE_LIST:
            if r.random() < 0.5:
                return r.choice(["1", "2", "7"])
            return [r.choice(["1", "2", "7", "null"]) for _ in range(rank)]
        if t is T.SCALE:
            return r.choice(["2", "0.5", "1.5", "2.0", "[2, 2]", "[1, 3]", "0.3333"])
        if t is T.PAD_LIST:
            if r.random() < 0.4:
                return r.choice(["1", "2", "-1"])
            return [r.choice(["0", "1", "2", "-1"]) for _ in range(r.choice([2, 2 * rank]))]
        if self.noisy(0.2):  # T.IGNORED, with odd values
            return r.choice(["[1]", "{}", "{a: [1]}", "!!binary aGVsbG8="])
        return r.choice(["0.5", "true", "zeros", "1e-05", "0.1"])

    def checks(self) -> dict[str, Node]:
        r = self.rng
        options = {
            "max_params": ["30M", "1K", "5G", "0", "1.5M", "1.2345K", "100"],
            "max_macs": ["5G", "1", "4.1G", "'1e9'", "1_000", "-1"],
            "params": ["0", "320", "55744", "25557032", "'320'"],
            "output_shape": ["[1000]", "[64, 22, 22]", "1000", "[]", "'8,4,4'", "[0]"],
            "min_rf": ["3", "0", "200", "1K", "true"],
            "rf_covers_input": ["true", "false", "yes", "1", "null"],
            "max_param": ["1"],
        }
        chosen = r.sample(sorted(options), r.randrange(1, 4))
        return {k: self.maybe_odd(r.choice(options[k])) for k in chosen}


def render(doc: dict[str, Node], rng: random.Random) -> str:
    emitter = Emitter(rng, flow_share=rng.choice([0.3, 0.7, 0.9]))
    if rng.random() < 0.05:
        return emitter.flow(doc) + "\n"
    return "\n".join(emitter.block(doc, 0)) + "\n"


def dress(text: str, rng: random.Random) -> bytes:
    """Text-level variations: directives, documents, line ends, tabs, encodings, bad bytes."""
    r = rng.random
    if r() < 0.05:
        text = rng.choice(["%YAML 1.1\n---\n", "--- ", "%TAG !e! tag:e.com,2000:\n---\n"]) + text
    if r() < 0.03:
        text += rng.choice(["---\nfoo: 1\n", "...\n", "--- |\n  text\n", "%YAML 1.2\n"])
    if r() < 0.04:
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        lines[i] = re.sub(r"^ +", lambda m: "\t" * max(1, len(m.group()) // 2), lines[i])
        lines[i] = lines[i].replace(": ", ":\t", 1) if r() < 0.5 else lines[i]
        text = "\n".join(lines)
    if r() < 0.03:
        text = text.replace("\n", "\n# \x1b[2J\u0085\u2028 comment\n", 1)
    if r() < 0.05:
        text = text.replace("\n", "\r\n")
    elif r() < 0.02:
        text = text.replace("\n", "\r")
    roll = r()
    if roll < 0.03:
        data = b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    elif roll < 0.05:
        data = text.encode(rng.choice(["utf-16", "utf-16-le", "utf-16-be"]), "surrogatepass")
    elif roll < 0.06:
        data = text.encode(rng.choice(["utf-32", "utf-32-be"]), "surrogatepass")
    elif roll < 0.065:
        data = text.encode("latin-1", "replace")
    else:
        data = text.encode("utf-8", "surrogatepass")
    if r() < 0.03:
        bad = rng.choice([b"\x00", b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xfe\xff"])
        i = rng.randrange(len(data) + 1)
        data = data[:i] + bad + data[i:]
    return data


# ---------------------------------------------------------------------------------------------
# Pathologies: limits of nesting, aliases, numbers and sizes
# ---------------------------------------------------------------------------------------------


def pathology(rng: random.Random) -> tuple[str, bytes]:
    n = rng.choice([63, 64, 65, 66, 100, 1000, 10_000, 100_000])
    head = "input: [3, 8, 8]\nlayers: [relu]\n"

    def var(value: str) -> str:
        return head + f"vars: {{v: {value}}}\n" if rng.random() < 0.5 else value + "\n"

    makers: dict[str, Callable[[], str]] = {
        "deep-flow-seq": lambda: var("[" * n + "]" * n),
        "deep-flow-map": lambda: var("{a: " * n + "1" + "}" * n),
        "deep-flow-unclosed": lambda: var("[" * n),
        "deep-flow-mixed": lambda: var("[{a: " * (n // 2) + "1" + "}]" * (n // 2)),
        "deep-block-map": lambda: (
            head
            + "vars:\n"
            + "".join(" " * (i + 1) + "a:\n" for i in range(min(n, 1500)))
            + " " * (min(n, 1500) + 1)
            + "1\n"
        ),
        "deep-block-seq": lambda: head + "vars:\n  v:\n" + "    " + "- " * n + "1\n",
        "deep-qkeys": lambda: rng.choice(["", head + "vars:\n  "]) + "? " * n + "a\n",
        "deep-qkeys-flow": lambda: "[? " * n + "a" + "]" * n + "\n",
        "deep-seq-qkeys": lambda: "- ? " * n + "a\n",
        "deep-anchors": lambda: var("[&a " * min(n, 5000) + "1" + "]" * min(n, 5000)),
        "deep-tags": lambda: var("[!!seq " * min(n, 5000) + "1" + "]" * min(n, 5000)),
        "deep-expression": lambda: head + "vars: {v: '${" + "(" * n + "1" + ")" * n + "}'}\n",
        "alias-bomb": lambda: _alias_bomb(rng),
        "huge-int": lambda: (
            "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: "
            + rng.choice(["9", "-9", "!!int 9", "0x9"])
            + "9" * rng.choice([4300, 4301, 50_000])
            + "}\n"
        ),
        "huge-float": lambda: (
            f"input: [3, 8, 8]\nlayers:\n  - {{type: upsample, scale_factor: "
            f"{'1' * rng.choice([400, 5000])}.5}}\n"
        ),
        "long-line": lambda: "name: " + "a" * rng.choice([100_000, 1_000_000]) + "\n" + head,
        "long-key": lambda: head + "vars: {" + "k" * 200_000 + ": 1}\n",
        "many-errors": lambda: (
            "input: [3, 8, 8]\nlayers:\n"
            + "".join(
                f"  - {{type: conv2d, out_channels: {i}, kernel_size: 0}}\n" for i in range(30)
            )
        ),
        "many-layers": lambda: "input: [3, 8, 8]\nlayers: [" + "relu, " * 3000 + "relu]\n",
        "many-keys": lambda: (
            head + "vars: {" + ", ".join(f"v{i}: {i}" for i in range(20_000)) + "}\n"
        ),
        "huge-axes": lambda: _huge_axes(rng),
        "huge-dims": lambda: (
            "input: [2147483647, 2147483647, 2147483647]\nlayers:\n"
            "  - {type: conv2d, out_channels: 2147483647, kernel_size: 1}\n  - flatten\n"
            "  - {type: linear, out_features: 2147483647}\n"
        ),
        "empty": lambda: rng.choice(["", " ", "\n", "---", "...", "~", "#", "\ufeff", "null"]),
        "not-a-mapping": lambda: rng.choice(["[1]", "3", "'x'", "!!binary aGVsbG8=", "- a\n- b"]),
    }
    kind = rng.choice(sorted(makers))
    return f"pathology:{kind}", makers[kind]().encode("utf-8", "surrogatepass")


_HUGE_AXIS_LAYERS = [
    "{type: convtranspose1d, name: l0, out_channels: 1, kernel_size: 4, stride: 2, padding: 1}",
    "{type: upsample, scale_factor: 2, mode: linear}",
    "{type: adaptiveavgpool1d, output_size: 3}",
    "{type: avgpool1d, kernel_size: 3, stride: 2, ceil_mode: true, padding: 1}",
    "{type: convtranspose1d, out_channels: 1, kernel_size: 3, stride: 3}",
    "{type: upsample, scale_factor: 1.5}",
    "{type: upsample, scale_factor: 0.3333}",
    "{type: adaptiveavgpool1d, output_size: 7}",
    "{type: adaptivemaxpool1d, output_size: 1000003}",
    "{type: conv1d, out_channels: 1, kernel_size: 3, dilation: 1000, padding: same}",
    "{type: maxpool1d, kernel_size: 2, ceil_mode: true}",
    "{type: reflectionpad1d, padding: 1}",
    "{type: conv1d, out_channels: 1, kernel_size: 1, padding: -1}",
]


def _huge_axes(rng: random.Random) -> str:
    """Long axes through layers whose receptive field varies per unit (bounded tables)."""
    size = rng.choice(["100000000", "2147483647", "4000001", "65537", "1000003"])
    rank = rng.choice([1, 1, 2])
    lines = [f"input: [1{f', {size}' * rank}]", "layers:"]
    for _ in range(rng.randrange(1, 6)):
        lines.append("  - " + rng.choice(_HUGE_AXIS_LAYERS).replace("1d", f"{rank}d"))
    if rng.random() < 0.3:
        merge = rng.choice(["add", "concat", "mul"])
        lines.append(f"  - {{type: {merge}, from: [input, {rng.choice(['input', 'l0'])}]}}")
    return "\n".join(lines) + "\n"


def _alias_bomb(rng: random.Random) -> str:
    levels, fan = rng.choice([(9, 10), (20, 2), (5, 100), (3, 1000)])
    lines = ["input: [3, 8, 8]", "layers: [relu]", "vars:", "  a0: &a0 [1]"]
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Mutation: bytes and lines of a file
# ---------------------------------------------------------------------------------------------

INTERESTING = b"\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x7f\x80\x85\x9b\xa0\xc0\xc2\xe2\xed\xef\xfe\xff"
INTERESTING += b"[]{}:,&*!|>'\"#%@`-?$\\ 09"
SNIPPETS = [
    *(b"${", b"}", b"&a ", b"*a", b"!!int ", b"!!binary ", b"? ", b"- ", b": ", b"<<: ", b"---\n"),
    *(b"\n...\n", b"\xef\xbb\xbf", b"\t", b"\r\n", b"\\x1b", b"\x1b[2J", b"\xc2\x9b", b"\\ud800"),
    *(
        b"repeat: 3",
        b"from: input",
        b", name: l0",
        b"{",
        b"[",
        b"\n  - relu\n",
        b"$w",
        b"\xed\xa0\x80",
    ),
]
NUMBER = re.compile(rb"(?<![\w.])\d+(?![\w.])")
TYPE_VALUE = re.compile(rb"type: ([\w-]+)")


def mutate(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """1 to 8 random edits."""
    for _ in range(1 + min(int(rng.expovariate(0.5)), 7)):
        data = _edit(bytearray(data), rng, others)
    return data


def _edit(data: bytearray, rng: random.Random, others: list[bytes]) -> bytes:
    op = rng.randrange(13)
    i = rng.randrange(len(data) + 1)
    if op == 0 and i < len(data):  # flip a bit
        data[i] ^= 1 << rng.randrange(8)
    elif op == 1 and i < len(data):  # an interesting byte
        data[i] = rng.choice(INTERESTING)
    elif op == 2:  # insert a byte or a snippet
        data[i:i] = bytes([rng.choice(INTERESTING)]) if rng.random() < 0.5 else rng.choice(SNIPPETS)
    elif op == 3:  # delete a range
        del data[i : i + rng.randrange(1, 17)]
    elif op == 4:  # duplicate a range
        data[i:i] = data[i : i + rng.randrange(1, 33)]
    elif op in (5, 6):  # delete, duplicate, swap or indent a line
        lines = bytes(data).split(b"\n")
        j, k = rng.randrange(len(lines)), rng.randrange(len(lines))
        what = rng.randrange(4)
        if what == 0:
            del lines[j]
        elif what == 1:
            lines.insert(j, lines[j])
        elif what == 2:
            lines[j], lines[k] = lines[k], lines[j]
        else:
            lines[j] = (
                b" " * rng.choice([1, 2, 4]) + lines[j] if rng.random() < 0.5 else lines[j][2:]
            )
        return b"\n".join(lines)
    elif op == 7:  # a number becomes an odd scalar
        numbers = list(NUMBER.finditer(data))
        if numbers:
            m = rng.choice(numbers)
            odd = rng.choice([*ODD_SCALARS, "0", "1", "-1", "2147483648"])
            data[m.start() : m.end()] = odd.encode("utf-8", "surrogatepass")
    elif op == 8:  # another type name
        types = list(TYPE_VALUE.finditer(data))
        if types:
            m = rng.choice(types)
            data[m.start(1) : m.end(1)] = rng.choice(TYPE_NAMES).encode()
    elif op == 9:  # splice with another file
        other = rng.choice(others)
        j = rng.randrange(len(other) + 1)
        if rng.random() < 0.5:  # at line starts
            i = bytes(data).rfind(b"\n", 0, i) + 1
            j = other.rfind(b"\n", 0, j) + 1
        return bytes(data[:i]) + other[j:]
    elif op == 10:  # truncate
        return bytes(data[:i])
    elif op == 11:  # insert a generated layer
        grammar = Grammar(rng)
        line = b"  - " + Emitter(rng, 1.0).flow(grammar.layer(["input"])).encode("utf-8") + b"\n"
        j = bytes(data).rfind(b"\n", 0, i) + 1
        data[j:j] = line
    else:  # repeat a random chunk many times
        chunk = bytes(data[i : i + rng.randrange(1, 9)])
        data[i:i] = chunk * rng.choice([10, 100, 1000])
    return bytes(data)


# ---------------------------------------------------------------------------------------------
# Cases: a command line with its files and standard input
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A path filled in when a case runs: the case's ``files[index]``, or (-1) the output."""

    index: int


OUTPUT = Ref(-1)


@dataclass(frozen=True)
class Case:
    command: str  # describe | check | diff | layers | other: what the verdict expects
    args: tuple[str | Ref, ...]  # after 'rfcalc'
    files: tuple[bytes, ...] = ()  # written as m0.yaml, m1.yaml, … in the scratch folder
    stdin: bytes | None = b""  # None: descriptor 0 closed
    origin: str = ""  # the generator, for the report

    def size(self) -> int:
        return (
            sum(map(len, self.files)) + len(self.stdin or b"") + sum(len(str(a)) for a in self.args)
        )


def ref_path(ref: Ref) -> str:
    return "out.txt" if ref.index < 0 else f"m{ref.index}.yaml"


def make_case(seed: int, index: int, examples: list[bytes]) -> Case:
    rng = random.Random(f"{seed}:{index}")
    roll = rng.random()
    if roll < 0.45:
        grammar = Grammar(rng)
        text = render(grammar.document(), rng)
        if grammar.clean:
            origin, model = "grammar-clean", text.encode()
        else:
            origin, model = "grammar", dress(text, rng)
    elif roll < 0.75:
        origin, model = "mutation", mutate(rng.choice(examples), rng, examples)
    elif roll < 0.85:
        origin, model = pathology(rng)
    elif roll < 0.93:
        origin, model = "example", rng.choice(examples)
    else:
        grammar_file = render(Grammar(rng).document(), rng).encode("utf-8", "surrogatepass")
        origin, model = "grammar+mutation", mutate(grammar_file, rng, examples)
    roll = rng.random()
    if roll < 0.55:
        case = describe_case(rng, model)
    elif roll < 0.83:
        case = check_case(rng, model, examples)
    elif roll < 0.92:
        case = diff_case(rng, model, examples)
    elif roll < 0.97:
        case = layers_case(rng)
    else:
        case = other_case(rng, model)
    return replace(case, origin=origin)


def _model_arg(rng: random.Random, model: bytes) -> tuple[str | Ref, tuple[bytes, ...], bytes]:
    """The model as a file (m0.yaml), on standard input, or a special path."""
    roll = rng.random()
    if roll < 0.4:
        return "-", (), model
    if roll < 0.96:
        return Ref(0), (model,), b""
    return rng.choice(SPECIAL_PATHS), (model,), model


def pick(rng: random.Random, valid: list[str], odd: list[str], p_odd: float = 0.3) -> str:
    return rng.choice(odd) if rng.random() < p_odd else rng.choice(valid)


VAR_NAMES = re.compile(rb"^vars:[ \t]*\{([^}\n]*)\}|^vars:[ \t]*\n((?:[ \t]+.*\n?)*)", re.M)


def variables_of(model: bytes) -> list[str]:
    """The names under a model's ``vars:`` (flow or block style), roughly."""
    m = VAR_NAMES.search(model)
    if m is None:
        return []
    body = (m.group(1) or m.group(2) or b"").decode("utf-8", "replace")
    return re.findall(r"(?:^|[{,\n])\s*(\w+)\s*:", body)


def _set(rng: random.Random, names: list[str]) -> list[str | Ref]:
    name = rng.choice(names) if names and rng.random() < 0.8 else rng.choice(CLI_SET_NAMES)
    value = pick(rng, ["1", "2", "3", "8", "16", "64", "[1, 2]", "${2 * 4}", "0.5"], CLI_SET_VALUES)
    roll = rng.random()
    if roll < 0.03:
        return ["--set", name]  # no '='
    if roll < 0.1:
        return [f"--set={name}={value}"]
    return ["--set", f"{name}={value}"]


def _shuffle_options(
    rng: random.Random, head: list[str | Ref], options: list[list[str | Ref]]
) -> tuple[str | Ref, ...]:
    rng.shuffle(options)
    if rng.random() < 0.02:
        options.append([rng.choice(["--bogus", "--", "-x", "--set", "--format", "--help", "-"])])
    flat = [a for option in options for a in option]
    if rng.random() < 0.1 and len(head) > 1:  # options before the model
        return (head[0], *flat, *head[1:])
    return (*head, *flat)


def _closed_stdin(rng: random.Random, stdin: bytes) -> bytes | None:
    return None if rng.random() < 0.03 else stdin


def describe_case(rng: random.Random, model: bytes) -> Case:
    model_arg, files, stdin = _model_arg(rng, model)
    r = rng.random
    options: list[list[str | Ref]] = []
    names = variables_of(model)
    if r() < 0.5:
        options.append([rng.choice(["--format", "-f"]), pick(rng, FORMATS[:4], FORMATS, 0.1)])
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3] if names else [0, 0, 0, 0, 0, 1])):
        options.append(_set(rng, names))
    if r() < 0.15:
        valid_shapes = ["3,32,32", "1,28,28", "3,224,224", "3,64,64", "16", "3,16", "3,8,8,8"]
        options.append(["--input", pick(rng, valid_shapes, CLI_SHAPES)])
    if r() < 0.1:
        options.append(["--batch", pick(rng, ["1", "2", "8", "256"], CLI_INTS)])
    if r() < 0.1:
        options.append(["--dtype", pick(rng, DTYPES[:4], DTYPES, 0.2)])
    if r() < 0.15:
        options.append(["--depth", pick(rng, ["1", "2", "3"], CLI_INTS)])
    if r() < 0.1:
        targets: list[str | Ref] = [Ref(0), ".", "nodir/out.txt", "out.txt/", ""]
        target = rng.choice(targets) if r() < 0.3 else OUTPUT
        options.append([rng.choice(["-o", "--output"]), target])
    args = _shuffle_options(rng, ["describe", model_arg], options)
    return Case("describe", args, files, _closed_stdin(rng, stdin))


def check_case(rng: random.Random, model: bytes, examples: list[bytes]) -> Case:
    files: list[bytes] = [model]
    paths: list[str | Ref] = [Ref(0)]
    stdin = b""
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        other = rng.choice(examples)
        if rng.random() < 0.3:
            other = mutate(other, rng, examples)
        files.append(other)
        paths.append(Ref(len(files) - 1))
    if rng.random() < 0.3:
        paths[0], stdin = "-", model
    if rng.random() < 0.05:
        paths.append(rng.choice(SPECIAL_PATHS))
    if rng.random() < 0.05:
        paths.append(rng.choice(paths))
    rng.shuffle(paths)
    r = rng.random
    options: list[list[str | Ref]] = []
    for flag in ("--max-params", "--max-macs", "--min-rf"):
        if r() < 0.2:
            valid = ["100M", "30M", "5G", "1K", "1000000", "25557032", "200", "3"]
            options.append([flag, pick(rng, valid, CLI_COUNTS)])
    if r() < 0.15:
        options.append(["--output-shape", pick(rng, ["1000", "64,22,22", "10"], CLI_SHAPES)])
    if r() < 0.1:
        options.append(["--rf-covers-input"])
    if r() < 0.1:
        options.append(["--exit-zero"])
    if r() < 0.3:
        options.append([rng.choice(["--format", "-f"]), rng.choice(CHECK_FORMATS)])
    if r() < 0.15:
        options.append(_set(rng, variables_of(model)))
    args = _shuffle_options(rng, ["check", *paths], options)
    return Case("check", args, tuple(files), _closed_stdin(rng, stdin))


def diff_case(rng: random.Random, model: bytes, examples: list[bytes]) -> Case:
    files = (model, rng.choice(examples))
    a: str | Ref = Ref(0)
    stdin = b""
    if rng.random() < 0.2:
        a, stdin = "-", model
    pair: list[str | Ref] = [a, Ref(1)]
    rng.shuffle(pair)
    options: list[list[str | Ref]] = []
    if rng.random() < 0.3:
        options.append(["--format", rng.choice(CHECK_FORMATS)])
    if rng.random() < 0.2:
        options.append(_set(rng, variables_of(model)))
    return Case("diff", _shuffle_options(rng, ["diff", *pair], options), files, stdin)


def layers_case(rng: random.Random) -> Case:
    if rng.random() < 0.2:
        return Case("layers", ("layers",))
    name = rng.choice(TYPE_NAMES)
    roll = rng.random()
    if roll < 0.3:
        name = rng.choice([name.upper(), name[:-1], name + "_", "\x1b[2J", "", " ", "\udcff"])
    elif roll < 0.4:
        name = rng.choice(["x" * 10_000, "conv2d\n", "Conv_2D", "a\tb", "\u202econv2d"])
    return Case("layers", ("layers", name))


def other_case(rng: random.Random, model: bytes) -> Case:
    args: tuple[str | Ref, ...] = rng.choice(
        [
            ("schema",),
            ("--version",),
            ("--help",),
            ("describe", "--help"),
            (),
            ("bogus",),
            ("describe",),
            ("check",),
            ("describe", Ref(0), Ref(0)),
            ("diff", Ref(0)),
            ("schema", "extra"),
            ("\x1b[2J",),
        ]
    )
    return Case("other", args, (model,))


# ---------------------------------------------------------------------------------------------
# Running: one forked child per case
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    code: int  # the exit code, or minus the signal number
    timed_out: bool
    seconds: float  # wall time
    cpu_seconds: float  # user + system
    rss_mb: float  # peak RSS over the parent's at the fork
    stdout: bytes
    stderr: bytes
    output: bytes | None  # the -o file (out.txt), None when it does not exist
    model_changed: bool


def _preload() -> None:
    """Import everything a command may import, once, before any fork."""
    import rfcalc.api
    import rfcalc.checks
    import rfcalc.cli
    import rfcalc.diff
    import rfcalc.render.check_report
    import rfcalc.render.diff_out
    import rfcalc.render.json_out
    import rfcalc.render.layers_doc
    import rfcalc.render.markdown
    import rfcalc.render.text
    import rfcalc.schema  # noqa: F401


def _proc_kib(field_name: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS, VmSize), 0 where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system time of a running process, from /proc/PID/stat (0 where unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _read(path: Path, limit: int = 16 << 20) -> bytes | None:
    try:
        with path.open("rb") as fh:
            return fh.read(limit)
    except OSError:
        return None


class Runner:
    """Runs cases in forked children, ``jobs`` at a time, each in its own scratch folder."""

    def __init__(self, scratch: Path, jobs: int, timeout: float, memory_mb: int):
        self.scratch = scratch
        self.jobs = jobs
        self.timeout = timeout
        self.memory_mb = memory_mb

    def run(
        self,
        cases: Iterator[Case],
        done: Callable[[Case, Outcome], None],
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        free = list(range(self.jobs))
        running: dict[int, tuple[Case, int, float, float]] = {}  # pid: case, slot, start, rss
        killed: set[int] = set()
        exhausted = False
        while True:
            while free and not exhausted and not stop():
                case = next(cases, None)
                if case is None:
                    exhausted = True
                    break
                slot = free.pop()
                rss = _proc_kib("VmRSS") / 1024
                running[self._spawn(case, slot)] = (case, slot, time.monotonic(), rss)
            if not running:
                return
            pid, status, usage = os.wait4(-1, os.WNOHANG)
            if pid == 0:
                now = time.monotonic()
                for p, (_, _, start, _) in running.items():
                    if p not in killed and self._too_long(p, now - start):
                        os.kill(p, signal.SIGKILL)
                        killed.add(p)
                time.sleep(0.002)
                continue
            case, slot, start, rss = running.pop(pid)
            folder = self.scratch / f"slot{slot}"
            changed = any(
                _read(folder / "cwd" / ref_path(Ref(i))) not in (data, None)
                for i, data in enumerate(case.files)
            )
            outcome = Outcome(
                code=os.waitstatus_to_exitcode(status),
                timed_out=pid in killed,
                seconds=time.monotonic() - start,
                cpu_seconds=usage.ru_utime + usage.ru_stime,
                rss_mb=max(0.0, usage.ru_maxrss / 1024 - rss),
                stdout=_read(folder / "stdout") or b"",
                stderr=_read(folder / "stderr") or b"",
                output=_read(folder / "cwd" / ref_path(OUTPUT)),
                model_changed=changed,
            )
            killed.discard(pid)
            free.append(slot)
            done(case, outcome)

    def _too_long(self, pid: int, wall: float) -> bool:
        """Over the timeout in CPU time (wall time counts a busy machine's other work too), or
        over four times it in wall time (a child that waits, on a FIFO say)."""
        return wall > self.timeout and (_cpu_seconds(pid) > self.timeout or wall > 4 * self.timeout)

    def run_one(self, case: Case) -> Outcome:
        result: list[Outcome] = []
        self.run(iter([case]), lambda _, outcome: result.append(outcome))
        return result[0]

    def _spawn(self, case: Case, slot: int) -> int:
        folder = self.scratch / f"slot{slot}"
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "cwd").mkdir(parents=True)
        for i, data in enumerate(case.files):
            (folder / "cwd" / ref_path(Ref(i))).write_bytes(data)
        stdin_fd: int | None = None
        if case.stdin is not None and len(case.stdin) <= 60_000:  # fits a pipe's buffer
            stdin_fd, w = os.pipe()
            os.write(w, case.stdin)
            os.close(w)
        elif case.stdin is not None:
            (folder / "stdin").write_bytes(case.stdin)
            stdin_fd = os.open(folder / "stdin", os.O_RDONLY)
        address_space = (_proc_kib("VmSize") * 1024) + 2 * self.memory_mb * (1 << 20)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(case, folder, stdin_fd, address_space, self.timeout)
        if stdin_fd is not None:
            os.close(stdin_fd)
        return pid


def _child(
    case: Case, folder: Path, stdin_fd: int | None, address_space: int, timeout: float
) -> NoReturn:
    """Become ``rfcalc ARGS`` with the case's streams and limits; never returns."""
    try:
        os.chdir(folder / "cwd")
        os.dup2(os.open("../stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
        os.dup2(os.open("../stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
        if stdin_fd is None:
            os.close(0)
        else:
            os.dup2(stdin_fd, 0)
        os.closerange(3, 256)
        if address_space > 0:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
        cpu = int(timeout) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        # the interpreter's standard streams in a UTF-8 locale (en_US.UTF-8)
        sys.stdin = (
            None
            if stdin_fd is None
            else io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), "utf-8")
        )
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)), "utf-8")
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), "utf-8", "backslashreplace", write_through=True
        )
        sys.argv = ["rfcalc", *(ref_path(a) if isinstance(a, Ref) else a for a in case.args)]
        code = _run_cli()
    except BaseException:
        try:
            os.write(2, b"fuzz harness: " + traceback.format_exc().encode("utf-8", "replace"))
        finally:
            os._exit(70)
    os._exit(code)


def _run_cli() -> int:
    """``rfcalc.cli.main()`` as the ``rfcalc`` script runs it, with the interpreter's exit."""
    from rfcalc.cli import main

    code = 0
    try:
        main()
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            sys.stderr.write(f"{exc.code}\n")
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            os.write(2, b"Exception ignored on flushing the stream:\n")
            os.write(2, traceback.format_exc().encode("utf-8", "backslashreplace"))
            code = 120
    return code & 0xFF


# ---------------------------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------------------------

SEVERITY = ("crash", "hang", "violation", "slow")


@dataclass(frozen=True)
class Failure:
    kind: str  # crash | hang | violation | slow
    key: str  # the failure class: what every input of the class shares
    detail: str  # what happened on this input


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x80-\x9f\udc80-\udcff]")
POSITIONED = re.compile(r"^.+:\d+:\d+: error: \S")
HINT = re.compile(r"^hint: \S")
MORE = re.compile(r"^… and \d+ more errors$")
NO_POSITION = "rfcalc: error: "
EMPTY_PATH = re.compile(r"^:\d+:\d+: error: ")
FRAME = re.compile(r'^  File "(.+)", line (\d+), in (.+)$', re.M)


def template(line: str) -> str:
    """A message with its variable parts blanked: the position, quoted text, numbers."""
    line = re.sub(r"^.*?:\d+:\d+: ", "", line)
    line = re.sub(r"(m\d+\.yaml|<stdin>|out\.txt)", "PATH", line)
    line = re.sub(r"'[^']*'", "'…'", line)
    line = re.sub(r"\d+", "N", line)
    return CONTROL.sub("^", line)[:70].strip()


def option_value(args: tuple[str | Ref, ...], *names: str) -> str | None:
    """The last value given to an option (``--format json``, ``--format=json``, ``-f json``)."""
    value = None
    for i, a in enumerate(args):
        if not isinstance(a, str):
            continue
        if a in names and i + 1 < len(args) and isinstance(args[i + 1], str):
            value = str(args[i + 1])
        for name in names:
            if a.startswith(name + "="):
                value = a[len(name) + 1 :]
    return value


def _traceback(err: str) -> Failure:
    tail = err[err.rindex("Traceback (most recent call last):") :]
    last = [line for line in tail.split("\n") if line and not line.startswith(" ")][-1]
    exc_type = last.split(":", 1)[0]
    frames = FRAME.findall(tail)
    ours = [f for f in frames if "/rfcalc/" in f[0]] or frames or [("?", "0", "?")]
    file, _, func = ours[-1]
    where = os.path.relpath(file, ROOT) if file.startswith(str(ROOT)) else file
    kind = "memory" if exc_type == "MemoryError" else "traceback"
    return Failure("crash", f"{kind}: {exc_type} in {where}:{func}", last[:300])


def _bad_stderr(err: str, case: Case) -> Failure | None:
    """The first stderr line of an exit 2 that is not in the error format."""
    if err.startswith(("Usage: rfcalc", "Error: ")):  # click's usage block
        return None
    previous = ""
    for line in err.rstrip("\n").split("\n"):
        if POSITIONED.match(line) or HINT.match(line) or MORE.match(line):
            previous = line
            continue
        if EMPTY_PATH.match(line):
            return Failure("violation", "error positioned in an empty path ':N:N: error: …'", line)
        if line.startswith(NO_POSITION):
            message = line[len(NO_POSITION) :]
            # an option's error, the TYPE of `layers`, or an empty MODEL argument
            if message.startswith(("-", "a model's path is empty")) or case.command == "layers":
                previous = line
                continue
            return Failure("violation", f"error without a position: {template(message)}", line)
        after = f"after '{template(previous)}'" if previous else f"first line '{template(line)}'"
        return Failure("violation", f"stderr line not in the error format, {after}", line[:300])
    return None


def _json_problem(text: str) -> str | None:
    def no_constant(name: str) -> object:
        raise ValueError(f"{name} is not JSON")

    try:
        json.loads(text, parse_constant=no_constant)
    except ValueError as exc:
        return str(exc)
    return None


def _is_check_report(out: str) -> bool:
    lines = out.rstrip("\n").split("\n")
    if lines[-1].startswith("checked "):
        return True
    try:
        report = json.loads(out)
    except ValueError:
        return False
    return isinstance(report, dict) and "files" in report and "summary" in report


def judge(case: Case, out: Outcome, slow: float, memory_mb: int) -> list[Failure]:
    """Every way this run broke the promise (empty when it kept it)."""
    err = out.stderr.decode("utf-8", "surrogateescape")
    std = out.stdout.decode("utf-8", "surrogateescape")
    command = case.command
    if out.timed_out:
        return [Failure("hang", f"hang: {case.origin}", f"{command}: {out.seconds:.1f} s")]
    if out.code < 0:
        name = signal.Signals(-out.code).name
        return [Failure("crash", f"signal {name}: {command}", f"killed by {name}")]
    if "fuzz harness: " in err:
        return [Failure("crash", "the fuzz harness failed", err[-300:])]
    if "Traceback (most recent call last):" in err:
        return [_traceback(err)]
    if out.code not in (0, 1, 2):
        return [Failure("crash", f"exit code {out.code}: {command}", err[-300:])]
    failures: list[Failure] = []

    def violation(key: str, detail: str) -> None:
        failures.append(Failure("violation", key, detail[:300]))

    fmt = option_value(case.args, "--format", "-f")
    asks_help = "--help" in case.args
    to_file = command == "describe" and any(
        a in ("-o", "--output") or (isinstance(a, str) and a.startswith("--output="))
        for a in case.args
    )
    if out.code == 1 and command != "check":
        violation(f"exit 1 outside check: {command}", err)
    if out.code == 2:
        if not err.strip():
            violation(f"exit 2 without an error message: {command}", std)
        if std and not (command == "check" and _is_check_report(std)):
            violation(f"stdout not empty on exit 2: {command}", std)
        bad = _bad_stderr(err, case)
        if bad is not None:
            failures.append(bad)
        if out.output is not None and OUTPUT in case.args:
            violation("-o file written on exit 2", err)
    elif out.code == 0 and to_file and not asks_help:
        if std:
            violation("stdout not empty with -o", std)
        if out.output is None and OUTPUT in case.args:
            violation("no -o file written on exit 0", " ".join(map(str, case.args)))
    if out.code != 2:
        if err:
            violation(f"stderr on exit {out.code}: {template(err.split(chr(10))[0])}", err)
        json_bytes: bytes | None = out.stdout
        if to_file:  # the JSON went to the -o file: out.txt, or somewhere not checked here
            json_bytes = out.output if OUTPUT in case.args else None
        if fmt == "json" and command in COMMANDS and json_bytes is not None and not asks_help:
            problem = _json_problem(json_bytes.decode("utf-8", "surrogateescape"))
            if problem is not None:
                violation(f"invalid JSON: {command}: {template(problem)}", problem)
    if command == "check" and fmt == "json" and std:
        problem = _json_problem(std)
        if problem is not None and out.code == 2:
            violation(f"invalid JSON: check (exit 2): {template(problem)}", problem)
    if out.model_changed:
        violation("the model file was changed", " ".join(map(str, case.args)))
    written = (out.output or b"").decode("utf-8", "surrogateescape")
    for stream, text in (("stdout", std), ("stderr", err), ("-o file", written)):
        m = CONTROL.search(text)
        if m is None:
            continue
        end = text.find("\n", m.start())
        line = text[text.rfind("\n", 0, m.start()) + 1 : end if end >= 0 else len(text)]
        where = template(line) if stream == "stderr" else f"{command} --format {fmt or 'default'}"
        violation(f"control character in {stream}: {where}", repr(line[:200]))
    if out.rss_mb > memory_mb:
        violation(f"memory: {command} grew {memory_mb}+ MiB", f"{out.rss_mb:.0f} MiB")
    if not failures and out.cpu_seconds > slow:
        detail = f"{command}: {out.cpu_seconds:.1f} s CPU"
        failures.append(Failure("slow", f"slow: {case.origin}", detail))
    return failures


# ---------------------------------------------------------------------------------------------
# Minimizing and saving reproducers
# ---------------------------------------------------------------------------------------------


class OutOfTimeError(Exception):
    pass


def _ddmin(items: list[bytes], still_fails: Callable[[list[bytes]], bool]) -> list[bytes]:
    """Delta debugging by complements: remove chunks while the failure stays."""
    n = 2
    while len(items) >= 2:
        chunk = -(-len(items) // n)
        for start in range(0, len(items), chunk):
            candidate = items[:start] + items[start + chunk :]
            if still_fails(candidate):
                items, n = candidate, max(n - 1, 2)
                break
        else:
            if n >= len(items):
                break
            n = min(len(items), n * 2)
    return items


def _with_data(case: Case, target: int | None, data: bytes) -> Case:
    """The case with its standard input (target None) or ``files[target]`` replaced."""
    if target is None:
        return replace(case, stdin=data)
    files = list(case.files)
    files[target] = data
    return replace(case, files=tuple(files))


def minimize(case: Case, reproduces: Callable[[Case], bool], bytes_too: bool = True) -> Case:
    """A smaller case of the same class: fewer arguments, plain standard input, then fewer
    lines, then (``bytes_too``) fewer bytes."""
    try:
        if case.stdin != b"" and reproduces(replace(case, stdin=b"")):
            case = replace(case, stdin=b"")
        i = len(case.args) - 1
        while i >= 1:
            for width in (2, 1):
                candidate = replace(case, args=case.args[:i] + case.args[i + width :])
                if i + width <= len(case.args) and reproduces(candidate):
                    case = candidate
                    break
            i -= 1
        used = sorted({a.index for a in case.args if isinstance(a, Ref) and a.index >= 0})
        targets: list[int | None] = [None, *used]  # None: standard input
        for target in targets:
            for glue in (b"\n", b""):  # lines, then bytes
                data = case.stdin if target is None else case.files[target]
                if not data or (not glue and (len(data) > 4096 or not bytes_too)):
                    continue
                parts = data.split(glue) if glue else [bytes([b]) for b in data]
                base = case

                def fails(
                    p: list[bytes], base: Case = base, t: int | None = target, g: bytes = glue
                ) -> bool:
                    return reproduces(_with_data(base, t, g.join(p)))

                case = _with_data(case, target, glue.join(_ddmin(parts, fails)))
    except OutOfTimeError:
        pass
    return case


def shell_quote(arg: str) -> str:
    if not CONTROL.search(arg) and "\n" not in arg and "\t" not in arg:
        return shlex.quote(arg)
    out = []
    for byte in os.fsencode(arg):
        ch = chr(byte)
        out.append(ch if 32 <= byte < 127 and ch not in "'\\" else f"\\x{byte:02x}")
    return "$'" + "".join(out) + "'"


def save(
    case: Case, failure: Failure, count: int, outcome: Outcome, folder: Path
) -> tuple[Path, str]:
    """Write the reproducer beside ``<class>.txt``; return that file and the command."""
    folder.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", failure.key.lower()).strip("-")[:60]
    slug += "-" + hashlib.sha1(failure.key.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    here = Path.cwd()

    def shown(path: Path) -> str:
        return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)

    paths: dict[int, str] = {OUTPUT.index: shown(folder / f"{slug}.out")}
    for a in case.args:
        if isinstance(a, Ref) and a.index >= 0:
            path = folder / f"{slug}.m{a.index}.yaml"
            path.write_bytes(case.files[a.index])
            paths[a.index] = shown(path)
    words = ["rfcalc"]
    for a in case.args:
        if isinstance(a, Ref):
            words.append(paths[a.index])
        elif words[-1] in ("-o", "--output") and a and not a.startswith("/"):
            words.append(shown(folder) + "/" + a)  # written beside the reproducer, not in cwd
        else:
            words.append(a)
    command = " ".join(shell_quote(w) for w in words)
    if case.stdin is None:
        command += " <&-"
    elif case.stdin:
        stdin = folder / f"{slug}.stdin.yaml"
        stdin.write_bytes(case.stdin)
        command += f" < {shown(stdin)}"
    elif "-" in case.args:
        command += " < /dev/null"
    txt = folder / f"{slug}.txt"
    txt.write_text(
        f"class: {failure.key}\nverdict: {failure.kind}\ninputs: {count}\norigin: {case.origin}\n"
        f"command: {command}\nenvironment: a UTF-8 locale (PYTHONIOENCODING=utf-8:strict)\n"
        f"exit: {outcome.code}  time: {outcome.seconds:.2f} s ({outcome.cpu_seconds:.2f} s CPU)"
        f"  rss: +{outcome.rss_mb:.0f} MiB\n"
        f"detail: {failure.detail!r}\n"
        f"stderr (tail): {outcome.stderr[-2000:]!r}\nstdout (head): {outcome.stdout[:1000]!r}\n",
        encoding="utf-8",
        errors="backslashreplace",
    )
    return txt, command


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


@dataclass
class FailureClass:
    failure: Failure
    case: Case  # the smallest input that showed it
    outcome: Outcome
    count: int = 0


@dataclass
class Tally:
    inputs: int = 0
    counts: Counter[str] = field(default_factory=Counter)  # inputs per verdict
    codes: Counter[int] = field(default_factory=Counter)
    classes: dict[str, FailureClass] = field(default_factory=dict)

    def add(self, case: Case, outcome: Outcome, failures: list[Failure]) -> None:
        self.inputs += 1
        self.codes[outcome.code] += 1
        if failures:
            self.counts[min((f.kind for f in failures), key=SEVERITY.index)] += 1
        for f in failures:
            known = self.classes.get(f.key)
            if known is None or case.size() < known.case.size():
                self.classes[f.key] = FailureClass(f, case, outcome, known.count if known else 0)
            self.classes[f.key].count += 1

    def summary(self) -> str:
        c = self.counts
        return (
            f"inputs: {self.inputs}  crashes: {c['crash']}  hangs: {c['hang']}  "
            f"slow: {c['slow']}  violations: {c['violation']}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--count", type=int, help="inputs to try (default 10,000 or no limit with --seconds)"
    )
    parser.add_argument("--seconds", type=float, help="time budget for trying inputs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="children at once")
    parser.add_argument("--timeout", type=float, default=10.0, help="kill after (s of CPU)")
    parser.add_argument("--slow", type=float, default=2.0, help="slow after (s of CPU)")
    parser.add_argument("--memory-mb", type=int, default=512, help="RSS growth allowed")
    parser.add_argument("--minimize-seconds", type=float, default=60.0, help="0: do not minimize")
    parser.add_argument("--crash-dir", type=Path, default=ROOT / "benchmarks" / "crashes")
    parser.add_argument("--progress", action="store_true", help="a line every 10 s on stderr")
    args = parser.parse_args(argv)
    count = args.count if args.count is not None else (None if args.seconds else 10_000)
    _preload()
    examples = [p.read_bytes() for p in sorted((ROOT / "examples").glob("*.yaml"))]
    scratch = Path(tempfile.mkdtemp(prefix="rfcalc-fuzz-"))
    tally = Tally()
    start = time.monotonic()
    last_progress = start

    def cases() -> Iterator[Case]:
        i = 0
        while count is None or i < count:
            yield make_case(args.seed, i, examples)
            i += 1

    def done(case: Case, outcome: Outcome) -> None:
        nonlocal last_progress
        tally.add(case, outcome, judge(case, outcome, args.slow, args.memory_mb))
        if args.progress and time.monotonic() - last_progress > 10:
            last_progress = time.monotonic()
            print(f"{tally.summary()}  classes: {len(tally.classes)}", file=sys.stderr, flush=True)

    def out_of_time() -> bool:
        return args.seconds is not None and time.monotonic() - start > args.seconds

    try:
        runner = Runner(scratch, max(1, args.jobs), args.timeout, args.memory_mb)
        runner.run(cases(), done, out_of_time)
        elapsed = time.monotonic() - start
        lines = _report(tally, runner, args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(tally.summary())
    print("\n".join(lines))
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(tally.codes.items()))
    minimizing = time.monotonic() - start - elapsed
    print(f"exit codes: {{{codes}}}  time: {elapsed:.1f} s + {minimizing:.1f} s minimizing")
    return 1 if tally.counts else 0


def _report(tally: Tally, runner: Runner, args: argparse.Namespace) -> list[str]:
    """Minimize each class within the budget, save it, and describe it in one line."""
    deadline = time.monotonic() + args.minimize_seconds
    ordered = sorted(
        tally.classes.values(), key=lambda c: (SEVERITY.index(c.failure.kind), c.failure.key)
    )
    lines = []

    def keys(case: Case, outcome: Outcome) -> set[str]:
        return {f.key for f in judge(case, outcome, args.slow, args.memory_mb)}

    for left, cls in zip(range(len(ordered), 0, -1), ordered, strict=True):
        key, case, outcome = cls.failure.key, cls.case, cls.outcome
        if not key.startswith("memory"):
            budget = (deadline - time.monotonic()) / left
            stop, tries = time.monotonic() + budget, 0

            def reproduces(candidate: Case, key: str = key, stop: float = stop) -> bool:
                nonlocal tries
                if time.monotonic() > stop or tries >= 400:
                    raise OutOfTimeError
                tries += 1
                return key in keys(candidate, runner.run_one(candidate))

            if budget > 0:
                smaller = minimize(case, reproduces, bytes_too=cls.failure.kind != "hang")
                rerun = runner.run_one(smaller)
                if key in keys(smaller, rerun):  # else the class is flaky: keep the original
                    case, outcome = smaller, rerun
        path, command = save(case, cls.failure, cls.count, outcome, args.crash_dir)
        shown = command if len(command) <= 200 else command[:200] + " …"
        lines.append(f"{cls.failure.kind:<9}  {key}  [{cls.count}]  {path}  $ {shown}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
