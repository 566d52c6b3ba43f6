"""A map as an image file: SVG (text written here) or PNG (through Pillow, an optional extra:
``pip install 'rfcalc[plot]'``, imported only when a PNG is written).

Both draw each map position as a ``cell × cell`` square (:func:`cell_size`), the first map row
at the top, and a legend strip below: the colour of the smallest and the largest count (or of a
reached position and a hole), with their values.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from rfcalc.errors import InputError
from rfcalc.render.heatmap import HOLE, REACHED, VIRIDIS, ZERO, Picture, colour

TARGET = 480  # pixels: the map's longer side is drawn about this wide
LEGEND = 28  # pixels: the strip below the map


def cell_size(picture: Picture) -> int:
    """Pixels per map position: a whole number, the longer side near TARGET pixels."""
    h = len(picture.rows)
    w = len(picture.rows[0]) if picture.rows else 1
    return max(1, TARGET // max(w, h, 1))


def _swatches(picture: Picture) -> list[tuple[tuple[int, int, int], str]]:
    if picture.holes:
        return [(REACHED, "reached"), (HOLE, "hole")]
    top = picture.top
    if top <= 0:
        return [(ZERO, "0")]
    return [(ZERO, "0"), (VIRIDIS[0], "1"), (VIRIDIS[-1], f"{top:,}")]


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def svg(picture: Picture, title: str) -> str:
    """The map as an SVG document; runs of one colour in a row are one rectangle."""
    cell = cell_size(picture)
    rows = picture.rows
    h, w = len(rows), len(rows[0]) if rows else 0
    width, height = max(w * cell, 240), h * cell + LEGEND
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" shape-rendering="crispEdges">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for y, row in enumerate(rows):
        x = 0
        while x < w:
            fill = colour(picture, row[x])
            end = x + 1
            while end < w and colour(picture, row[end]) == fill:
                end += 1
            out.append(
                f'<rect x="{x * cell}" y="{y * cell}" width="{(end - x) * cell}" '
                f'height="{cell}" fill="{_hex(fill)}"/>'
            )
            x = end
    x = 4
    base = h * cell + 6
    for rgb, label in _swatches(picture):
        out.append(f'<rect x="{x}" y="{base}" width="16" height="16" fill="{_hex(rgb)}"/>')
        out.append(
            f'<text x="{x + 20}" y="{base + 13}" font-family="sans-serif" font-size="12">'
            f"{escape(label)}</text>"
        )
        x += 28 + 8 * len(label)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def png(picture: Picture) -> bytes:
    """The map as PNG bytes (Pillow)."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise InputError(
            "writing a PNG needs Pillow, which is not installed",
            None,
            "pip install 'rfcalc[plot]' (or pip install pillow), or write an .svg",
        ) from None
    import io

    cell = cell_size(picture)
    rows = picture.rows
    h, w = len(rows), len(rows[0]) if rows else 0
    small = Image.new("RGB", (max(w, 1), max(h, 1)), (255, 255, 255))
    small.putdata([colour(picture, v) for row in rows for v in row])
    width, height = max(w * cell, 240), h * cell + LEGEND
    image = Image.new("RGB", (width, height), (255, 255, 255))
    image.paste(small.resize((w * cell, h * cell), Image.Resampling.NEAREST), (0, 0))
    draw = ImageDraw.Draw(image)
    x = 4
    base = h * cell + 6
    for rgb, label in _swatches(picture):
        draw.rectangle((x, base, x + 15, base + 15), fill=rgb)
        draw.text((x + 20, base + 2), label, fill=(0, 0, 0))
        x += 28 + 8 * len(label)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
