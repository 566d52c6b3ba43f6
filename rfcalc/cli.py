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
    model: Annotated[str, typer.Argument(help="Model file, or - for standard input.")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="Override a variable: NAME=VALUE.")
    ] = None,
    input_shape: Annotated[
        str | None, typer.Option("--input", help="Override the input shape, e.g. 3,224,224.")
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Batch size for memory figures.")] = 1,
    dtype: Annotated[Dtype, typer.Option(help="Element type for memory figures.")] = Dtype.float32,
    depth: Annotated[
        int | None,
        typer.Option(min=1, help="Fold block instances at nesting level N (1: top-level blocks)."),
    ] = None,
) -> None:
    """Print every layer's shape, params, MACs and receptive field, and the totals."""
    from rfcalc.api import describe as run

    try:
        report = run(
            model, parse_sets(sets), parse_shape(input_shape, "--input"), batch, dtype.value
        )
    except RfcalcError as error:
        fail(error)
    if fmt is Format.json:
        from rfcalc.render.json_out import render as render_json

        sys.stdout.write(render_json(report))
    elif fmt is Format.markdown:
        from rfcalc.render.markdown import render_markdown

        sys.stdout.write(render_markdown(report, depth))
    elif fmt is Format.csv:
        from rfcalc.render.markdown import render_csv

        sys.stdout.write(render_csv(report))
    elif sys.stdout.isatty() and os.environ.get("TERM") != "dumb":
        from rfcalc.render.rich_table import print_table

        print_table(report, depth)
    else:
        from rfcalc.render.text import render as render_text

        sys.stdout.write(render_text(report, depth))


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
