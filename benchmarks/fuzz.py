"""Fuzz the CLI in-process with random documents and mutations of the examples.

    python benchmarks/fuzz.py [--count 10000] [--seed 1]

Every input must give exit 0 or 2 with no traceback; anything else is a crash and is saved
under benchmarks/crashes/. Prints how many inputs were tried, crashed and were slow (> 1 s).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from typer.testing import CliRunner  # noqa: E402

from rfcalc.cli import app  # noqa: E402
from rfcalc.layers import REGISTRY  # noqa: E402
from rfcalc.layers.base import T  # noqa: E402

VALUES = [
    "0",
    "1",
    "2",
    "3",
    "-1",
    "7",
    "64",
    "2147483648",
    "99999999999",
    "3.0",
    "0.5",
    "true",
    "null",
    "'3'",
    "same",
    "valid",
    "[1, 2]",
    "[[1, 2], [0, 3]]",
    "[]",
    "{}",
    "$w",
    "'${w * 2}'",
    "'${9**9**9}'",
    "'${w /0}'",
    "[1, null]",
    "x",
    "'${max(1, w)}'",
]
SPECIAL = [*"[]{}:,&*!|>'\"#%@`-? \t\n", "<<", "---", "\x00", "\xff", "${", "\\u0000"]


def random_layer(rng: random.Random) -> str:
    name = rng.choice(list(REGISTRY))
    kind = REGISTRY[name]
    parts = [f"type: {name}"]
    for arg in kind.args:
        if arg.required or rng.random() < 0.3:
            if arg.type is T.INT and rng.random() < 0.7:
                parts.append(f"{arg.name}: {rng.choice([1, 2, 3, 4, 8])}")
            elif arg.type is T.PER_AXIS and rng.random() < 0.7:
                parts.append(f"{arg.name}: {rng.choice([1, 2, 3, 5])}")
            else:
                parts.append(f"{arg.name}: {rng.choice(VALUES)}")
    if rng.random() < 0.1:
        parts.append(f"from: {rng.choice(['input', 'l0', 'l1', ['l0', 'input']])}")
    if rng.random() < 0.05:
        parts.append(f"repeat: {rng.choice(VALUES)}")
    if rng.random() < 0.5:
        parts.append(f"name: l{rng.randrange(4)}")
    return "{" + ", ".join(parts) + "}"


def random_document(rng: random.Random) -> str:
    rank = rng.randrange(0, 4)
    shape = [rng.choice([1, 3, 4, 8])] + [rng.choice([1, 5, 8, 16, 32]) for _ in range(rank)]
    lines = [f"input: {shape}", "vars: {w: 4}", "layers:"]
    lines += [f"  - {random_layer(rng)}" for _ in range(rng.randrange(1, 7))]
    if rng.random() < 0.2:
        lines.append(f"checks: {{max_params: {rng.choice(VALUES)}, min_rf: {rng.choice(VALUES)}}}")
    return "\n".join(lines) + "\n"


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(6)
        if op == 0 and text:  # flip a character
            i = rng.randrange(len(text))
            text = text[:i] + rng.choice(SPECIAL) + text[i + 1 :]
        elif op == 1:  # delete or duplicate a line
            lines = text.splitlines(keepends=True)
            if lines:
                i = rng.randrange(len(lines))
                lines[i : i + 1] = [] if rng.random() < 0.5 else [lines[i], lines[i]]
            text = "".join(lines)
        elif op == 2:  # replace a number
            import re

            numbers = list(re.finditer(r"\b\d+\b", text))
            if numbers:
                m = rng.choice(numbers)
                text = text[: m.start()] + rng.choice(VALUES) + text[m.end() :]
        elif op == 3:  # replace a type name
            import re

            types = list(re.finditer(r"type: (\w+)", text))
            if types:
                m = rng.choice(types)
                text = text[: m.start(1)] + rng.choice(list(REGISTRY)) + text[m.end(1) :]
        elif op == 4:  # truncate
            text = text[: rng.randrange(len(text) + 1)]
        else:  # insert a random layer
            lines = text.splitlines(keepends=True)
            i = rng.randrange(len(lines) + 1)
            lines.insert(i, f"  - {random_layer(rng)}\n")
            text = "".join(lines)
    return text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    examples = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.yaml"))]
    runner = CliRunner()
    crashes: list[tuple[str, str]] = []
    slow = 0
    outcomes = {0: 0, 1: 0, 2: 0}
    start = time.perf_counter()
    for i in range(args.count):
        text = mutate(rng.choice(examples), rng) if rng.random() < 0.5 else random_document(rng)
        command = rng.choice([["describe", "-"], ["describe", "-", "-f", "json"], ["check", "-"]])
        t0 = time.perf_counter()
        result = runner.invoke(app, command, input=text.encode("utf-8", "surrogateescape"))
        if time.perf_counter() - t0 > 1.0:
            slow += 1
        crashed = (
            (result.exception is not None and not isinstance(result.exception, SystemExit))
            or result.exit_code not in (0, 1, 2)
            or (result.exit_code == 1 and command[0] != "check")
            or "Traceback" in result.output
        )
        outcomes[result.exit_code] = outcomes.get(result.exit_code, 0) + 1
        if crashed:
            crashes.append((text, repr(result.exception)))
            folder = ROOT / "benchmarks" / "crashes"
            folder.mkdir(exist_ok=True)
            (folder / f"crash-{args.seed}-{i}.yaml").write_text(
                text, encoding="utf-8", errors="replace"
            )
    elapsed = time.perf_counter() - start
    print(
        f"inputs: {args.count}  crashes: {len(crashes)}  slow (>1 s): {slow}  "
        f"exit codes: {outcomes}  time: {elapsed:.1f} s"
    )
    for text, exc in crashes[:5]:
        print("---", exc)
        print(text[:400])
    sys.exit(1 if crashes else 0)


if __name__ == "__main__":
    main()
