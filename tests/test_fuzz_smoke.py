"""The fuzzing script keeps working: a short run must find no crash (the long runs are manual)."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT


def test_fuzz_script_short_run() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fuzz.py"), "--count", "300", "--seed", "7"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("inputs: 300  crashes: 0")
