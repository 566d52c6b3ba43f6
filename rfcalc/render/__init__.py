"""Renderers: Report → text, one table of them.

Every format is a module with ``render(report, view) -> str``, named in :data:`FORMATS` and
imported only when used, so that ``describe --format json`` never loads the table's code. The
command line looks a format up here and calls it; adding a format is one line in the table
and one module. A renderer's text is safe on a terminal as it is (names holding control
characters are shown escaped, as ``rfcalc.errors.printable`` does), with ANSI styling only
when ``view.colour`` asks for it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from rfcalc.errors import InputError, did_you_mean

if TYPE_CHECKING:
    from rfcalc.engine import Report


class View(NamedTuple):
    """What every renderer is told besides the report; each uses what applies to it."""

    depth: int | None = None  # fold blocks nested this deep (the tree: show this many levels)
    width: int | None = None  # fit the table to a terminal this wide; None: never narrowed
    colour: bool = False  # ANSI styling (a terminal without NO_COLOR)
    columns: tuple[str, ...] = ()  # --columns, as given: names, or +names added to the defaults


PLAIN = View()
"""Every leaf, the default columns, no width, no colour: what a pipe gets."""

Renderer = Callable[["Report", View], str]

FORMATS: dict[str, str] = {
    "table": "rfcalc.render.text",
    "tree": "rfcalc.render.tree",
    "json": "rfcalc.render.json_out",
    "markdown": "rfcalc.render.markdown",
    "csv": "rfcalc.render.csv_out",
    "html": "rfcalc.render.html_report",
}
"""Format name → the module whose ``render`` writes it."""

EXTENSIONS = {
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
}
"""An ``--output`` file's extension → its format, when ``--format`` is not given."""

INERT = frozenset({"json"})
"""Formats whose text is inert on a terminal as rendered (the JSON writer escapes every
character that is not, as ``\\u`` escapes that JSON reads back): the command line writes it
without scanning it again (``rfcalc.errors.printable``)."""

KEEP_FIELDS = frozenset({"html"})
"""Formats whose renderer reads every unit's field: the command line analyses the model for
them with ``keep_fields`` (rfcalc.engine.analyze), so that the page does not analyse it again."""


def renderer(name: str) -> Renderer:
    """The renderer of a format in :data:`FORMATS`."""
    render: Renderer = importlib.import_module(FORMATS[name]).render
    return render


Sink = Callable[[str], object]


def stream(name: str) -> Callable[[Report, View, Sink], None]:
    """The renderer of a format as a writer to ``sink``: the module's own ``stream`` when it
    can give its text in pieces (JSON: a large model's text is never held whole), else its
    ``render``'s text in one piece."""
    module = importlib.import_module(FORMATS[name])
    pieces: Callable[[Report, View, Sink], None] | None = getattr(module, "stream", None)
    if pieces is not None:
        return pieces
    render: Renderer = module.render

    def whole(report: Report, view: View, sink: Sink) -> None:
        sink(render(report, view))

    return whole


def choose(name: str | None, output: str | None, depth: int | None) -> str:
    """The format: ``--format`` when given; else the ``--output`` file's extension decides;
    else the tree when ``--depth`` is given (torchinfo's view of the blocks), else the table."""
    if name is not None:
        if name not in FORMATS:
            raise InputError(
                f"--format: unknown format '{name}'",
                hint=did_you_mean(name, FORMATS) or f"the formats: {', '.join(FORMATS)}",
            )
        return name
    if output is not None:
        extension = os.path.splitext(output)[1].lower()
        if extension in EXTENSIONS:
            return EXTENSIONS[extension]
    return "table" if depth is None else "tree"
