"""The layer reference, generated from the registry so that it cannot drift.

One description of every layer type (:func:`entries`), rendered as text for ``rfcalc layers``
(:func:`overview`, :func:`detail`) and as Markdown for ``docs/layers.md`` (:func:`markdown`;
tests/test_docs.py fails when that file differs, and ``--update-golden`` rewrites it).
"""

from __future__ import annotations

from dataclasses import dataclass

from rfcalc.errors import InputError, did_you_mean
from rfcalc.layers import REGISTRY, canonical, lookup, type_names
from rfcalc.layers.base import REQUIRED, Arg, LayerKind, T
from rfcalc.loader import LAYER_KEYS, Blocks, builtin_blocks

# the keys every layer takes besides its own arguments
COMMON_KEYS = tuple(k for k in LAYER_KEYS if k != "type")
INFERRED = ("in_channels", "in_features", "num_features", "num_channels")
NAMES_NOTE = "Names match case-insensitively with '_' ignored."


@dataclass(frozen=True, slots=True)
class ArgEntry:
    name: str
    default: str  # "required", "inferred", "ignored", "null" or the value as YAML writes it
    type: str
    doc: str


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    family: str
    doc: str
    aliases: tuple[str, ...]
    inputs: str | None  # for merges: how many inputs, else None (one, the previous layer)
    args: tuple[ArgEntry, ...]


def _default(arg: Arg) -> str:
    if arg.default is REQUIRED:
        return "required"
    if arg.type is T.IGNORED:
        return "ignored"
    value = arg.default
    if value is None:
        return "inferred" if arg.name in INFERRED else "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _entry(kind: LayerKind) -> Entry:
    return Entry(
        name=kind.name,
        family=kind.family,
        doc=kind.doc,
        aliases=kind.aliases,
        inputs=f"{kind.min_inputs} or more, named in 'from'" if kind.max_inputs > 1 else None,
        args=tuple(
            ArgEntry(
                a.name,
                _default(a),
                a.type.value if a.type is not T.CHOICE else " | ".join(a.choices),
                a.doc if a.type is not T.IGNORED else "",
            )
            for a in kind.args
        ),
    )


def entries() -> list[Entry]:
    """Every layer type once (aliases folded into their type), in the registry's order."""
    seen: dict[str, LayerKind] = {}
    for kind in REGISTRY.values():
        seen.setdefault(kind.name, kind)
    return [_entry(k) for k in seen.values()]


def _families() -> dict[str, list[Entry]]:
    by_family: dict[str, list[Entry]] = {}
    for e in entries():
        by_family.setdefault(e.family, []).append(e)
    return by_family


def _find(name: str) -> Entry:
    kind = lookup(name)
    if kind is None:
        blocks = builtin_blocks()
        raise InputError(
            f"unknown layer type '{name}'",
            None,
            _block_hint(name, blocks)
            or did_you_mean(canonical(name), type_names())
            or did_you_mean(name, blocks.names()),
        )
    return _entry(kind)


def _block_hint(name: str, blocks: Blocks) -> str | None:
    """For a block of a built-in library (``Bottleneck``, ``torchvision.Bottleneck``): where
    it is and its arguments."""
    keys = blocks.ambiguous(name) or ((name,) if name in blocks else ())
    found = []
    for key in keys:
        block = blocks[key]
        params = ", ".join(p.name for p in block.params) or "none"
        found.append(
            f"{block.qualified} is a block of the built-in library {block.library} "
            f"(include: [{block.library}]), its arguments: {params}"
        )
    return "; ".join(found) or None


# ---------------------------------------------------------------- text: rfcalc layers


def overview() -> str:
    lines = []
    for family, kinds in _families().items():
        lines.append(f"{family}:")
        for k in kinds:
            alias = f" (alias {', '.join(k.aliases)})" if k.aliases else ""
            lines.append(f"  {k.name:<24}{k.doc}{alias}")
    lines.append("")
    lines.append(f"{NAMES_NOTE} 'rfcalc layers TYPE' lists arguments.")
    return "\n".join(lines) + "\n"


def detail(name: str) -> str:
    e = _find(name)
    lines = [f"{e.name} — {e.doc}", f"family: {e.family}"]
    if e.aliases:
        lines.append(f"aliases: {', '.join(e.aliases)}")
    if e.inputs:
        lines.append(f"inputs: {e.inputs}")
    lines.append("")
    if not e.args:
        lines.append("no arguments")
    else:
        width = max(len(a.name) for a in e.args)
        for a in e.args:
            doc = f"  {a.doc}" if a.doc else ""
            lines.append(f"  {a.name:<{width}}  {a.default:<9} {a.type}{doc}")
    lines.append("")
    lines.append(f"Every layer also takes: {', '.join(COMMON_KEYS)}.")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- markdown: docs/layers.md


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{_cell(text)}`" if text else ""


def _default_cell(text: str) -> str:
    return f"*{text}*" if text in ("required", "inferred", "ignored") else _code(text)


def _family_heading(family: str) -> str:
    # "… layers", so that a family's anchor never equals a type's (the dropout family)
    return f"{family[0].upper()}{family[1:]} layers"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading of letters, digits, spaces and hyphens."""
    return heading.lower().replace(" ", "-")


def markdown() -> str:
    """docs/layers.md: every layer type with its arguments and defaults."""
    families = _families()
    out = [
        "# Layer reference",
        "",
        "<!-- Generated from the layer registry by rfcalc/render/layers_doc.py: do not edit.",
        "     `python -m pytest tests/test_docs.py --update-golden` rewrites it. -->",
        "",
        "Every layer type rfcalc knows, with its arguments and their defaults; `rfcalc layers`",
        "prints the same list and `rfcalc layers TYPE` one type. Type names are PyTorch's class",
        "names, matched case-insensitively with `_` ignored (`Conv2d`, `conv2d` and `conv_2d` are",
        "the same type); arguments are PyTorch's keyword arguments with PyTorch's defaults.",
        "",
        f"Every layer also takes {', '.join(f'`{k}`' for k in COMMON_KEYS)}:",
        "see [the model file](format.md#layers). In the tables, *required* must be given,",
        "*inferred* is computed from the input and checked when given, *ignored* is accepted",
        "so that PyTorch's text transcribes but changes no number, and `null` is PyTorch's",
        "`None`.",
        "",
    ]
    for family, kinds in families.items():
        heading = _family_heading(family)
        links = ", ".join(f"[`{k.name}`](#{k.name})" for k in kinds)
        out.append(f"- [{heading}](#{_slug(heading)}): {links}")
    for family, kinds in families.items():
        out += ["", f"## {_family_heading(family)}"]
        for k in kinds:
            out += ["", f"### {k.name}", "", k.doc]
            facts = []
            if k.aliases:
                facts.append(f"Alias: {', '.join(f'`{a}`' for a in k.aliases)}.")
            if k.inputs:
                facts.append(f"Inputs: {k.inputs}.")
            if facts:
                out += ["", " ".join(facts)]
            out.append("")
            if not k.args:
                out.append("No arguments.")
                continue
            out += ["| argument | default | type | meaning |", "|---|---|---|---|"]
            out += [
                f"| `{a.name}` | {_default_cell(a.default)} | {_code(a.type)} | {_cell(a.doc)} |"
                for a in k.args
            ]
    return "\n".join(out) + "\n"
