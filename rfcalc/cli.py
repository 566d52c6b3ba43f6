"""The command line: option parsing, and the only place that turns errors into exit codes.

Commands import what they need when they run, so that ``--format json`` never pays for rich.
"""

# no `from __future__ import annotations`: typer reads these signatures at every start, and
# string annotations would cost it an eval each (about 12 ms for the commands' ~100)
import gc
import os
import sys
from collections.abc import Iterator, MutableMapping
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
import typer.core
import typer.main
from typer.models import CommandInfo

from rfcalc import __version__
from rfcalc.errors import InputError, RfcalcError, printable
from rfcalc.render import FORMATS

if TYPE_CHECKING:
    from typer._click import Command

# The commands are registered here, not on `app`, whose group builds each one when it is first
# looked up: typer builds a command by reading its signature's annotations and making its
# options (about 0.4 ms each), and a run needs only the command it runs (--help, completion and
# "did you mean" look up, and so build, all of them).
commands = typer.Typer()


class _Built(MutableMapping[str, "Command"]):
    """The group's commands by name, in the order they are registered, each built from its
    function by typer when first looked up."""

    def __init__(self, source: typer.Typer) -> None:
        self.entries: dict[str, CommandInfo | Command] = {}
        for info in source.registered_commands:
            assert info.name, "each command is registered with its name"
            self.entries[info.name] = info

    def __getitem__(self, name: str) -> "Command":
        entry = self.entries[name]
        if isinstance(entry, CommandInfo):
            entry = self.entries[name] = typer.main.get_command_from_info(
                entry,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
        return entry

    def __setitem__(self, name: str, command: "Command") -> None:
        self.entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self.entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


class _Group(typer.core.TyperGroup):
    """rfcalc's group: typer's, with :data:`commands` built as they are looked up (with
    ``app``'s settings)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Built(commands)


app = typer.Typer(
    name="rfcalc",
    cls=_Group,
    help="Shapes, parameters, MACs and receptive fields of neural networks described in YAML.",
    # typer's own --install-completion / --show-completion: measured free (typer imports its
    # completion module either way), so offered
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXIT_INVALID = 2
MAX_BATCH = 2**31  # as any size (rfcalc.layers.base.MAX_DIM): memory figures stay finite floats


class Dtype(StrEnum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    int8 = "int8"


def emit(text: str, inert: bool = False) -> None:
    """Every document rfcalc prints goes out here, inert: a name or path holding terminal
    escapes is shown escaped (the errors do the same in their own rendering). ``inert``: the
    text is so already (the JSON writer's, rfcalc.render.INERT), and is not scanned again."""
    sys.stdout.write(_shown(text, inert))


def _shown(text: str, inert: bool) -> str:
    """A document as it goes out, to standard output or a file: escaped, unless ``inert``."""
    return text if inert else printable(text)


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


def parse_ignores(values: list[str] | None) -> frozenset[str]:
    """--ignore CODE (repeatable, or comma-separated): known warning codes only."""
    from rfcalc.lint import check_code

    codes = (c.strip() for v in values or [] for c in v.split(","))
    return frozenset(check_code(c, "--ignore", None) for c in codes if c)


SetsOption = Annotated[
    list[str] | None, typer.Option("--set", metavar="NAME=VALUE", help="Override a variable.")
]
InputOption = Annotated[
    str | None,
    typer.Option("--input", metavar="C,H,W", help="Override the input shape, e.g. 3,224,224."),
]
IgnoreOption = Annotated[
    list[str] | None,
    typer.Option("--ignore", metavar="CODE", help="Leave out warnings with this code (repeatable)"),
]


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


ScaleOption = Annotated[
    str | None,
    typer.Option(
        "--scale",
        metavar="S",
        help="An Ultralytics model config's scale (n, s, m, l, x); default: from the file's name.",
    ),
]


@commands.command("describe")
def describe(
    model: Annotated[
        str | None, typer.Argument(metavar="MODEL", help="Model file, or - for standard input.")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            autocompletion=lambda: list(FORMATS),
            help=f"{', '.join(FORMATS)}. Default: from --output's extension (.json, .md, .csv),"
            " else the tree with --depth, else the table.",
        ),
    ] = None,
    sets: SetsOption = None,
    input_shape: InputOption = None,
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
            help="Show N levels of blocks: the tree down to level N, or the table with the"
            " blocks at level N folded into one row each (1: the model's own layers).",
        ),
    ] = None,
    ignore: IgnoreOption = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            metavar="NAMES",
            help="The table's columns, comma-separated, or +NAME to add to the default ones:"
            " type, from, input, output, params, params%, trainable, macs, macs%, output_bytes,"
            " kernel, stride, padding, dilation, rf, rf_stride, rf_padding, rf_axes.",
        ),
    ] = None,
    wide: Annotated[
        bool, typer.Option("--wide", help="Never narrow the table to fit the terminal.")
    ] = False,
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
    example: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Describe a bundled example instead of MODEL, e.g. resnet50 ('rfcalc examples'"
            " lists them).",
        ),
    ] = None,
    count: Annotated[
        str,
        typer.Option(
            "--count",
            metavar="TOOL",
            autocompletion=lambda: list(_count_choices()),
            help="Count MACs as torchvision (default), fvcore, thop, ultralytics, ptflops or"
            " torchinfo does; all: a footer line for each (docs/counting.md).",
        ),
    ] = "torchvision",
    scale: ScaleOption = None,
) -> None:
    """Print every layer's shape, params, MACs and receptive field, and the totals."""
    from rfcalc.pipeline import describe_file as run
    from rfcalc.render import INERT, KEEP_FIELDS, View, choose, renderer, stream

    try:
        model = _model_or_example(model, example)
        name = choose(fmt, output, depth)
        chosen: tuple[str, ...] = ()
        if columns is not None:
            from rfcalc.render.rows import parse_columns

            chosen = parse_columns(columns)
        if count not in _count_choices():
            from rfcalc.errors import did_you_mean

            hint = did_you_mean(count, _count_choices()) or "one of " + ", ".join(_count_choices())
            raise InputError(f"--count {count}: unknown convention", None, hint)
        if output is not None:
            _check_output(output, model)
        report = run(
            model,
            parse_sets(sets),
            parse_shape(input_shape, "--input"),
            batch,
            dtype.value,
            parse_ignores(ignore),
            count,
            scale,
            keep_fields=name in KEEP_FIELDS,
        )
    except RfcalcError as error:
        fail(error)
    view = View(depth=depth, columns=chosen)
    if output is None and sys.stdout.isatty():
        # a terminal: the table fitted to its width, coloured unless NO_COLOR
        import shutil

        width = None if wide else max(shutil.get_terminal_size().columns, 40)
        colour = not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        view = View(depth, width, colour, chosen)
    if view.colour:
        # inert already (see rfcalc.render); emit would escape the styles
        sys.stdout.write(renderer(name)(report, view))
    elif output is None:  # in pieces: a large model's text is never held whole
        inert = name in INERT
        stream(name)(report, view, lambda piece: emit(piece, inert))
    else:
        try:
            text = renderer(name)(report, view)
            write_atomically(output, _shown(text, name in INERT))
        except OSError as exc:
            fail(InputError(f"--output {output}: cannot write: {exc.strerror}"))
        except RfcalcError as error:
            fail(error)


def _count_choices() -> tuple[str, ...]:
    from rfcalc.counting import CHOICES

    return CHOICES


def _model_or_example(model: str | None, example: str | None) -> str:
    """MODEL, or the file of ``--example NAME``: exactly one of them."""
    if example is None:
        if model is None:  # a usage error, as for any missing argument
            raise typer.BadParameter(
                "missing: give a model file, - for standard input, or --example NAME",
                param_hint="'MODEL'",
            )
        return model
    if model is not None:
        raise InputError(f"--example {example}: give MODEL or --example, not both (got '{model}')")
    from rfcalc.bundled import example_path

    return example_path(example)


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


@commands.command("check")
def check(
    models: Annotated[
        list[str], typer.Argument(metavar="MODEL...", help="Model files (globs work), - for stdin.")
    ],
    max_params: Annotated[
        str | None,
        typer.Option(metavar="N", help="Most parameters allowed: 25557032, 30M, 2e7 (K, M, G)."),
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
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail on any warning (see docs/lint.md).")
    ] = False,
    causal: Annotated[
        bool, typer.Option("--causal", help="Require that no unit reads ahead of its position.")
    ] = False,
    ignore: IgnoreOption = None,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f")] = CheckFormat.text,
    sets: SetsOption = None,
    exit_zero: Annotated[
        bool, typer.Option("--exit-zero", help="Exit 0 even when a check fails.")
    ] = False,
    scale: ScaleOption = None,
) -> None:
    """Check models against limits from their 'checks:' section and these options.

    A limit set in the file and by an option must both hold. Exit 0 when every check passes
    (or a file has none), 1 when one fails, 2 when a file is invalid."""
    from rfcalc import checks
    from rfcalc.pipeline import analyze_graph, load_file
    from rfcalc.render.check_report import FileResult, render_json, render_text

    try:
        overrides = parse_sets(sets)
        flags: list[checks.Gate] = []
        for name, value in (("max_params", max_params), ("max_macs", max_macs), ("min_rf", min_rf)):
            if value is not None:
                option = f"--{name.replace('_', '-')}"
                flags.append(checks.Gate(name, checks.parse_count(value, option, None), option))
        if output_shape is not None:
            shape = checks.parse_shape(output_shape, "--output-shape", None)
            flags.append(checks.Gate("output_shape", shape, "--output-shape"))
        if rf_covers_input:
            flags.append(checks.Gate("rf_covers_input", True, "--rf-covers-input"))
        if strict:
            flags.append(checks.Gate("strict", True, "--strict"))
        if causal:
            flags.append(checks.Gate("causal", True, "--causal"))
        ignored = parse_ignores(ignore)
    except RfcalcError as error:
        fail(error)
    results: list[FileResult] = []
    for path in _expand(models):
        try:
            graph = load_file(path, overrides, scale=scale)
            report = analyze_graph(graph, ignore=ignored)
            # the file's limits and the command line's: all must hold (a flag never loosens)
            gates = [*checks.from_file(graph.checks, graph.variables), *flags]
            outcomes = tuple(checks.run(report, gates))
        except RfcalcError as error:
            sys.stderr.write(error.render() + "\n")
            results.append(FileResult(path, "error", error=error))
            continue
        results.append(FileResult.of(path, outcomes))
    as_json = fmt is CheckFormat.json  # the JSON writer's text is inert already
    emit(render_json(results) if as_json else render_text(results), inert=as_json)
    if any(r.status == "error" for r in results):
        raise typer.Exit(EXIT_INVALID)
    if any(r.status == "fail" for r in results) and not exit_zero:
        raise typer.Exit(1)


@commands.command("diff")
def diff(
    old: Annotated[str, typer.Argument(metavar="OLD", help="The model before.")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="The model after.")],
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f")] = CheckFormat.text,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="NAME=VALUE", help="Override a variable in both."),
    ] = None,
    exit_code: Annotated[
        bool,
        typer.Option("--exit-code", help="Exit 1 when anything changed, 0 when nothing did."),
    ] = False,
    scale: ScaleOption = None,
) -> None:
    """Show what changed between two model files: totals, output, receptive field, layers.

    Exit 0, or with --exit-code 1 when anything changed; 2 when a file is invalid."""
    from rfcalc.diff import compare
    from rfcalc.pipeline import describe_file as run
    from rfcalc.render.diff_out import render_json, render_text

    try:
        overrides = parse_sets(sets)
        result = compare(run(old, overrides, scale=scale), run(new, overrides, scale=scale))
    except RfcalcError as error:
        fail(error)
    as_json = fmt is CheckFormat.json  # the JSON writer's text is inert already
    emit(render_json(result) if as_json else render_text(result), inert=as_json)
    if exit_code and not result.identical:
        raise typer.Exit(1)


class MapKind(StrEnum):
    coverage = "coverage"
    erf = "erf"
    holes = "holes"


class RfFormat(StrEnum):
    text = "text"
    json = "json"


def parse_unit(text: str | None) -> tuple[int, ...] | None:
    """``--unit 3,4``: one index per spatial axis."""
    if text is None:
        return None
    import re

    parts = text.split(",")
    if not all(re.fullmatch(r"\s*[0-9]{1,9}\s*", p) for p in parts):
        raise InputError(f"--unit takes one index per spatial axis, such as 3,4; got '{text}'")
    return tuple(int(p) for p in parts)


@commands.command("rf")
def rf(
    model: Annotated[
        str, typer.Argument(metavar="MODEL", help="Model file, or - for standard input.")
    ],
    layer: Annotated[
        str | None,
        typer.Argument(metavar="[LAYER]", help="Layer (or block) name; default: the last spatial."),
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option(metavar="I,J", help="The unit: one index per spatial axis (default: centre)."),
    ] = None,
    kind: Annotated[MapKind, typer.Option("--map", help="Which map to show.")] = MapKind.erf,
    fmt: Annotated[RfFormat, typer.Option("--format", "-f", help="Output format.")] = (
        RfFormat.text
    ),
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the map as FILE.svg or .png."),
    ] = None,
    sets: SetsOption = None,
    input_shape: InputOption = None,
) -> None:
    """Show which input positions a unit sees: its field, and a map of coverage, ERF or holes."""
    from rfcalc import maps
    from rfcalc.api import load
    from rfcalc.render import rf_out

    try:
        suffix = os.path.splitext(output)[1].lower() if output is not None else ""
        if output is not None:
            if suffix not in (".svg", ".png"):
                raise InputError(
                    f"--output {output}: the image format comes from the name: .svg or .png"
                )
            _check_output(output, model)
        wanted = parse_unit(unit)
        graph = load(model, parse_sets(sets), parse_shape(input_shape, "--input"))
        prepared = maps.prepare(graph)
        index = maps.find_layer(prepared, layer)
        chosen = maps.centre(prepared, index) if wanted is None else wanted
        chosen = maps.check_unit(prepared, index, chosen)
        field = maps.unit_field(prepared, index, chosen)
        result: rf_out.Result
        if kind is MapKind.coverage:
            result = maps.coverage(prepared, index)
        elif kind is MapKind.erf:
            result = maps.erf(prepared, index, chosen)
        else:
            result = maps.holes(prepared, index, chosen)
        shown = rf_out.Shown(prepared, field, kind.value, result)
        if output is not None:
            _write_image(output, suffix, shown)
    except RfcalcError as error:
        fail(error)
    if fmt is RfFormat.json:
        emit(rf_out.to_json(shown))
        return
    import shutil

    tty = sys.stdout.isatty()
    size = shutil.get_terminal_size()
    colour = tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    height = max(size.lines - 12, 8) if tty else None
    # the text escapes the model's own names; its colour codes must reach the terminal
    sys.stdout.write(rf_out.text(shown, max(size.columns - 1, 20), height, colour))


def _write_image(output: str, suffix: str, shown: object) -> None:
    from rfcalc.render import image, rf_out

    assert isinstance(shown, rf_out.Shown)
    picture = rf_out.picture(shown)
    if suffix == ".svg":
        title = f"{shown.kind} of {shown.field.layer} unit {shown.field.unit}"
        try:
            write_atomically(output, image.svg(picture, title))
        except OSError as exc:
            raise InputError(f"--output {output}: cannot write: {exc.strerror}") from None
        return
    data = image.png(picture)
    try:
        with open(output, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise InputError(f"--output {output}: cannot write: {exc.strerror}") from None


@commands.command("convert")
def convert(
    model: Annotated[
        str | None,
        typer.Argument(
            metavar="[MODEL]",
            help="An ONNX file (.onnx) or an Ultralytics model config to write as rfcalc YAML.",
        ),
    ] = None,
    torch_spec: Annotated[
        str | None,
        typer.Option(
            "--torch",
            metavar="SPEC",
            help="A PyTorch model: MODULE:ATTR or FILE.py:ATTR, ATTR() called without arguments.",
        ),
    ] = None,
    input_shape: Annotated[
        str | None,
        typer.Option(
            "--input", metavar="C,H,W", help="With --torch: the input shape (default 3,224,224)."
        ),
    ] = None,
    scale: ScaleOption = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write the file here (default: stdout)."
        ),
    ] = None,
) -> None:
    """Write a model from ONNX (MODEL.onnx), an Ultralytics config (yolov8n.yaml) or PyTorch
    (--torch SPEC; needs torch) as a readable rfcalc file (docs/importers.md,
    docs/ultralytics.md, docs/importers_torch.md)."""
    try:
        if (torch_spec is None) == (model is None):
            raise InputError(
                "convert takes an ONNX file or --torch SPEC (a PyTorch model), one of them",
                None,
                "e.g. rfcalc convert model.onnx -o model.yaml, or rfcalc convert --torch"
                " torchvision.models:resnet50 -o resnet50.yaml",
            )
        if model is not None and input_shape is not None:
            raise InputError(
                "--input: an ONNX file declares its own input shape", None, "drop --input"
            )
        if output is not None:
            _check_output(output, model or "")
        if model is not None and model.lower().endswith(".onnx"):
            from rfcalc.onnx_import import convert as convert_onnx

            text = convert_onnx(model)
        elif model is not None:
            from rfcalc.ultralytics import convert as convert_config

            text = convert_config(model, scale)
        else:
            assert torch_spec is not None
            shape = parse_shape(input_shape or "3,224,224", "--input")
            assert shape is not None
            from rfcalc.torch_import import convert as convert_torch

            text = convert_torch(torch_spec, shape)
        if output is not None:
            write_atomically(output, text)
    except RfcalcError as error:
        fail(error)
    if output is None:
        emit(text)


@commands.command("schema")
def schema(
    model: Annotated[
        str | None,
        typer.Argument(
            metavar="[MODEL]",
            help="Also know this model's blocks (own and included) and their arguments.",
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of the model file (for editors and validators)."""
    import json

    from rfcalc.loader import load_path
    from rfcalc.schema import generate

    try:
        result = generate(load_path(model).blocks if model is not None else None)
    except RfcalcError as error:
        fail(error)
    sys.stdout.write(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


@commands.command("examples")
def examples() -> None:
    """List the bundled example models ('rfcalc describe --example NAME' describes one)."""
    from rfcalc.bundled import example_names, examples_dir

    names = example_names()
    width = max(map(len, names), default=0)
    folder = examples_dir()
    emit("".join(f"{n:<{width}}  {folder / n}.yaml\n" for n in names))


@commands.command("layers")
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
    unusual (an exit message, a stream that cannot be flushed) takes the interpreter's exit.

    The cyclic garbage collector is off for the whole command, as the pipeline has it off
    while it builds and analyses: what a command makes lives until it ends, and the
    collector's passes over the heap (every module the command imports) would free nothing."""
    gc.disable()
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
