"""The Python API: describe, load, analyse and check models from a script or a notebook.

``describe`` is ``load`` then ``analyze``. A model is given as a path, as YAML text or as a
dict (see :func:`load` for how a ``str`` is told apart). Mistakes in a model raise
:class:`rfcalc.RfcalcError` (or one of its subclasses) whose message is the positioned line
the command line prints: ``model.yaml:4:7: error: …``.

The command line reads its MODEL argument as a path, always: it calls :func:`load_file`,
:func:`describe_file` and :func:`analyze_graph` (from :mod:`rfcalc.pipeline`, imported here
too), which take no YAML text and leave errors as they are for the CLI to render.
"""

from __future__ import annotations

import functools
import operator
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ParamSpec, SupportsIndex, TypeVar

from rfcalc import build, engine
from rfcalc.build import sizes_from_text
from rfcalc.errors import InputError, RfcalcError, SourcePos, did_you_mean
from rfcalc.layers.argtypes import MAX_DIM
from rfcalc.loader import ModelSpec, load_text
from rfcalc.pipeline import analyze_graph, describe_file, load_file, no_cyclic_gc, read_model

if TYPE_CHECKING:
    import pandas

    from rfcalc import checks  # imported by check(): describe does not need it

__all__ = [
    "CheckResult",
    "Graph",
    "Report",
    "analyze",
    "analyze_graph",
    "check",
    "describe",
    "describe_file",
    "is_yaml_text",
    "load",
    "load_file",
]

ModelSource = str | os.PathLike[str] | Mapping[str, object]
"""What :func:`load`, :func:`describe` and :func:`check` accept as a model."""

Vars = Mapping[str, object]
Shape = Sequence[int] | str

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _positioned(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """A public function whose :class:`RfcalcError` reads, in a traceback, as the CLI's
    positioned message (``str(error)`` is ``error.render()``), raised from the caller's line
    rather than from deep inside rfcalc: the error is the user's, not rfcalc's."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return func(*args, **kwargs)
        except RfcalcError as error:
            error.args = (error.render(),)
            raise error.with_traceback(None) from None

    return wrapper


# ---------------------------------------------------------------- models given from Python


class Graph(build.Graph):
    """A loaded model: read, validated and built, not yet analysed (see :func:`load`).

    Its fields: ``path`` (the file, ``<string>`` or ``<dict>``), ``name``, ``description``,
    ``input_shape`` (channels first, no batch), ``nodes`` (one per leaf layer, in order: its
    full ``name``, its layer ``kind``, validated ``args`` and ``inputs``), ``variables``
    (after ``vars`` overrides) and ``checks`` (the file's ``checks:`` section, as parsed
    YAML). :func:`analyze` turns it into a :class:`Report`.
    """

    __slots__ = ()

    @classmethod
    def of(cls, graph: build.Graph) -> Graph:
        """The builder's graph with this class's docstring and short repr (the same values)."""
        return cls._make(graph)

    def __repr__(self) -> str:
        from rfcalc.render.rows import shape

        count = len(self.nodes)
        return (
            f"<Graph {self.name or self.path}: input {shape(self.input_shape)}, "
            f"{count:,} layer{'s' if count != 1 else ''}>"
        )


def is_yaml_text(text: str) -> bool:
    """Whether :func:`load` reads a ``str`` as YAML text rather than as a path: it is text
    when it holds a line break or ``': '`` (a key and its value), or starts with ``{``.

    Any other ``str`` is a path. To read a path that holds ``': '``, pass a
    :class:`pathlib.Path`; a ``pathlib.Path`` is always a path."""
    return "\n" in text or ": " in text or text.lstrip().startswith("{")


_NOT_TEXT_HINT = (
    "a str is read as YAML text only when it holds a line break or ': '; a dict works too"
)


def _plain(value: object, where: str) -> object:
    """A dict model's value as the YAML dumper takes it: lists for tuples, str keys."""
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"model dict: key {key!r} in {where} is not a str")
            out[key] = _plain(item, f"{where}.{key}" if where else key)
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, SupportsIndex):  # numpy integers
        return operator.index(value)
    raise TypeError(
        f"model dict: {where} is a {type(value).__name__}; "
        "expected a str, number, bool, None, list or dict"
    )


def _spec(model: ModelSource) -> ModelSpec:
    if isinstance(model, Mapping):
        import yaml

        text = yaml.safe_dump(
            _plain(model, ""), sort_keys=False, allow_unicode=True, default_flow_style=None
        )
        return load_text(text, "<dict>")
    if isinstance(model, os.PathLike):
        return read_model(os.fsdecode(os.fspath(model)))
    if not isinstance(model, str):
        raise TypeError(f"a model is a path, YAML text or a dict, not a {type(model).__name__}")
    if is_yaml_text(model):
        return load_text(model, "<string>")
    if model != "-" and model and not os.path.lexists(model):
        from rfcalc.ultralytics import scaled_path

        if scaled_path(model) is None:  # yolov8n.yaml: yolov8.yaml at scale n
            raise InputError("no such file", SourcePos(model), _NOT_TEXT_HINT)
    return read_model(model)


def _override_text(name: str, value: object) -> str:
    """A variable's value as ``--set`` takes it: a str as it is (``"3"`` is the number 3,
    ``"${width * 2}"`` an expression); a number, bool, None or list as its YAML flow text."""
    if isinstance(value, str):
        return value
    import json  # here: the table never needs it

    try:
        return json.dumps(value, default=operator.index, allow_nan=False)
    except (TypeError, ValueError):
        raise TypeError(
            f"vars[{name!r}]: {value!r} is not a number, str, bool, None or list of numbers"
        ) from None


def _input_sizes(input_shape: Shape | None) -> tuple[int, ...] | None:
    if input_shape is None:
        return None
    if isinstance(input_shape, str):
        return sizes_from_text(input_shape, "input_shape")
    return tuple(input_shape)


@_positioned
def load(model: ModelSource, vars: Vars | None = None, input_shape: Shape | None = None) -> Graph:
    """Read and validate a model into its :class:`Graph`, ready for :func:`analyze`.

    ``model`` is one of:

    - a path: a ``pathlib.Path`` (or any ``os.PathLike``), or a ``str`` that is not YAML
      text; ``"-"`` reads standard input, as on the command line;
    - YAML text: a ``str`` holding a line break or ``': '``, or starting with ``{``
      (:func:`is_yaml_text`); errors and includes are placed as ``<string>``, includes
      relative to the working directory;
    - a dict with the file's keys (``input``, ``layers``, ``vars``, ``blocks``, …), read as
      the YAML ``yaml.safe_dump(model, sort_keys=False, allow_unicode=True,
      default_flow_style=None)`` writes; errors are placed in that text as ``<dict>:line:col``.

    ``vars`` overrides the model's variables, as ``--set NAME=VALUE`` does (a ``str`` is read
    as on the command line; numbers, bools and lists as they are). ``input_shape`` replaces
    the model's input, channels first, without a batch dimension: ``(3, 160, 160)`` or
    ``"3,160,160"``.

    The graph holds the model's name, input shape, variables, ``checks:`` section and one
    node per leaf layer with its validated arguments; loading it once and analysing it at
    several batch sizes or element types is cheaper than describing it again.

    Raises :class:`rfcalc.RfcalcError` for any mistake in the model, with the positioned
    message the command line prints; ``TypeError`` for a ``model`` or a value of ``vars``
    of a type rfcalc cannot take.
    """
    overrides = {name: _override_text(name, value) for name, value in (vars or {}).items()}
    spec = _spec(model)
    with no_cyclic_gc():
        return Graph.of(build.build(spec, overrides, _input_sizes(input_shape)))


def _check_options(batch: int, dtype: str, depth: int | None) -> None:
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_DIM:
        raise InputError(f"batch must be an integer from 1 to {MAX_DIM:,}, got {batch!r}")
    if dtype not in engine.DTYPES:
        raise InputError(
            f"unknown dtype {dtype!r}",
            hint=did_you_mean(str(dtype), engine.DTYPES) or f"one of {', '.join(engine.DTYPES)}",
        )
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
        raise InputError(f"depth must be a positive integer or None, got {depth!r}")


@_positioned
def analyze(
    graph: build.Graph, batch: int = 1, dtype: str = "float32", depth: int | None = None
) -> Report:
    """Analyse a loaded :class:`Graph`: every layer's shape, parameters, MACs, memory and
    receptive field, and the totals, as a :class:`Report`.

    ``batch`` and ``dtype`` (``"float32"``, ``"float16"``, ``"bfloat16"``, ``"int8"``) set the
    memory figures only. ``depth`` folds the report's tables as ``--depth`` does (1: the
    model's own layers and blocks, one row each); it changes no number.
    """
    _check_options(batch, dtype, depth)
    return Report.of(analyze_graph(graph, batch, dtype), depth)


@_positioned
def describe(
    model: ModelSource,
    vars: Vars | None = None,
    input_shape: Shape | None = None,
    batch: int = 1,
    dtype: str = "float32",
    depth: int | None = None,
) -> Report:
    """Describe a model: :func:`load` then :func:`analyze`, as ``rfcalc describe`` does.

    >>> report = rfcalc.describe("examples/textbook.yaml")
    >>> report
    <Report textbook-convnet: 1×28×28 → 64×22×22, 55,744 params, 28.65 M MACs, final RF 7>
    >>> report.totals.params, report.final.rf.size
    (55744, (7, 7))

    ``model``, ``vars`` and ``input_shape`` as for :func:`load`; ``batch``, ``dtype`` and
    ``depth`` as for :func:`analyze`. In a notebook the report shows as a table.
    """
    _check_options(batch, dtype, depth)
    return analyze(load(model, vars, input_shape), batch, dtype, depth)


# ---------------------------------------------------------------- the report


class Report(engine.Report):
    """What rfcalc computed for a model: every layer's row and the totals.

    The fields are the engine's (all values, frozen): ``name``, ``source``,
    ``input_shape``, ``batch``, ``dtype``, ``layers`` (one :class:`rfcalc.engine.LayerRow`
    per leaf layer: ``name``, ``type``, ``inputs``, ``output_shape``, ``params``,
    ``trainable_params``, ``buffers``, ``macs``, ``output_bytes``, ``rf``), ``output_shape``,
    ``totals`` (``params``, ``macs``, ``flops``, memory in bytes, …) and ``warnings``;
    ``final`` is the last layer's row, so ``report.final.rf.size`` is the final receptive
    field. ``depth`` is the folding of the tables (``None``: every leaf layer).

    ``repr`` is one line; ``str`` the text table of ``rfcalc describe``; a notebook shows
    the HTML table. ``to_dict()`` is the JSON document, ``to_pandas()`` a data frame.
    """

    depth: int | None = None  # set once, by :meth:`of` (a tuple's subclass may carry it)

    @classmethod
    def of(cls, report: engine.Report, depth: int | None = None) -> Report:
        """The engine's report with the methods of this class (the same values)."""
        new = cls._make(report)
        new.depth = depth
        return new

    def __repr__(self) -> str:
        from rfcalc.render.rows import per_axis, shape, si, thousands

        t = self.totals
        text = (
            f"<Report {self.name or self.source}: {shape(self.input_shape)} → "
            f"{shape(self.output_shape)}, {thousands(t.params)} params, {si(t.macs)} MACs"
        )
        rf = self.final.rf
        if rf.size:
            text += f", final RF {per_axis(tuple(map(str, rf.size)))}"
            text += " (global)" if rf.is_global else ""
        return text + ">"

    def __str__(self) -> str:
        from rfcalc.render import View
        from rfcalc.render.text import render

        return render(self, View(depth=self.depth))

    def to_dict(self) -> dict[str, object]:
        """The JSON document of ``rfcalc describe --format json`` (docs/json.md), as Python
        values: exact integers, receptive-field strides as numbers."""
        from rfcalc.render.json_out import report_dict

        return report_dict(self)

    def to_json(self) -> str:
        """The text ``rfcalc describe --format json`` prints."""
        from rfcalc.render.json_out import render

        return render(self)

    def to_pandas(self) -> pandas.DataFrame:
        """One row per leaf layer, indexed by layer name, with the JSON document's layer keys
        (``type``, ``output_shape``, ``params``, ``macs``, …; ``rf`` as ``rf_size``,
        ``rf_stride``, …). Needs pandas, which rfcalc does not install."""
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "Report.to_pandas() needs pandas, which rfcalc does not install: pip install pandas"
            ) from None
        from rfcalc.render.json_out import layer_dict

        records = []
        for row in self.layers:
            record = layer_dict(row)
            rf = record.pop("rf")
            assert isinstance(rf, dict)
            record.update({f"rf_{key}": value for key, value in rf.items()})
            records.append({k: tuple(v) if isinstance(v, list) else v for k, v in record.items()})
        return pandas.DataFrame.from_records(records, index="name")

    def _repr_markdown_(self) -> str:
        from rfcalc.render import View
        from rfcalc.render.markdown import render

        return render(self, View(depth=self.depth))

    def _repr_html_(self) -> str:
        from rfcalc.render import View
        from rfcalc.render.html_table import render

        return render(self, View(depth=self.depth))


# ---------------------------------------------------------------- checks


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of :func:`check`: the report, the limits that were checked (the model
    file's ``checks:`` and those given, by check name), every check's outcome (the measured
    value beside the limit) and the violations among them."""

    report: Report
    file_limits: Mapping[str, checks.Limit]
    given_limits: Mapping[str, checks.Limit]
    outcomes: tuple[checks.Outcome, ...]

    @property
    def violations(self) -> tuple[checks.Outcome, ...]:
        """The outcomes that failed."""
        return tuple(o for o in self.outcomes if not o.passed)

    @property
    def passed(self) -> bool:
        """True when no limit is violated."""
        return not self.violations

    @property
    def count(self) -> int:
        """How many limits were checked (a limit set in the file and given twice over, with the
        same value, counts once)."""
        return len(self.outcomes)

    def __repr__(self) -> str:
        name = self.report.name or self.report.source
        if self.count == 0:
            return f"<CheckResult {name}: no checks>"
        plural = "s" if self.count != 1 else ""
        if self.passed:
            return f"<CheckResult {name}: PASS ({self.count} check{plural})>"
        lines = [f"<CheckResult {name}: FAIL ({len(self.violations)} of {self.count})"]
        lines += [f"  {v.message}" for v in self.violations]
        return "\n".join(lines) + ">"


@_positioned
def check(
    model: ModelSource,
    vars: Vars | None = None,
    input_shape: Shape | None = None,
    **limits: object,
) -> CheckResult:
    """Check a model against its file's ``checks:`` section and the limits given here, as
    ``rfcalc check`` does: each limit, from the file or given, must hold.

    The limits (docs/check.md) are ``max_params``, ``max_macs``, ``params`` (counts: an int
    or a str such as ``"25M"``), ``output_shape`` (a tuple or ``"1000"``), ``min_rf`` (a
    count), ``rf_covers_input``, ``strict`` (no warning) and ``causal`` (no unit reads ahead
    of its input position; docs/lint.md) (bools). ``model``, ``vars`` and ``input_shape`` as
    for :func:`load`.

    >>> rfcalc.check("examples/resnet50.yaml", max_params="20M").passed
    False
    """
    from rfcalc import checks

    graph = load(model, vars, input_shape)
    report = analyze(graph)
    given: dict[str, checks.Limit] = {}
    for name, value in limits.items():
        entry = checks.CHECKS.get(name)
        if entry is None:
            raise TypeError(
                f"check() got an unexpected limit {name!r}"
                + (f"; {hint}" if (hint := did_you_mean(name, checks.CHECKS)) else "")
            )
        given[name] = entry.parse(tuple(value) if isinstance(value, list) else value, name, None)
    gates = checks.from_file(graph.checks, graph.variables)
    file_limits = {gate.check: gate.limit for gate in gates}
    gates += [checks.Gate(name, limit, "given") for name, limit in given.items()]
    return CheckResult(report, file_limits, given, tuple(checks.run(report, gates)))
