"""JSON Schema (draft 2020-12) of the model file, generated from the layer registry.

Editors with yaml-language-server complete and validate type names and arguments from it.
Type names match case-insensitively with '_' ignored, so each type's ``type`` accepts a
pattern as well as an ``enum`` of its spellings (the enum is what editors offer).
"""

from __future__ import annotations

from rfcalc.checks import CHECKS
from rfcalc.layers import REGISTRY
from rfcalc.layers.argtypes import EXPR, Schema, int_schema
from rfcalc.layers.base import Arg, LayerKind, T
from rfcalc.lint import CODES

SCHEMA_ID = "https://github.com/rfcalc/rfcalc/schema/v1/model.json"


def _arg_schema(arg: Arg) -> Schema:
    t = arg.type
    schema = t.schema(arg.minimum, arg.choices)
    if arg.nullable and t is not T.IGNORED:
        schema = {"anyOf": [schema, {"type": "null"}]}
    description = arg.doc or t.doc
    if not arg.required and t is not T.IGNORED:
        description += f" (default {arg.default!r})"
    return {**schema, "description": description}


def _pattern(name: str) -> str:
    """Case-insensitive, '_' anywhere: conv2d → ^_*[cC]_*[oO]…[dD]_*$ (ECMA regex, no flags)."""
    parts = [f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in name]
    return "^_*" + "".join(p + "_*" for p in parts) + "$"


def _spellings(kind: LayerKind, key: str) -> list[str]:
    return sorted({key, kind.torch_name if key == kind.name else key})


BOOL: Schema = {"anyOf": [{"type": "boolean"}, EXPR]}
NAME: Schema = {
    "anyOf": [{"type": "string", "pattern": r"^[^.]+$"}, {"type": "integer", "minimum": 0}]
}
# a name in 'from' may be a full name ('layer1.0.conv1', SPEC §3), dots and all
REF: Schema = {"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer", "minimum": 0}]}
COMMON: Schema = {
    "name": {**NAME, "description": "unique within its scope; digits only are valid"},
    "from": {
        "anyOf": [REF, {"type": "array", "minItems": 1, "items": REF}],
        "description": "input layer name(s); 'input' is the model's or block's input",
    },
    "repeat": {
        **int_schema(0),
        "description": "instances in sequence; 0: the layer does not exist",
    },
    "trainable": BOOL,
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


def _layer_schema(key: str, kind: LayerKind) -> Schema:
    props: Schema = {
        "type": {
            "anyOf": [
                {"enum": _spellings(kind, key)},
                {"type": "string", "pattern": _pattern(key)},
            ],
            "description": kind.doc,
        },
        **COMMON,
    }
    for arg in kind.args:
        props[arg.name] = _arg_schema(arg)
    required = ["type", *(a.name for a in kind.args if a.required)]
    return {
        "type": "object",
        "description": kind.doc,
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def generate() -> Schema:
    known = [{"$ref": f"#/$defs/layer_{key}"} for key in REGISTRY]
    any_known_type = {"anyOf": [{"type": "string", "pattern": _pattern(k)} for k in REGISTRY]}
    checks = {
        name: (
            {"type": "boolean"}
            if name == "rf_covers_input"
            else {
                "anyOf": [
                    {"type": "array", "items": {"type": "integer", "minimum": 1}},
                    {"type": "string"},
                ]
            }
            if name == "output_shape"
            else {
                "anyOf": [
                    {"type": "integer", "minimum": 0},
                    {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*[KMG]?\s*$"},
                    EXPR,
                ]
            }
        )
        | {"description": check.doc}
        for name, check in CHECKS.items()
    }
    defs: Schema = {f"layer_{key}": _layer_schema(key, kind) for key, kind in REGISTRY.items()}
    defs["known_layer"] = {"anyOf": [any_known_type, *known]}
    defs["block_instance"] = {
        "type": "object",
        "description": "an instance of a block defined under 'blocks'",
        "properties": {"type": {"type": "string", "not": any_known_type}, **COMMON},
        "required": ["type"],
    }
    defs["nested"] = {
        "type": "object",
        "description": "a submodule written in place: its unnamed layers are named 0, 1, …",
        "properties": {**COMMON, "layers": {"$ref": "#/$defs/layers_with_blocks"}},
        "required": ["layers"],
        "additionalProperties": False,
    }
    defs["type_expression"] = {
        "type": "object",
        "description": "a layer whose type is a block argument ($activation)",
        "properties": {"type": EXPR},
        "required": ["type"],
    }
    nested_or_expression = [{"$ref": "#/$defs/nested"}, {"$ref": "#/$defs/type_expression"}]
    defs["layers"] = {
        "type": "array",
        "minItems": 1,
        "items": {"anyOf": [{"$ref": "#/$defs/known_layer"}, *nested_or_expression]},
    }
    defs["layers_with_blocks"] = {
        "type": "array",
        "minItems": 1,
        "items": {
            "anyOf": [
                {"$ref": "#/$defs/known_layer"},
                {"type": "string"},
                {"$ref": "#/$defs/block_instance"},
                *nested_or_expression,
            ]
        },
    }
    values = {
        "anyOf": [
            {"type": ["number", "string", "boolean"]},
            {"type": "array", "items": {"type": ["number", "null"]}},
        ]
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "rfcalc model file",
        "description": "A neural network's layers, for rfcalc (generated from its layer registry).",
        "type": "object",
        "required": ["input", "layers"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "input": {
                "anyOf": [
                    {"type": "array", "minItems": 1, "maxItems": 4, "items": int_schema(1)},
                    EXPR,
                ],
                "description": "channels first, no batch dim: [F], [C, L], [C, H, W], [C, D, H, W]",
            },
            "include": {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                "description": "block libraries: built-in names (torchvision) or YAML files",
            },
            "vars": {"type": "object", "additionalProperties": values},
            "blocks": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "args": {
                            "type": ["object", "null"],
                            "additionalProperties": {"anyOf": [values, {"type": "null"}]},
                        },
                        "sequential": {"type": "boolean"},
                        "layers": {"$ref": "#/$defs/layers_with_blocks"},
                    },
                    "required": ["layers"],
                    "additionalProperties": False,
                },
            },
            "layers": {"type": "array"},
            "checks": {"type": "object", "properties": checks, "additionalProperties": False},
        },
        # Without blocks every type must be a layer type, so a misspelt one is caught.
        "if": {"anyOf": [{"required": ["blocks"]}, {"required": ["include"]}]},
        "then": {"properties": {"layers": {"$ref": "#/$defs/layers_with_blocks"}}},
        "else": {"properties": {"layers": {"$ref": "#/$defs/layers"}}},
        "$defs": defs,
    }
