"""JSON Schema (draft 2020-12, using only keywords draft-07 has) of the model file, generated
from the layer registry; ``rfcalc schema MODEL`` adds that model's blocks (docs/format.md).

Editors (yaml-language-server) and validators (check-jsonschema) should report the one real
mistake, so the schema never offers the layer types as alternatives (anyOf/oneOf: every
alternative's errors, and slowly). A layer's ``type`` selects its arguments with if/then,
and a value that may be an expression is "if expression, else the plain schema", so that
``out_channels: five`` is reported as "'five' is not of type 'integer'", once.

Type names match case-insensitively with '_' ignored (``Conv2d``, ``conv_2d``). A JSON
Schema cannot normalise a string, so each type is one regular expression that accepts exactly
those spellings (ECMA-262 has no flags: ``^_*[cC]_*[oO]_*…[dD]_*$``); an unknown type is
checked against the ``enum`` of the canonical names, which is also what editors complete.

Which blocks a file defines cannot be read by a schema (JSON Schema cannot look at another
part of the document). Without MODEL, a file with ``blocks`` or ``include`` accepts any other
``type`` as a block instance with any arguments; with MODEL the blocks are known, each with its
arguments, and an unknown type is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence

from rfcalc.checks import _NUMBER as COUNT_TEXT
from rfcalc.checks import CHECKS, parse_bool, parse_count
from rfcalc.layers import REGISTRY
from rfcalc.layers.argtypes import (
    EXPRESSION,
    ArgType,
    Schema,
    integer,
    nullable,
    or_expression,
)
from rfcalc.layers.base import Arg, LayerKind, T
from rfcalc.lint import CODES
from rfcalc.loader import LAYER_KEYS, LIBRARY_KEYS, TOP_KEYS, BlockSpec
from rfcalc.yamltree import YScalar

SCHEMA_ID = "https://github.com/rfcalc/rfcalc/schema/v1/model.json"

COMMON_KEYS = tuple(k for k in LAYER_KEYS if k != "type")  # name, from, repeat, trainable, if
_TEMPLATE_OR_NO_DOT = r"^(?:[^.]+|.*\$\{.*)$"  # a '.' separates levels, except in ${…}


def ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def _arg_schema(arg: Arg, values: Schema) -> Schema:
    """An argument's schema: a reference to its value schema (one per type, minimum and
    nullability, in ``values``; choices are written in place) and its description."""
    description = arg.doc or arg.type.doc
    if arg.type is T.IGNORED:
        return {"description": description}
    plain = arg.type.schema(arg.minimum, arg.choices)
    if arg.nullable:
        plain = nullable(plain)
    default = "required" if arg.required else f"default {json.dumps(arg.default, default=str)}"
    description = f"{description} ({default})"
    if arg.choices:
        return {**or_expression(plain), "description": description}
    name = "value_" + _TYPE_NAMES[arg.type]
    name += "" if arg.minimum is None else f"_min{arg.minimum}"
    name += "_or_null" if arg.nullable else ""
    values[name] = or_expression(plain)
    return {"$ref": f"#/$defs/{name}", "description": description}


_TYPE_NAMES = {t: name.lower() for name, t in vars(T).items() if isinstance(t, ArgType)}


def _letters(name: str) -> str:
    return "".join(
        (f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c)) + "_*" for c in name
    )


def type_pattern(names: Iterable[str]) -> str:
    """The spellings rfcalc accepts for these canonical names (any case, '_' anywhere):
    conv2d → ^_*[cC]_*[oO]_*[nN]_*[vV]_*2_*[dD]_*$."""
    return "^_*(?:" + "|".join(_letters(n) for n in names) + ")$"


def _closed(description: str, properties: Schema, required: Sequence[str]) -> Schema:
    """A layer of one kind, or a block instance: these arguments and no other. The required
    ones are asked for only when every key is known, so a misspelt required argument is one
    error (the unknown key), as rfcalc itself reports it."""
    keys = ["type", *COMMON_KEYS, *properties]
    schema: Schema = {
        "description": description,
        "properties": dict.fromkeys(("type", *COMMON_KEYS), True) | properties,
        "additionalProperties": False,
    }
    if required:
        schema["if"] = {"propertyNames": {"enum": keys}}
        schema["then"] = {"required": list(required)}
    return schema


def _kind_schema(kind: LayerKind, values: Schema) -> Schema:
    props = {arg.name: _arg_schema(arg, values) for arg in kind.args}
    return _closed(kind.doc, props, [a.name for a in kind.args if a.required])


def _block_schema(block: BlockSpec) -> Schema:
    props: Schema = {}
    required = []
    for param in block.params:
        default = param.value.value if isinstance(param.value, YScalar) else None
        if isinstance(param.value, YScalar) and default is None:
            required.append(param.name)
            props[param.name] = {"description": "required"}
        else:
            shown = json.dumps(default) if isinstance(param.value, YScalar) else "a list"
            props[param.name] = {"description": f"default {shown}"}
    return _closed(f"block '{block.name}'", props, required)


def _layer_defs(blocks: Mapping[str, BlockSpec] | None) -> Schema:
    """$defs for the layers: each kind, each block, the dispatch on ``type``, and the lists.
    Generic (blocks None): two variants, 'strict' (no blocks: an unknown type is an error)
    and 'open' (an unknown type is a block instance); with blocks (by each name a ``type``
    may give, ``torchvision.Bottleneck`` too), 'strict' only."""
    kinds = {id(kind): kind for kind in REGISTRY.values()}.values()
    block_names = list(blocks or ())
    defs: Schema = {}
    dispatch = []
    for kind in kinds:
        pattern = type_pattern(k for k, v in REGISTRY.items() if v is kind)
        defs[kind.name] = _kind_schema(kind, defs)
        # no block has a layer type's name (rfcalc refuses it), so the pattern decides
        dispatch.append(
            {"if": {"properties": {"type": {"pattern": pattern}}}, "then": ref(kind.name)}
        )
    numbers: dict[int, int] = {}  # a block known by two names has one definition
    for name, block in (blocks or {}).items():
        if id(block) not in numbers:
            numbers[id(block)] = len(numbers)
            defs[f"block{numbers[id(block)]}"] = _block_schema(block)
        i = numbers[id(block)]
        dispatch.append({"if": {"properties": {"type": {"const": name}}}, "then": ref(f"block{i}")})
    known: list[Schema] = [ref("expression"), {"pattern": type_pattern(sorted(REGISTRY))}]
    if block_names:
        known.append({"enum": block_names})
    defs["dispatch"] = {
        "if": {"required": ["type"], "properties": {"type": {"type": "string"}}},
        "then": {"allOf": dispatch},
    }
    defs["type_strict"] = {
        "type": "string",
        "description": "a layer type (`rfcalc layers`) or a block, or an expression",
        "if": {"anyOf": known},
        "else": {"enum": [*sorted(REGISTRY), *block_names]},
    }
    defs["type_open"] = {"type": "string", "description": "a layer type or a block"}
    for mode in ("strict",) if blocks is not None else ("strict", "open"):
        defs[f"layers_{mode}"] = {"type": "array", "minItems": 1, "items": ref(f"layer_{mode}")}
        defs[f"layer_{mode}"] = {
            "type": ["string", "object"],
            "if": {"type": "string"},
            "then": ref(f"type_{mode}"),
            "else": {
                "allOf": [ref("common")],
                "if": {"required": ["layers"]},
                "then": {
                    "description": "a submodule written in place: its unnamed layers are 0, 1, …",
                    "properties": {
                        **dict.fromkeys(COMMON_KEYS, True),
                        "layers": ref(f"layers_{mode}"),
                    },
                    "additionalProperties": False,
                },
                "else": {
                    "required": ["type"],
                    "properties": {"type": ref(f"type_{mode}")},
                    "allOf": [ref("dispatch")],
                },
            },
        }
    return defs


BOOL = or_expression({"type": "boolean"})
NAME: Schema = {"type": ["string", "integer"], "minimum": 0, "minLength": 1}
COMMON: Schema = {
    "name": {
        **NAME,
        "pattern": _TEMPLATE_OR_NO_DOT,
        "description": "unique within its scope; no '.'; digits only are valid",
    },
    "from": {
        **NAME,
        "type": ["string", "integer", "array"],
        "minItems": 1,
        "items": NAME,
        "description": "input layer name(s); 'input' is the model's or block's input",
    },
    "repeat": {
        **or_expression(integer(0)),
        "description": "instances in sequence; 0: the layer does not exist",
    },
    "trainable": {**BOOL, "description": "false freezes the layer's parameters"},
    "runs": {
        **BOOL,
        "description": "false: not run at inference; its parameters count, its MACs are 0",
    },
    "if": {**BOOL, "description": "false: the layer does not exist, its name means its input"},
    "lint": {
        "type": "object",
        "description": "the architecture lint on this layer (on a block: all its layers)",
        "properties": {
            "ignore": {
                "anyOf": [
                    {"enum": sorted(CODES)},
                    {"type": "array", "items": {"enum": sorted(CODES)}},
                ],
                "description": "warning codes not reported (docs/lint.md)",
            }
        },
        "additionalProperties": False,
    },
}


def _check_schema(parse: object) -> Schema:
    if parse is parse_bool:
        return {"type": "boolean"}
    if parse is parse_count:  # 25557032, '30M', '2e7', '20_000_000' (checks.parse_count)
        return {"type": ["integer", "string"], "minimum": 0, "pattern": f"^{COUNT_TEXT.pattern}$"}
    return {  # a shape: [1000] or '2048,7,7' (checks.parse_shape)
        "type": ["array", "string"],
        "minItems": 1,
        "items": {"type": "integer", "minimum": 1},
    }


VALUES: Schema = {
    "type": ["number", "string", "boolean", "array", "null"],
    "items": {"type": ["number", "string", "null"]},
}


def generate(blocks: Mapping[str, BlockSpec] | None = None) -> Schema:
    """The schema of every model file and block library, or (``blocks`` given: a model's
    own and included blocks, by name) of one model, which then knows its blocks' arguments."""
    defs: Schema = {"expression": EXPRESSION, "common": {"properties": COMMON}}
    defs |= _layer_defs(blocks)
    block_layers = "layers_strict" if blocks is not None else "layers_open"
    checks = {
        name: {**or_expression(_check_schema(check.parse)), "description": check.doc}
        for name, check in CHECKS.items()
    }
    properties: Schema = {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "input": {
            **or_expression(
                {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 4,
                    "items": or_expression(integer(1)),
                }
            ),
            "description": "channels first, no batch dim: [F], [C, L], [C, H, W], [C, D, H, W]",
        },
        "include": {
            "type": ["string", "array"],
            "items": {"type": "string"},
            "description": "block libraries: built-in names (torchvision) or YAML files",
        },
        "vars": {"type": "object", "additionalProperties": VALUES},
        "blocks": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "args": {"type": ["object", "null"], "additionalProperties": VALUES},
                    "sequential": {"type": "boolean"},
                    "layers": ref(block_layers),
                },
                "required": ["layers"],
                "additionalProperties": False,
            },
        },
        "layers": {"description": "the layers, in order"},
        "checks": {"type": "object", "properties": checks, "additionalProperties": False},
    }
    assert set(properties) == set(TOP_KEYS)  # the loader's keys, and no other
    assert set(COMMON) == set(COMMON_KEYS)
    if blocks is None:  # without blocks every type must be a layer type: a misspelt one is caught
        layers: Schema = {
            "if": {"anyOf": [{"required": ["blocks"]}, {"required": ["include"]}]},
            "then": {"properties": {"layers": ref("layers_open")}},
            "else": {"properties": {"layers": ref("layers_strict")}},
        }
    else:
        layers = {"properties": {"layers": ref("layers_strict")}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "rfcalc model file",
        "description": "A neural network's layers, for rfcalc (generated from its layer registry).",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "allOf": [
            {  # a block library (include: [file.yaml]): blocks or includes, nothing a model has
                "if": {
                    "propertyNames": {"enum": list(LIBRARY_KEYS)},
                    "anyOf": [{"required": ["blocks"]}, {"required": ["include"]}],
                },
                "else": {  # asked for when every key is known, as rfcalc reports first
                    "if": {"propertyNames": {"enum": list(TOP_KEYS)}},
                    "then": {"required": ["input", "layers"]},
                },
            },
            layers,
        ],
        "$defs": defs,
    }
