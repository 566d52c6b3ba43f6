"""Measure rfcalc's cold start and throughput. Prints numbers; asserts nothing.

    python benchmarks/startup.py [--runs 15] [--python PATH]

Cold start: wall time of fresh processes (median over runs) for ``import typer, rich, yaml``
(the floor any typer CLI pays) next to ``rfcalc describe`` on VGG-16, as a table and as JSON.
Throughput: in-process analysis of generated 100,000-layer models (explicit and via repeat).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cold(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def big_models(tmp: Path) -> dict[str, Path]:
    explicit = tmp / "explicit.yaml"
    lines = ["input: [8, 32, 32]", "layers:"]
    lines += ["  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}"] * 100_000
    explicit.write_text("\n".join(lines) + "\n")
    repeated = tmp / "repeat.yaml"
    repeated.write_text(
        "input: [8, 32, 32]\nlayers:\n"
        "  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, repeat: 100000}\n"
    )
    upsampled = tmp / "upsampled.yaml"
    upsampled.write_text(
        "input: [8, 32, 32]\nlayers:\n  - {type: upsample, scale_factor: 2}\n"
        "  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, repeat: 2000}\n"
    )
    return {
        "100,000 explicit layers": explicit,
        "100,000 layers via repeat": repeated,
        "2,000 layers after an upsample (per-unit fields)": upsampled,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    py = args.python
    rfcalc = [py, "-m", "rfcalc"]
    print(f"python: {py}")
    print(f"{'cold start (median of ' + str(args.runs) + ')':<52}{'ms':>8}")
    for label, cmd in [
        ("python -c pass", [py, "-c", "pass"]),
        ("python -c 'import typer, rich, yaml'", [py, "-c", "import typer, rich, yaml"]),
        ("rfcalc describe examples/vgg16.yaml", [*rfcalc, "describe", "examples/vgg16.yaml"]),
        (
            "rfcalc describe examples/vgg16.yaml --format json",
            [*rfcalc, "describe", "examples/vgg16.yaml", "--format", "json"],
        ),
    ]:
        print(f"  {label:<50}{cold(cmd, args.runs):8.1f}")
    sys.path.insert(0, str(ROOT))
    from rfcalc.api import describe

    with tempfile.TemporaryDirectory() as tmp:
        for label, path in big_models(Path(tmp)).items():
            start = time.perf_counter()
            report = describe(str(path))
            elapsed = time.perf_counter() - start
            print(
                f"  {label:<50}{elapsed * 1000:8.0f}  ({len(report.layers):,} layers, "
                f"final RF {report.final.rf.size[0]})"
            )


if __name__ == "__main__":
    main()
