"""Every performance target in one interleaved run, as a user runs rfcalc. Asserts nothing.

    python benchmarks/perf.py [--rounds 11] [--python PATH]

Each round runs every start-up command once, in turn, so that the machine's drift hits all
of them alike; the large runs follow, in rounds of their own. The table gives the median over
rounds of wall time (and the peak memory of the large runs), and each time as a ratio to the
floor, ``python -c "import typer, rich, yaml"`` in the same environment. The rich table is
drawn into a real pseudo-terminal of 120×40.

Every process reads compiled bytecode, as after a regular install (pip writes it): the runs
use a private ``PYTHONPYCACHEPREFIX``, filled by one unmeasured warm-up round, and never
``PYTHONDONTWRITEBYTECODE``, which would make each run compile rfcalc's sources afresh.
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
TABLED = 2_000  # layers after an upsample
PER_LAYER = {"explicit": LAYERS, "tenth": LAYERS // 10, "repeat": LAYERS, "upsampled": TABLED}
FLOOR = "import typer, rich, yaml"


def run(cmd: list[str], cache: str, terminal: bool = False) -> tuple[float, int]:
    """Wall seconds and peak resident KiB of one fresh process."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
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


def chain(path: Path, layers: int) -> Path:
    lines = ["input: [8, 32, 32]", "layers:"]
    lines += ["  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}"] * layers
    path.write_text("\n".join(lines) + "\n")
    return path


def models(tmp: Path) -> dict[str, Path]:
    repeated = tmp / "repeat.yaml"
    repeated.write_text(
        "input: [8, 32, 32]\nlayers:\n"
        f"  - {{type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, repeat: {LAYERS}}}\n"
    )
    upsampled = tmp / "upsampled.yaml"  # per-unit fields (rf.Table) from the upsample on
    upsampled.write_text(
        "input: [8, 32, 32]\nlayers:\n  - {type: upsample, scale_factor: 2}\n"
        f"  - {{type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, repeat: {TABLED}}}\n"
    )
    many = tmp / "many"
    many.mkdir()
    source = (ROOT / "examples" / "textbook.yaml").read_text(encoding="utf-8")
    for i in range(FILES):
        (many / f"m{i:04}.yaml").write_text(source, encoding="utf-8")
    return {
        "explicit": chain(tmp / "explicit.yaml", LAYERS),
        "tenth": chain(tmp / "tenth.yaml", LAYERS // 10),
        "repeat": repeated,
        "upsampled": upsampled,
        "many": many,
    }


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    large_rounds = max(3, args.rounds // 3)
    py = args.python
    rfcalc = [str(Path(py).parent / "rfcalc")]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        paths = models(Path(folder))
        resnet = "examples/resnet50.yaml"
        # key, label, target (× floor, or seconds for the large runs), command
        rows: list[tuple[str, str, str, list[str]]] = [
            ("floor", f"python -c '{FLOOR}'", "", [py, "-c", FLOOR]),
            ("table", f"describe {resnet} (120-col pty)", "≤ 1.5×", [*rfcalc, "describe", resnet]),
            ("json", f"describe {resnet} -f json", "≤ 1.3×",
             [*rfcalc, "describe", resnet, "-f", "json"]),
            ("version", "rfcalc --version", "≤ 1.0×", [*rfcalc, "--version"]),
            ("tenth", f"{LAYERS // 10:,} layers written out, --format json", "",
             [*rfcalc, "describe", str(paths["tenth"]), "-f", "json"]),
            ("explicit", f"{LAYERS:,} layers written out, --format json", "≤ 3 s, ≤ 2 KiB",
             [*rfcalc, "describe", str(paths["explicit"]), "-f", "json"]),
            ("repeat", f"{LAYERS:,} layers via repeat, --format json", "≤ 2 s",
             [*rfcalc, "describe", str(paths["repeat"]), "-f", "json"]),
            ("upsampled", f"{TABLED:,} layers after an upsample, --format json", "",
             [*rfcalc, "describe", str(paths["upsampled"]), "-f", "json"]),
            ("check", f"check on {FILES:,} files in one process", "≤ 4 s",
             [*rfcalc, "check", str(paths["many"] / "*.yaml")]),
        ]  # fmt: skip
        times: dict[str, list[float]] = {key: [] for key, *_ in rows}
        memory: dict[str, list[int]] = {key: [] for key, *_ in rows}
        heavy = {"explicit", "tenth", "repeat", "upsampled", "check"}
        starts = [row for row in rows if row[0] not in heavy]
        large = [row for row in rows if row[0] in heavy]
        cache = str(Path(folder) / "pycache")
        for key, _, _, cmd in starts:  # warm-up: compile the bytecode once
            run(cmd, cache, terminal=key == "table")
        # the start-up rows first, and the large runs after them over fewer rounds (they take
        # seconds each): a process started right after a large one is slower (by 18 ms once
        # measured here), which would inflate the floor
        for group, rounds in ((starts, args.rounds), (large, large_rounds)):
            for _ in range(rounds):
                for key, _, _, cmd in group:
                    elapsed, peak = run(cmd, cache, terminal=key == "table")
                    times[key].append(elapsed)
                    memory[key].append(peak)
    load_after = os.getloadavg()
    floor = statistics.median(times["floor"])
    print(f"{time.strftime('%Y-%m-%d')}, {cpu_model()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; median of {args.rounds} interleaved rounds "
          f"({large_rounds} for the large ones, after them); load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after")  # fmt: skip
    print(f"{'what':<52}{'time':>9}{'× floor':>9}  {'per layer':<24}{'target':>15}")
    for key, label, target, _ in rows:
        median = statistics.median(times[key])
        line = f"{label:<52}{median * 1000:>7.0f}ms{median / floor:>9.2f}  "
        layers = PER_LAYER.get(key)
        if layers:
            kib = statistics.median(memory[key]) / layers
            line += f"{median / layers * 1e6:>5.0f} µs, {kib:.2f} KiB peak"
        else:
            line += " " * 24
        print(line + f"{target:>15}")


if __name__ == "__main__":
    main()
