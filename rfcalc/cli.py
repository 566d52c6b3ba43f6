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
from rfcalc.errors import InputError, RfcalcError

app = typer.Typer(
    name="rfcalc",
    help="Shapes, parameters, MACs and receptive fields of neural networks described in YAML.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXIT_INVALID = 2


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
    if text is None:
        return None
    parts = [p.strip() for p in text.replace("x", ",").replace("×", ",").split(",")]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise InputError(f"{option} takes sizes such as 3,224,224; got '{text}'") from None
    if not 1 <= len(shape) <= 4 or any(d < 1 for d in shape):
        raise InputError(f"{option} needs 1 to 4 positive sizes, got '{text}'")
    return shape


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
        int, typer.Option(min=1, metavar="B", help="Batch size for memory figures.")
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
            "--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout."
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
    if (
        fmt is Format.table
        and output is None
        and sys.stdout.isatty()
        and os.environ.get("TERM") != "dumb"
    ):
        from rfcalc.render.rich_table import print_table

        print_table(report, depth)
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
        sys.stdout.write(text)
    else:
        try:
            write_atomically(output, text)
        except OSError as exc:
            fail(InputError(f"--output {output}: cannot write: {exc.strerror}"))


def _check_output(output: str, model: str) -> None:
    """Never write over the model file, nor into a folder that does not exist."""
    exists = model != "-" and os.path.exists(output) and os.path.exists(model)
    if exists and os.path.samefile(output, model):
        raise InputError(f"--output {output} is the model file itself; refusing to overwrite it")
    if os.path.isdir(output):
        raise InputError(f"--output {output} is a directory")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise InputError(f"--output {output}: folder {folder} does not exist")


def write_atomically(path: str, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``: a failed run
    never truncates or replaces an existing file."""
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".rfcalc-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
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
    sys.stdout.write(render_json(results) if fmt is CheckFormat.json else render_text(results))
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
    sys.stdout.write(render_json(result) if fmt is CheckFormat.json else render_text(result))


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
    app(prog_name="rfcalc")
