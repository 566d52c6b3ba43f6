"""``rfcalc layers``: the registry as text, generated so that it cannot drift."""

from __future__ import annotations

from rfcalc.errors import InputError, did_you_mean
from rfcalc.layers import REGISTRY, canonical, lookup, type_names
from rfcalc.layers.base import REQUIRED, Arg, LayerKind, T


def _default(arg: Arg) -> str:
    if arg.default is REQUIRED:
        return "required"
    if arg.type is T.IGNORED:
        return "ignored"
    value = arg.default
    if value is None:
        return (
            "null"
            if arg.name not in ("in_channels", "in_features", "num_features", "num_channels")
            else "inferred"
        )
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _kinds() -> list[LayerKind]:
    seen: dict[str, LayerKind] = {}
    for kind in REGISTRY.values():
        seen.setdefault(kind.name, kind)
    return list(seen.values())


def overview() -> str:
    by_family: dict[str, list[LayerKind]] = {}
    for kind in _kinds():
        by_family.setdefault(kind.family, []).append(kind)
    lines = []
    for family, kinds in by_family.items():
        lines.append(f"{family}:")
        for k in kinds:
            alias = f" (alias {', '.join(k.aliases)})" if k.aliases else ""
            lines.append(f"  {k.name:<24}{k.doc}{alias}")
    lines.append("")
    lines.append(
        "Names match case-insensitively with '_' ignored. 'rfcalc layers TYPE' lists arguments."
    )
    return "\n".join(lines) + "\n"


def detail(name: str) -> str:
    kind = lookup(name)
    if kind is None:
        raise InputError(
            f"unknown layer type '{name}'", None, did_you_mean(canonical(name), type_names())
        )
    lines = [f"{kind.name} — {kind.doc}", f"family: {kind.family}"]
    if kind.aliases:
        lines.append(f"aliases: {', '.join(kind.aliases)}")
    if kind.max_inputs > 1:
        lines.append(f"inputs: {kind.min_inputs} or more, named in 'from'")
    lines.append("")
    if not kind.args:
        lines.append("no arguments")
    else:
        width = max(len(a.name) for a in kind.args)
        for a in kind.args:
            kind_text = a.type.value if a.type is not T.CHOICE else " | ".join(a.choices)
            doc = f"  {a.doc}" if a.doc and a.type is not T.IGNORED else ""
            lines.append(f"  {a.name:<{width}}  {_default(a):<9} {kind_text}{doc}")
    lines.append("")
    lines.append("Every layer also takes: name, from, repeat, trainable.")
    return "\n".join(lines) + "\n"
