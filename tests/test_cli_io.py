"""Reading MODEL and writing --output: bad input never crashes, nothing the user wrote is lost.

Where typer's runner cannot stand in for the real thing (standard input that is a file, closed,
or endless; stdout through /proc/self/fd/1), a real ``python -m rfcalc`` runs, its memory
capped. The tests run as root here, where a careless ``-o /dev/null`` really replaces the
machine's /dev/null: so a regression must first show on device nodes made in a temporary
folder (the ``device`` fixture), and endless devices are only ever read in a capped child.
"""

from __future__ import annotations

import json
import os
import pty
import resource
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rfcalc.cli import _check_output, app
from rfcalc.errors import InputError
from rfcalc.loader import load_path
from tests.helpers import EXAMPLES, ROOT

runner = CliRunner()
MODEL = EXAMPLES / "textbook.yaml"
TEXT = MODEL.read_text(encoding="utf-8")
TIMEOUT = 120  # seconds; a hang or an unbounded read fails instead of stalling the suite


def rfcalc(
    *args: str, stdin: int | None = None, stdout: int = subprocess.PIPE, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A real ``python -m rfcalc`` run, its address space capped at 1 GiB: an unbounded read of
    /dev/zero then fails fast (as a MemoryError traceback) instead of filling the machine."""

    def cap_memory() -> None:  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-m", "rfcalc", *args],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=cap_memory,
    )


def describe_json(*args: str, stdin: str | None = None) -> dict[str, object]:
    result = runner.invoke(app, ["describe", *args, "-f", "json"], input=stdin)
    assert (result.exit_code, result.stderr) == (0, "")
    data: dict[str, object] = json.loads(result.stdout)
    return data


def report_text() -> str:
    """What ``describe MODEL -f csv`` prints on stdout, to compare with what -o wrote."""
    result = runner.invoke(app, ["describe", str(MODEL), "-f", "csv"])
    assert result.exit_code == 0
    return result.stdout


@contextmanager
def fifo_peer(path: Path, data: bytes | None = None) -> Iterator[list[bytes]]:
    """A thread at the other end of the FIFO ``path``: it writes ``data``, or (None) reads
    everything into the list it yields. If rfcalc never opens the FIFO, the thread is released
    on exit by opening the other end, so that a failing test cannot hang."""
    got: list[bytes] = []

    def run() -> None:
        try:
            if data is None:
                with open(path, "rb") as fh:
                    got.append(fh.read())
            else:
                with open(path, "wb") as fh:
                    fh.write(data)
        except BrokenPipeError:  # pragma: no cover - only when rfcalc stops reading
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        thread.join(timeout=5)
        if thread.is_alive():  # pragma: no cover - only when rfcalc never opened the FIFO
            flags = os.O_WRONLY if data is None else os.O_RDONLY
            os.close(os.open(path, flags | os.O_NONBLOCK))
            thread.join(timeout=5)
        assert not thread.is_alive()


# --- reading MODEL -------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_device_as_model_is_refused_unopened(device: str) -> None:
    """Before: /dev/zero was read whole (3.7 GB), then a MemoryError traceback."""
    result = rfcalc("describe", device)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"{device}:1:1: error: is a character device, not a model file\n"


def test_socket_as_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        result = runner.invoke(app, ["describe", str(path)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"{path}:1:1: error: is a socket, not a model file\n"


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_endless_device_on_stdin_stops_at_the_limit(device: str) -> None:
    """16 MiB and one byte are read, then refused; the 1 GiB cap proves nothing more was."""
    with open(device, "rb") as endless:
        result = rfcalc("describe", "-", stdin=endless.fileno())
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "<stdin>:1:1: error: file is larger than 16 MiB\n"


def test_endless_pipe_on_stdin_stops_at_the_limit() -> None:
    """A writer that never stops (as `yes |`): rfcalc reads to the limit, fails and exits."""
    forever = "import sys\nwhile True: sys.stdout.buffer.write(b'a: 1\\n' * 10_000)"
    with subprocess.Popen(
        [sys.executable, "-c", forever], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as writer:
        assert writer.stdout is not None
        result = rfcalc("describe", "-", stdin=writer.stdout.fileno())
        writer.stdout.close()  # the writer now fails on a broken pipe and exits
        assert writer.wait(timeout=TIMEOUT) != 0
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "<stdin>:1:1: error: file is larger than 16 MiB\n"


def test_a_model_of_exactly_the_limit_is_read_whole(tmp_path: Path) -> None:
    """The bound is the limit plus one byte: a file of exactly 16 MiB is read whole (the model
    comes last, after 16 MiB of comments), one byte more is refused."""
    limit = 16 * 1024 * 1024
    model = TEXT.encode()
    lines, rest = divmod(limit - len(model), 1024)
    filler = (b"#" * 1023 + b"\n") * lines + (b"#" * (rest - 1) + b"\n" if rest else b"")
    path = tmp_path / "big.yaml"
    path.write_bytes(filler + model)
    assert path.stat().st_size == limit
    assert describe_json(str(path))["totals"] == describe_json(str(MODEL))["totals"]
    path.write_bytes(b"\n" + filler + model)
    too_big = runner.invoke(app, ["describe", str(path)])
    assert (too_big.exit_code, too_big.stdout) == (2, "")
    assert too_big.stderr == f"{path}:1:1: error: file is larger than 16 MiB\n"


def test_closed_stdin_in_a_real_process() -> None:
    """`rfcalc describe - <&-`: Python starts with sys.stdin None (DEVNULL would be open)."""
    result = subprocess.run(
        ["sh", "-c", 'exec "$0" -m rfcalc describe - <&-', sys.executable],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "<stdin>:1:1: error: standard input is closed\n"


def test_closed_stdin_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(InputError) as caught:
        load_path("-")
    assert caught.value.render() == "<stdin>:1:1: error: standard input is closed"


def test_stdin_descriptor_closed_after_start(monkeypatch: pytest.MonkeyPatch) -> None:
    read_end, write_end = os.pipe()
    os.close(write_end)
    stream = os.fdopen(read_end, "r", encoding="utf-8")
    stream.close()
    monkeypatch.setattr(sys, "stdin", stream)
    with pytest.raises(InputError) as caught:
        load_path("-")
    assert caught.value.render() == "<stdin>:1:1: error: standard input is closed"


def test_stdin_a_regular_file_in_a_real_process(tmp_path: Path) -> None:
    with MODEL.open("rb") as fh:
        result = rfcalc("describe", "-", "-f", "json", stdin=fh.fileno())
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout)["totals"]["params"] == 55744


def test_fifo_as_model_is_read(tmp_path: Path) -> None:
    """A FIFO named as MODEL (as `<(cmd)` gives) is read like a file, bounded."""
    fifo = tmp_path / "model.fifo"
    os.mkfifo(fifo)
    with fifo_peer(fifo, TEXT.encode()):
        data = describe_json(str(fifo))
    assert data["model"] == {"name": "textbook-convnet", "source": str(fifo)}
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


# --- --batch -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1e320", "'1e320' is not a valid int range."),
        ("2.5", "'2.5' is not a valid int range."),
        ("abc", "'abc' is not a valid int range."),
        ("0", "0 is not in the range 1<=x<=2147483648."),
        ("2147483649", "2147483649 is not in the range 1<=x<=2147483648."),
        (str(10**400), f"{10**400} is not in the range 1<=x<=2147483648."),
        ("9" * 5000, f"'{'9' * 5000}' is not a valid int range."),  # beyond int()'s 4300 digits
    ],
    ids=["1e320", "float", "word", "zero", "2**31+1", "10**400", "5000-digits"],
)
def test_bad_batch_is_a_usage_error(value: str, reason: str) -> None:
    result = runner.invoke(app, ["describe", str(MODEL), "--batch", value])
    assert (result.exit_code, result.stdout) == (2, "")
    assert f"Invalid value for '--batch': {reason}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "csv"])
def test_largest_batch_renders_in_every_format(fmt: str) -> None:
    """2³¹ samples: memory figures stay within a float (before: 10**400 crashed the table)."""
    result = runner.invoke(app, ["describe", str(MODEL), "--batch", str(2**31), "-f", fmt])
    assert (result.exit_code, result.stderr) == (0, "")
    if fmt == "json":
        # 1·28·28 float32 = 3,136 B per sample
        assert json.loads(result.stdout)["totals"]["input_bytes"] == 3136 * 2**31


# --- --output --------------------------------------------------------------------------------


def test_output_is_the_model_on_stdin(tmp_path: Path) -> None:
    """`describe - -o model.yaml < model.yaml`: the same inode, whatever the name."""
    model = tmp_path / "model.yaml"
    model.write_text(TEXT, encoding="utf-8")
    with model.open("rb") as fh:
        result = rfcalc("describe", "-", "-o", "model.yaml", stdin=fh.fileno(), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "rfcalc: error: --output model.yaml is the model read from standard input;"
        " refusing to overwrite it\n"
    )
    assert model.read_text(encoding="utf-8") == TEXT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.yaml"]


def test_output_beside_the_model_on_stdin(tmp_path: Path) -> None:
    with MODEL.open("rb") as fh:
        result = rfcalc(
            "describe", "-", "-o", "r.csv", "-f", "csv", stdin=fh.fileno(), cwd=tmp_path
        )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert (tmp_path / "r.csv").read_text(encoding="utf-8") == report_text()


@pytest.mark.parametrize("kind", ["hard link", "symlink"])
def test_output_is_the_model_under_another_name(tmp_path: Path, kind: str) -> None:
    model = tmp_path / "model.yaml"
    model.write_text(TEXT, encoding="utf-8")
    other = tmp_path / "other.yaml"
    if kind == "symlink":
        other.symlink_to(model)
    else:
        other.hardlink_to(model)
    result = runner.invoke(app, ["describe", str(model), "-o", str(other)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"rfcalc: error: --output {other} is the model file itself; refusing to overwrite it\n"
    )
    assert model.read_text(encoding="utf-8") == TEXT
    assert other.is_symlink() == (kind == "symlink")


@pytest.fixture
def device(tmp_path: Path) -> Callable[[str], Path]:
    """``device("null")``: as root, a fresh node for /dev/null's device in tmp_path (what a
    regression replaces is then only that); otherwise /dev/null itself, which a user cannot
    replace."""

    def make(name: str) -> Path:
        real = Path("/dev") / name
        if os.geteuid() != 0:
            return real
        node = tmp_path / name
        os.mknod(node, stat.S_IFCHR | 0o666, real.stat().st_rdev)
        return node

    return make


def assert_same_device(path: Path, before: os.stat_result) -> None:
    after = path.lstat()
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert not [p for p in os.listdir(path.parent) if p.startswith(".rfcalc-")]


def test_output_dev_null_stays_a_device(device: Callable[[str], Path]) -> None:
    """As root, the old temp-file-and-rename replaced /dev/null with a regular file."""
    for null in dict.fromkeys([device("null"), Path("/dev/null")]):  # the real one once safe
        before = null.lstat()
        result = runner.invoke(app, ["describe", str(MODEL), "-o", str(null)])
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
        assert_same_device(null, before)


def test_output_write_failure_on_a_device_is_reported(device: Callable[[str], Path]) -> None:
    full = device("full")
    before = full.lstat()
    result = runner.invoke(app, ["describe", str(MODEL), "-o", str(full)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"rfcalc: error: --output {full}: cannot write: No space left on device\n"
    )
    assert_same_device(full, before)


def test_output_fifo_receives_the_text(tmp_path: Path) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    with fifo_peer(fifo) as got:
        result = runner.invoke(app, ["describe", str(MODEL), "-o", str(fifo), "-f", "csv"])
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert got == [report_text().encode()]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.fifo"]


def test_output_symlink_to_a_file_stays_a_symlink(tmp_path: Path) -> None:
    """The file the link points to is replaced atomically, its mode kept; the link stays."""
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "r.csv"
    target.write_text("previous report\n", encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "latest.csv"
    link.symlink_to(Path("reports") / "r.csv")
    result = runner.invoke(app, ["describe", str(MODEL), "-o", str(link), "-f", "csv"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert link.is_symlink()
    assert os.readlink(link) == os.path.join("reports", "r.csv")
    assert target.read_text(encoding="utf-8") == report_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["latest.csv", "r.csv", "reports"]


def test_output_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "latest.csv"
    link.symlink_to("new.csv")
    result = runner.invoke(app, ["describe", str(MODEL), "-o", str(link), "-f", "csv"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert link.is_symlink()
    assert (tmp_path / "new.csv").read_text(encoding="utf-8") == report_text()


def test_output_dangling_symlink_into_a_missing_folder(tmp_path: Path) -> None:
    link = tmp_path / "latest.csv"
    link.symlink_to("gone/new.csv")
    result = runner.invoke(app, ["describe", str(MODEL), "-o", str(link)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"rfcalc: error: --output {link}: folder {tmp_path / 'gone'} does not exist\n"
    )
    assert link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.csv"]


def test_output_symlink_to_stdout_in_a_real_process(tmp_path: Path) -> None:
    """-o through a link to /proc/self/fd/1 (as /dev/stdout is): written through to the pipe."""
    link = tmp_path / "out"
    link.symlink_to("/proc/self/fd/1")
    result = rfcalc("describe", str(MODEL), "-o", str(link), "-f", "csv")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == report_text()
    assert os.readlink(link) == "/proc/self/fd/1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_output_dev_stdout_on_a_file_in_a_real_process(tmp_path: Path) -> None:
    """`-o /dev/stdout > r.csv` (a link of our own to /proc/self/fd/1 standing in for
    /dev/stdout): the file behind it is replaced, the link stays."""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    out = tmp_path / "r.csv"
    with out.open("wb") as fh:
        result = rfcalc("describe", str(MODEL), "-o", str(link), "-f", "csv", stdout=fh.fileno())
    assert (result.returncode, result.stderr) == (0, "")
    assert out.read_text(encoding="utf-8") == report_text()
    assert os.readlink(link) == "/proc/self/fd/1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "stdout"]


def test_output_new_file_follows_the_umask(tmp_path: Path) -> None:
    """Not mkstemp's 0600: a new report is made as the shell's `>` would make it."""
    old = os.umask(0o027)
    try:
        result = runner.invoke(app, ["describe", str(MODEL), "-o", str(tmp_path / "r.txt")])
    finally:
        os.umask(old)
    assert result.exit_code == 0
    assert stat.S_IMODE((tmp_path / "r.txt").stat().st_mode) == 0o640


def test_output_failed_rename_leaves_the_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.txt"
    target.write_text("previous report\n", encoding="utf-8")

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    result = runner.invoke(app, ["describe", str(MODEL), "-o", str(target)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"rfcalc: error: --output {target}: cannot write: Permission denied\n"
    assert target.read_text(encoding="utf-8") == "previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.txt"]


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_output_block_device_is_refused(tmp_path: Path) -> None:
    node = tmp_path / "disk"
    os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 0))
    result = runner.invoke(app, ["describe", str(MODEL), "-o", str(node)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"rfcalc: error: --output {node} is a block device; refusing to write to it\n"
    )
    assert stat.S_ISBLK(node.lstat().st_mode)


def test_output_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        result = runner.invoke(app, ["describe", str(MODEL), "-o", str(path)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"rfcalc: error: --output {path} is a socket; refusing to write to it\n"
    assert stat.S_ISSOCK(path.lstat().st_mode)


def test_output_under_a_file_is_reported(tmp_path: Path) -> None:
    model = tmp_path / "m.yaml"
    model.write_text(TEXT, encoding="utf-8")
    result = runner.invoke(app, ["describe", str(model), "-o", f"{model}/r.txt"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert (
        result.stderr == f"rfcalc: error: --output {model}/r.txt: cannot write: Not a directory\n"
    )
    assert model.read_text(encoding="utf-8") == TEXT


def test_terminal_both_stdin_and_output_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """`rfcalc describe - -o /dev/stdout` typed at a terminal: one device, not one file."""
    master, slave = pty.openpty()
    try:
        with os.fdopen(os.dup(slave), "r", encoding="utf-8") as tty:
            monkeypatch.setattr(sys, "stdin", tty)
            _check_output(f"/proc/self/fd/{slave}", "-")  # raises nothing
    finally:
        os.close(master)
        os.close(slave)
