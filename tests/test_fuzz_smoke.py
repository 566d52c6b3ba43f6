"""The fuzzer keeps working, and a short fixed run of it keeps the product's promise: no
crash, hang, slow input or violation (the long runs are manual: benchmarks/fuzz.py --help)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def test_fuzz_script_short_run(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "fuzz.py"),
            *("--count", "300", "--seed", "7", "--jobs", "1"),
            *("--minimize-seconds", "10", "--crash-dir", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    summary = result.stdout.partition("\n")[0]
    assert summary == "inputs: 300  crashes: 0  hangs: 0  slow: 0  violations: 0", (
        result.stdout + result.stderr
    )
    assert result.returncode == 0, result.stdout + result.stderr
