"""The command line: option parsing, and the only place that turns errors into exit codes.

Commands import what they need when they run, so that ``--format json`` never pays for rich.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from typing import Annotated, NoReturn

import typer

from rfcalc import __version__
from rfcalc.errors import InputError, RfcalcError, printable

app = typer.Typer(
    name="rfcalc",
    help="Shapes, parameters, MACs and receptive fields of neural networks described in YAML.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXIT_INVALID = 2
MAX_BATCH = 2**31  # as any size (rfcalc.layers.base.MAX_DIM): memory figures stay finite floats


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"


class Dtype(StrEnum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    int8 = "int8"


def emit(text: str) -> None:
    """Every document rfcalc prints goes out here, inert: a name or path holding terminal
    escapes is shown escaped (the errors do the same in their own rendering)."""
    sys.stdout.write(printable(text))


def fail(error: RfcalcError) -> NoReturn:
    sys.stderr.write(error.render() + "\n")
    raise typer.Exit(EXIT_INVALID)


def parse_sets(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--set takes NAME=VALUE, got '{item}'")
        out[name.strip()] = value
    return out


def parse_shape(text: str | None, option: str) -> tuple[int, ...] | None:
    """The sizes of a shape option; the builder validates them as it validates ``input:``."""
    from rfcalc.build import sizes_from_text

    return None if text is None else sizes_from_text(text, option)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rfcalc {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Shapes, parameters, MACs and receptive fields of neural networks described in YAML."""


@app.command()
def describe(
    model: Annotated[
        str, typer.Argument(metavar="MODEL", help="Model file, or - for standard input.")
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    sets: Annotated[
        list[str] | None, typer.Option("--set", metavar="NAME=VALUE", help="Override a variable.")
    ] = None,
    input_shape: Annotated[
        str | None,
        typer.Option("--input", metavar="C,H,W", help="Override the input shape, e.g. 3,224,224."),
    ] = None,
    batch: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_BATCH,
            metavar="B",
            help="Batch size for memory figures.",
        ),
    ] = 1,
    dtype: Annotated[Dtype, typer.Option(help="Element type for memory figures.")] = Dtype.float32,
    depth: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Fold block instances at nesting level N (1: top-level blocks).",
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write to FILE instead of stdout. A regular file is replaced atomically (through"
            " a symlink, the file it points to: the link stays); a FIFO or a character device"
            " such as /dev/null is written through, never replaced.",
        ),
    ] = None,
) -> None:
    """Print every layer's shape, params, MACs and receptive field, and the totals."""
    from rfcalc.api import describe as run

    try:
        if output is not None:
            _check_output(output, model)
        report = run(
            model, parse_sets(sets), parse_shape(input_shape, "--input"), batch, dtype.value
        )
    except RfcalcError as error:
        fail(error)
    if fmt is Format.table and output is None and sys.stdout.isatty():
        # a terminal: the same text table, fitted to its width, coloured unless NO_COLOR
        import shutil

        from rfcalc.render.text import render as render_text

        width = max(shutil.get_terminal_size().columns, 40)
        colour = "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        sys.stdout.write(render_text(report, depth, width, colour))
        return
    if fmt is Format.json and output is None:
        from rfcalc.render.json_out import write_report

        write_report(report, emit)  # in pieces: a large model's text is never held whole
        return
    if fmt is Format.json:
        from rfcalc.render.json_out import render as render_json

        text = render_json(report)
    elif fmt is Format.markdown:
        from rfcalc.render.markdown import render_markdown

        text = render_markdown(report, depth)
    elif fmt is Format.csv:
        from rfcalc.render.markdown import render_csv

        text = render_csv(report)
    else:
        from rfcalc.render.text import render as render_text

        text = render_text(report, depth)
    if output is None:
        emit(text)
    else:
        try:
            write_atomically(output, printable(text))
        except OSError as exc:
            fail(InputError(f"--output {output}: cannot write: {exc.strerror}"))
        except RfcalcError as error:
            fail(error)


def _check_output(output: str, model: str) -> None:
    """Before any work, refuse an --output that is the model itself (compared by device and
    inode, so also through a link or as the file redirected to standard input), a folder, a
    block device or a socket, or a new file in a folder that does not exist."""
    import stat

    if output.endswith(os.sep):
        raise InputError(f"--output {output} names a folder, not a file")
    try:
        target = os.stat(output)  # follows symlinks: what would be written
    except FileNotFoundError:
        folder = os.path.dirname(os.path.realpath(output))
        if not os.path.isdir(folder):
            raise InputError(f"--output {output}: folder {folder} does not exist") from None
        return
    except OSError as exc:
        raise InputError(f"--output {output}: cannot write: {exc.strerror}") from None
    try:
        source = os.fstat(sys.stdin.fileno()) if model == "-" else os.stat(model)
    except (AttributeError, OSError, ValueError):  # no model there (yet), or stdin closed
        source = None
    # a terminal may well be both: `rfcalc describe - -o /dev/stdout`, typing the model
    if source is not None and os.path.samestat(target, source) and not stat.S_ISCHR(source.st_mode):
        what = "the model file itself" if model != "-" else "the model read from standard input"
        raise InputError(f"--output {output} is {what}; refusing to overwrite it")
    if stat.S_ISDIR(target.st_mode):
        raise InputError(f"--output {output} is a directory")
    for test, kind in ((stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(target.st_mode):
            raise InputError(f"--output {output} is {kind}; refusing to write to it")


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path``; a failed run never truncates or replaces an existing file.

    A regular file is written to a temporary file beside it, then renamed over it (its mode
    kept). Reached through symlinks, the real file is replaced and the links stay links. A FIFO
    or a character device (/dev/null, a terminal, /dev/stdout on a pipe) is opened and written
    through, never replaced; a FIFO waits for its reader, as with the shell's ``>``."""
    import contextlib
    import stat
    import tempfile

    try:
        before: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        before = None
    if before is not None and not stat.S_ISREG(before.st_mode):
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):  # changed since _check_output
            os.close(fd)
            raise InputError(f"--output {path} is not a regular file, a FIFO or a device")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        return
    real = os.path.realpath(path)
    if before is not None:
        try:
            same = os.path.samestat(before, os.stat(real))
        except OSError:
            same = False
        if not same:  # e.g. /dev/stdout on a file since deleted: '/path (deleted)'
            raise InputError(f"--output {path}: cannot tell which file it names")
        mode = before.st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask  # as a new file made by the shell's `>`, not mkstemp's 0600
    fd, tmp = tempfile.mkstemp(prefix=".rfcalc-", suffix=".tmp", dir=os.path.dirname(real))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class CheckFormat(StrEnum):
    text = "text"
    json = "json"


def _expand(patterns: list[str]) -> list[str]:
    """Shell globs normally arrive expanded; a quoted or unexpanded one is expanded here."""
    import glob

    out: list[str] = []
    for pattern in patterns:
        if pattern != "-" and any(c in pattern for c in "*?[") and not os.path.exists(pattern):
            out += sorted(glob.glob(pattern, recursive=True)) or [pattern]
        else:
            out.append(pattern)
    return out


@app.command()
def check(
    models: Annotated[
        list[str], typer.Argument(metavar="MODEL...", help="Model files (globs work), - for stdin.")
    ],
    max_params: Annotated[
        str | None, typer.Option(metavar="N", help="Most parameters allowed (K, M, G suffixes).")
    ] = None,
    max_macs: Annotated[
        str | None, typer.Option(metavar="N", help="Most MACs allowed (K, M, G).")
    ] = None,
    min_rf: Annotated[
        str | None, typer.Option(metavar="N", help="Smallest final receptive field on every axis.")
    ] = None,
    rf_covers_input: Annotated[
        bool, typer.Option("--rf-covers-input", help="Require a final unit that sees it all.")
    ] = False,
    output_shape: Annotated[
        str | None,
        typer.Option(metavar="C,H,W", help="Required output shape, e.g. 1000 or 2048,7,7."),
    ] = None,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f")] = CheckFormat.text,
    sets: Annotated[
        list[str] | None, typer.Option("--set", metavar="NAME=VALUE", help="Override a variable.")
    ] = None,
    exit_zero: Annotated[
        bool, typer.Option("--exit-zero", help="Exit 0 even when a check fails.")
    ] = False,
) -> None:
    """Check models against limits from their 'checks:' section and these options.

    Exit 0 when every check passes, 1 when one fails, 2 when a file is invalid."""
    from rfcalc import checks
    from rfcalc.api import analyze_graph, load
    from rfcalc.render.check_report import FileResult, render_json, render_text

    try:
        overrides = parse_sets(sets)
        flags: dict[str, checks.Limit] = {}
        for name, value in (("max_params", max_params), ("max_macs", max_macs), ("min_rf", min_rf)):
            if value is not None:
                flags[name] = checks.parse_count(value, f"--{name.replace('_', '-')}", None)
        if output_shape is not None:
            flags["output_shape"] = checks.parse_shape(output_shape, "--output-shape", None)
        if rf_covers_input:
            flags["rf_covers_input"] = True
    except RfcalcError as error:
        fail(error)
    results: list[FileResult] = []
    for path in _expand(models):
        try:
            graph = load(path, overrides)
            report = analyze_graph(graph)
            limits = {**checks.from_file(graph.checks, graph.variables), **flags}
            violations = tuple(checks.run(report, limits))
        except RfcalcError as error:
            sys.stderr.write(error.render() + "\n")
            results.append(FileResult(path, "error", 0, error=error))
            continue
        status = "fail" if violations else "pass"
        results.append(FileResult(path, status, len(limits), violations))
    emit(render_json(results) if fmt is CheckFormat.json else render_text(results))
    if any(r.status == "error" for r in results):
        raise typer.Exit(EXIT_INVALID)
    if any(r.status == "fail" for r in results) and not exit_zero:
        raise typer.Exit(1)


@app.command()
def diff(
    old: Annotated[str, typer.Argument(metavar="OLD", help="The model before.")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="The model after.")],
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f")] = CheckFormat.text,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="NAME=VALUE", help="Override a variable in both."),
    ] = None,
) -> None:
    """Show what changed between two model files: totals, output, receptive field, layers."""
    from rfcalc.api import describe as run
    from rfcalc.diff import compare
    from rfcalc.render.diff_out import render_json, render_text

    try:
        overrides = parse_sets(sets)
        result = compare(run(old, overrides), run(new, overrides))
    except RfcalcError as error:
        fail(error)
    emit(render_json(result) if fmt is CheckFormat.json else render_text(result))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the model file (for editors and validators)."""
    import json

    from rfcalc.schema import generate

    sys.stdout.write(json.dumps(generate(), indent=2, ensure_ascii=False) + "\n")


@app.command()
def layers(
    type_name: Annotated[
        str | None, typer.Argument(metavar="TYPE", help="Show one type's arguments.")
    ] = None,
) -> None:
    """List the layer types, or one type's arguments and defaults."""
    from rfcalc.render.layers_doc import detail, overview

    try:
        sys.stdout.write(detail(type_name) if type_name else overview())
    except RfcalcError as error:
        fail(error)


def main() -> None:
    """The ``rfcalc`` script. Once a command is done and its output flushed, the process ends
    without freeing its heap object by object (a large model's millions of them); anything
    unusual (an exit message, a stream that cannot be flushed) takes the interpreter's exit."""
    code: object = 0
    try:
        app(prog_name="rfcalc")
    except SystemExit as done:
        code = done.code
    if code is None or isinstance(code, int):
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            raise SystemExit(code) from None
        os._exit((code or 0) & 0xFF)
    raise SystemExit(code)
