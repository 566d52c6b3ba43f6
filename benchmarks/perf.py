"""Every performance target in one interleaved run, as a user runs rfcalc. Asserts nothing.

    python benchmarks/perf.py [--rounds 11] [--python PATH]

Each round runs every command once, in turn, so that the machine's drift hits all of them
alike; the table gives the median over rounds of wall time (and the peak memory of the
largest runs), and each time as a ratio to the floor, ``python -c "import typer, rich, yaml"``
in the same environment. The rich table is drawn into a real pseudo-terminal of 120×40.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import platform
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = 100_000
FILES = 1_000
FLOOR = "import typer, rich, yaml"


def run(cmd: list[str], terminal: bool = False) -> tuple[float, int]:
    """Wall seconds and peak resident KiB of one fresh process."""
    env = dict(os.environ)
    if terminal:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
        env.pop("NO_COLOR", None)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=slave, stderr=slave, stdin=slave, cwd=ROOT, env=env)
        os.close(slave)
        while True:  # drain the terminal, as a terminal would
            try:
                if not os.read(master, 1 << 16):
                    break
            except OSError:
                break
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        os.close(master)
    else:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss


def models(tmp: Path) -> dict[str, Path]:
    explicit = tmp / "explicit.yaml"
    lines = ["input: [8, 32, 32]", "layers:"]
    lines += ["  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}"] * LAYERS
    explicit.write_text("\n".join(lines) + "\n")
    repeated = tmp / "repeat.yaml"
    repeated.write_text(
        "input: [8, 32, 32]\nlayers:\n"
        f"  - {{type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, repeat: {LAYERS}}}\n"
    )
    many = tmp / "many"
    many.mkdir()
    source = (ROOT / "examples" / "textbook.yaml").read_text(encoding="utf-8")
    for i in range(FILES):
        (many / f"m{i:04}.yaml").write_text(source, encoding="utf-8")
    return {"explicit": explicit, "repeat": repeated, "many": many}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    py = args.python
    rfcalc = [str(Path(py).parent / "rfcalc")]
    with tempfile.TemporaryDirectory() as folder:
        paths = models(Path(folder))
        resnet = "examples/resnet50.yaml"
        rows: list[tuple[str, str, list[str]]] = [
            ("floor", f"python -c '{FLOOR}'", [py, "-c", FLOOR]),
            ("table", f"describe {resnet} (120-col pty)", [*rfcalc, "describe", resnet]),
            ("json", f"describe {resnet} -f json", [*rfcalc, "describe", resnet, "-f", "json"]),
            ("version", "rfcalc --version", [*rfcalc, "--version"]),
            ("explicit", f"{LAYERS:,} layers written out, --format json",
             [*rfcalc, "describe", str(paths["explicit"]), "-f", "json"]),
            ("repeat", f"{LAYERS:,} layers via repeat, --format json",
             [*rfcalc, "describe", str(paths["repeat"]), "-f", "json"]),
            ("check", f"check on {FILES:,} files in one process",
             [*rfcalc, "check", str(paths["many"] / "*.yaml")]),
        ]  # fmt: skip
        times: dict[str, list[float]] = {key: [] for key, _, _ in rows}
        memory: dict[str, list[int]] = {key: [] for key, _, _ in rows}
        heavy = {"explicit", "repeat", "check"}
        for r in range(args.rounds):
            for key, _, cmd in rows:
                if key in heavy and r >= max(3, args.rounds // 3):
                    continue  # the large runs take seconds each: fewer rounds suffice
                elapsed, peak = run(cmd, terminal=key == "table")
                times[key].append(elapsed)
                memory[key].append(peak)
    floor = statistics.median(times["floor"])
    print(f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; median of interleaved runs")  # fmt: skip
    print(f"{'what':<58}{'time':>10}{'× floor':>9}")
    for key, label, _ in rows:
        median = statistics.median(times[key])
        line = f"{label:<58}{median * 1000:>8.0f}ms{median / floor:>9.2f}"
        if key in ("explicit", "repeat"):
            kib = statistics.median(memory[key]) / LAYERS
            line += f"   {kib:.2f} KiB/layer peak"
        print(line)


if __name__ == "__main__":
    main()
