"""A map as a picture: colours, shrinking to fit, and the terminal heatmap.

A :class:`Picture` is a 2-D map ready to draw (a 1-D map is one row; a 3-D map one slice). The
terminal shows two map rows per character with Unicode half blocks (``▀``: its foreground
colour is the upper position, its background the lower), in 256 colours; without colour
(``NO_COLOR``, or not a terminal) one character per position from a ramp of ten. A map wider or
taller than the room is shrunk by a whole factor, each cell showing the largest value of the
block it stands for (for holes: any hole in it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

RGB = tuple[int, int, int]

# viridis (matplotlib, CC0), sampled at 0, 1/8, …, 1: dark and blue for few, yellow for many
VIRIDIS: tuple[RGB, ...] = (
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
)
ZERO: RGB = (224, 224, 224)  # no path, outside every field: light grey (images)
ZERO_TERMINAL = 236  # the same in the terminal: a dark grey that reads as "nothing"
REACHED: RGB = (59, 81, 139)
HOLE: RGB = (220, 50, 47)
RAMP = " .:-=+*#%@"  # plain text: 0 is blank, the largest value '@'
HOLE_CHAR, REACHED_CHAR = ".", "#"


@dataclass(frozen=True, slots=True)
class Picture:
    rows: tuple[tuple[int, ...], ...]  # values, one tuple per map row
    row0: int  # the input position of rows[0] on the vertical axis (0 for a 1-D map)
    col0: int  # the input position of column 0
    holes: bool  # values are 1 for a hole, 0 for a reached position
    factor: int = 1  # each value stands for factor × factor positions (after shrink)

    @property
    def top(self) -> int:
        return max((max(r) for r in self.rows if r), default=0)


def shrink(picture: Picture, width: int, height: int | None) -> Picture:
    """The picture at most ``width`` values wide and ``height`` tall (None: any height),
    shrunk by one whole factor on both axes, each value the largest of its block."""
    rows = picture.rows
    h, w = len(rows), len(rows[0]) if rows else 0
    factor = max(1, -(-w // max(width, 1)))
    if height is not None:
        factor = max(factor, -(-h // max(height, 1)))
    if factor == 1:
        return picture
    out = []
    for y in range(0, h, factor):
        block = rows[y : y + factor]
        out.append(tuple(max(max(r[x : x + factor]) for r in block) for x in range(0, w, factor)))
    return Picture(tuple(out), picture.row0, picture.col0, picture.holes, picture.factor * factor)


def colour(picture: Picture, value: int) -> RGB:
    """The colour of a value: grey for 0, viridis from the smallest count to the largest."""
    if picture.holes:
        return HOLE if value else REACHED
    if value <= 0:
        return ZERO
    return VIRIDIS[level(value, picture.top, len(VIRIDIS))]


def level(value: int, top: int, levels: int) -> int:
    """``0 … levels − 1`` for ``1 … top``, in equal steps (``top`` on the last)."""
    if top <= 1:
        return levels - 1
    return (value - 1) * (levels - 1) // (top - 1)


def _xterm(rgb: RGB) -> int:
    """The nearest colour of the 6×6×6 cube of the 256-colour palette."""
    r, g, b = (_nearest_step(c) for c in rgb)
    return 16 + 36 * r + 6 * g + b


def _nearest_step(c: int) -> int:
    steps = (0, 95, 135, 175, 215, 255)
    return min(range(6), key=lambda i: abs(steps[i] - c))


def _cell(picture: Picture, value: int | None) -> int:
    if value is None:
        return -1  # beyond the last row: the terminal's own background
    if not picture.holes and value <= 0:
        return ZERO_TERMINAL
    return _xterm(colour(picture, value))


def terminal(picture: Picture, colour_on: bool) -> list[str]:
    """The map's lines: half blocks in colour, or one ramp character per value."""
    if not colour_on:
        return [_plain_line(picture, row) for row in picture.rows]
    lines = []
    rows = picture.rows
    for y in range(0, len(rows), 2):
        upper = rows[y]
        lower: Sequence[int | None] = rows[y + 1] if y + 1 < len(rows) else [None] * len(upper)
        parts = []
        for a, b in zip(upper, lower, strict=True):
            fg, bg = _cell(picture, a), _cell(picture, b)
            if bg < 0:
                parts.append(f"\x1b[38;5;{fg}m\x1b[49m▀")
            else:
                parts.append(f"\x1b[38;5;{fg};48;5;{bg}m▀")
        lines.append("".join(parts) + "\x1b[0m")
    return lines


def _plain_line(picture: Picture, row: Sequence[int]) -> str:
    if picture.holes:
        return "".join(HOLE_CHAR if v else REACHED_CHAR for v in row).rstrip()
    top = picture.top
    line = "".join(RAMP[0] if v <= 0 else RAMP[1 + level(v, top, len(RAMP) - 1)] for v in row)
    return line.rstrip()


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def legend(picture: Picture, colour_on: bool, width: int | None = None) -> list[str]:
    """What the colours (or characters) mean: one line, or its entries on as many lines of at
    most ``width`` visible columns as they need (None: one line)."""
    entries = _legend(picture, colour_on)
    if picture.factor != 1:
        entries.append(f"each cell: {_block(picture)}")
    lines = [entries[0]]
    for entry in entries[1:]:
        scale = entry.startswith("each cell")
        joined = lines[-1] + ("; " if scale else "  ") + entry
        if width is None or len(_ANSI.sub("", joined)) <= width:
            lines[-1] = joined
        else:
            lines.append(entry)
    return lines


def _legend(picture: Picture, colour_on: bool) -> list[str]:
    """The legend's entries (joined by two spaces)."""
    if picture.holes:
        if colour_on:
            hole, hit = _xterm(HOLE), _xterm(REACHED)
            return [f"\x1b[38;5;{hit}m█\x1b[0m reached", f"\x1b[38;5;{hole}m█\x1b[0m hole"]
        return [f"{REACHED_CHAR} reached", f"{HOLE_CHAR} hole"]
    top = picture.top
    if top <= 0:
        return ["0 everywhere"]
    steps = len(VIRIDIS) if colour_on else len(RAMP) - 1
    # the smallest value drawn at each level
    firsts = _firsts(top, steps)
    if colour_on:
        swatches = "".join(f"\x1b[38;5;{_xterm(colour(picture, v))}m█\x1b[0m" for v in firsts)
        return [f"\x1b[38;5;{ZERO_TERMINAL}m█\x1b[0m 0", f"{swatches} 1 … {top:,}"]
    return ["' ' 0", *(f"'{RAMP[1 + level(v, top, steps)]}' ≥{v:,}" for v in firsts)]


def _firsts(top: int, levels: int) -> list[int]:
    """The smallest value of each level that some value in 1 … top reaches."""
    found: dict[int, int] = {}
    if top <= levels:
        for v in range(1, top + 1):
            found.setdefault(level(v, top, levels), v)
    else:
        for lev in range(levels):
            # smallest v with (v − 1)(levels − 1) // (top − 1) ≥ lev
            v = 1 + -(-lev * (top - 1) // (levels - 1))
            found.setdefault(level(v, top, levels), v)
    return [found[k] for k in sorted(found)]


def _block(picture: Picture) -> str:
    f = picture.factor
    kind = "any hole" if picture.holes else "the largest value"
    return f"{kind} of {f}×{f} positions" if len(picture.rows) > 1 else f"{kind} of {f} positions"
