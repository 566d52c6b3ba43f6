"""A deterministic mutation fuzzer for the ONNX importer (issues 9 and 16): small real models
(the backend CNNs of the onnx wheel, small graphs built with onnx.helper) mutated the ways a
user's file can be wrong or unusual, each run through the CLI as a user would.

The invariant: exit 0 or 2, never another code; no traceback; an error's stderr starts with
the file's path. ``tests/test_onnx_fuzz.py`` runs a fixed number of seeds;
``python -m tests.onnx_fuzz SEEDS`` runs more and prints every failure.
"""

from __future__ import annotations

import glob
import io
import os
import random
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from rfcalc.cli import app

LIGHT = sorted(
    glob.glob(os.path.join(os.path.dirname(onnx.__file__), "backend/test/data/light/*.onnx"))
)
# the smallest three (their describe is the quickest); the others add no construct they lack
_REAL = [p for p in LIGHT if Path(p).stem in ("light_bvlc_alexnet", "light_squeezenet")]


# ---------------------------------------------------------------- small models


def _weight(name: str, *shape: int) -> TensorProto:
    import numpy

    return numpy_helper.from_array(numpy.ones(shape, numpy.float32), name)


def _info(name: str, shape: list[int | str] | None) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _model(nodes: list[onnx.NodeProto], out: list[int], inits: list[TensorProto]) -> Any:
    graph = helper.make_graph(
        nodes, "g", [_info("x", [1, 3, 16, 16])], [_info("y", list(out))], inits
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _cnn() -> Any:
    """Conv → Relu → MaxPool → Flatten → Gemm."""
    nodes = [
        helper.make_node(
            "Conv",
            ["x", "w", "b"],
            ["c"],
            "/conv/Conv",
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
            strides=[1, 1],
            dilations=[1, 1],
            group=1,
        ),
        helper.make_node("Relu", ["c"], ["r"], "/relu/Relu"),
        helper.make_node(
            "MaxPool",
            ["r"],
            ["p"],
            "/pool/MaxPool",
            kernel_shape=[2, 2],
            strides=[2, 2],
            pads=[0, 0, 0, 0],
        ),
        helper.make_node("Flatten", ["p"], ["f"], "/flat/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], "/fc/Gemm", transB=1),
    ]
    inits = [_weight("w", 4, 3, 3, 3), _weight("b", 4), _weight("fw", 10, 256), _weight("fb", 10)]
    return _model(nodes, [1, 10], inits)


def _residual() -> Any:
    """Conv (grouped) → BatchNorm → Add of the input → AveragePool → Concat → Transpose."""
    nodes = [
        helper.make_node(
            "Conv", ["x", "w"], ["c"], "/conv/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=3
        ),
        helper.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"], "/bn/BN"),
        helper.make_node("Add", ["n", "x"], ["a"], "/add/Add"),
        helper.make_node(
            "AveragePool", ["a"], ["p"], "/pool/AvgPool", kernel_shape=[2, 2], strides=[2, 2]
        ),
        helper.make_node("Concat", ["p", "p"], ["k"], "/cat/Concat", axis=1),
        helper.make_node("Transpose", ["k"], ["y"], "/t/Transpose", perm=[0, 2, 3, 1]),
    ]
    inits = [_weight("w", 3, 1, 3, 3), *(_weight(n, 3) for n in ("s", "bb", "m", "v"))]
    return _model(nodes, [1, 8, 8, 6], inits)


def _shapes() -> Any:
    """Pad, Resize, Split, Slice, Reshape with constant operands, ConvTranspose, Softmax."""
    import numpy

    def const(name: str, values: list[int] | list[float], dtype: Any = numpy.int64) -> Any:
        return numpy_helper.from_array(numpy.array(values, dtype), name)

    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["pd"], "/pad/Pad", mode="reflect"),
        helper.make_node(
            "ConvTranspose",
            ["pd", "tw"],
            ["ct"],
            "/up/ConvTranspose",
            kernel_shape=[2, 2],
            strides=[2, 2],
        ),
        helper.make_node("Resize", ["ct", "", "scales"], ["rs"], "/rs/Resize", mode="nearest"),
        helper.make_node("Split", ["rs", "split"], ["s0", "s1"], "/split/Split", axis=1),
        helper.make_node("Slice", ["s0", "st", "en", "ax"], ["sl"], "/slice/Slice"),
        helper.make_node("Reshape", ["sl", "shape"], ["rh"], "/reshape/Reshape"),
        helper.make_node("Softmax", ["rh"], ["y"], "/sm/Softmax", axis=1),
    ]
    inits = [
        const("pads", [0, 0, 1, 1, 0, 0, 1, 1]),
        _weight("tw", 3, 4, 2, 2),
        const("scales", [1.0, 1.0, 2.0, 2.0], numpy.float32),
        const("split", [2, 2]),
        const("st", [1]),
        const("en", [1000]),
        const("ax", [2]),
        const("shape", [1, -1]),
    ]
    return _model(nodes, [1, 2 * 71 * 72], inits)


def _branches() -> Any:
    """An If whose branches are subgraphs, a Loop, and a call of a model-local function."""
    then = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["t"])], "then", [], [_info("t", [1, 3, 16, 16])]
    )
    other = helper.make_graph(
        [helper.make_node("Sigmoid", ["x"], ["e"])], "else", [], [_info("e", [1, 3, 16, 16])]
    )
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond"], ["cond_out"]),
            helper.make_node("Relu", ["v"], ["v_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
            _info("v", None),
        ],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), _info("v_out", None)],
    )
    function = helper.make_function(
        "my.fn",
        "Twice",
        ["a"],
        ["b"],
        [helper.make_node("Relu", ["a"], ["r"]), helper.make_node("Relu", ["r"], ["b"])],
        [helper.make_opsetid("", 17)],
    )
    import numpy

    nodes = [
        helper.make_node("If", ["flag"], ["i"], "/if/If", then_branch=then, else_branch=other),
        helper.make_node("Loop", ["n", "flag", "i"], ["l"], "/loop/Loop", body=body),
        helper.make_node("Twice", ["l"], ["y"], "/fn/Twice", domain="my.fn"),
    ]
    inits = [
        numpy_helper.from_array(numpy.array(True), "flag"),
        numpy_helper.from_array(numpy.array(2, numpy.int64), "n"),
    ]
    graph = helper.make_graph(
        nodes, "g", [_info("x", [1, 3, 16, 16])], [_info("y", [1, 3, 16, 16])], inits
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.fn", 1)],
        functions=[function],
    )


BUILT: list[Callable[[], Any]] = [_cnn, _residual, _shapes, _branches]


def bases() -> list[tuple[str, Any]]:
    """The models mutated: (name, ModelProto)."""
    out = [(f.__name__.strip("_"), f()) for f in BUILT]
    out += [(Path(p).stem, onnx.load(p, load_external_data=False)) for p in _REAL]
    return out


# ---------------------------------------------------------------- mutations

Mutation = Callable[[random.Random, Any], Any]  # a ModelProto changed in place, or bytes
MUTATIONS: dict[str, Mutation] = {}


def _mutation(func: Mutation) -> Mutation:
    MUTATIONS[func.__name__.strip("_")] = func
    return func


def _pick(rng: random.Random, items: Any) -> Any:
    return items[rng.randrange(len(items))] if len(items) else None


def _names(model: Any) -> list[str]:
    g = model.graph
    return [n for node in g.node for n in (*node.input, *node.output) if n] + [
        i.name for i in (*g.input, *g.initializer)
    ]


@_mutation
def _drop_input(rng: random.Random, model: Any) -> Any:
    if model.graph.input:
        del model.graph.input[rng.randrange(len(model.graph.input))]
    return model


@_mutation
def _extra_input(rng: random.Random, model: Any) -> Any:
    model.graph.input.append(_info(f"extra{rng.randrange(9)}", [1, 3, 16, 16]))
    return model


@_mutation
def _rename_input(rng: random.Random, model: Any) -> Any:
    if model.graph.input:
        _pick(rng, model.graph.input).name = _pick(rng, ["", "renamed", "input", "\x1b[2J", "y"])
    return model


@_mutation
def _drop_initializer(rng: random.Random, model: Any) -> Any:
    if model.graph.initializer:
        del model.graph.initializer[rng.randrange(len(model.graph.initializer))]
    return model


@_mutation
def _rename_initializer(rng: random.Random, model: Any) -> Any:
    if model.graph.initializer:
        init = _pick(rng, model.graph.initializer)
        init.name = _pick(rng, ["", "x", "renamed", init.name + "_"])
    return model


def _set_attribute(node: Any, attribute: Any) -> None:
    """The node's attribute of that name replaced by ``attribute`` (added if it has none)."""
    for i, old in enumerate(node.attribute):
        if old.name == attribute.name:
            del node.attribute[i]
            break
    node.attribute.append(attribute)


_BAD_INTS = [0, -1, -3, 1, 2, 7, 2**31, 2**62, -(2**62)]


@_mutation
def _attribute_value(rng: random.Random, model: Any) -> Any:
    nodes = [n for n in model.graph.node if n.attribute]
    node = _pick(rng, nodes)
    if node is None:
        return model
    attr = _pick(rng, node.attribute)
    if attr.type == onnx.AttributeProto.INTS:
        length = _pick(rng, [0, 1, len(attr.ints), len(attr.ints) + 1, 2 * len(attr.ints) + 1])
        new = [_pick(rng, _BAD_INTS) for _ in range(length)]
        del attr.ints[:]
        attr.ints.extend(new)
    elif attr.type == onnx.AttributeProto.INT:
        attr.i = _pick(rng, _BAD_INTS)
    elif attr.type == onnx.AttributeProto.FLOAT:
        attr.f = _pick(rng, [float("nan"), float("inf"), -1.0, 0.0, 1e30])
    elif attr.type == onnx.AttributeProto.STRING:
        attr.s = _pick(rng, [b"", b"bogus", b"\xff\xfe", b"SAME_LOWER", b"VALID", b"linear"])
    return model


@_mutation
def _attribute_type(rng: random.Random, model: Any) -> Any:
    node = _pick(rng, model.graph.node)
    if node is None:
        return model
    name = _pick(
        rng,
        [
            "kernel_shape",
            "strides",
            "pads",
            "dilations",
            "group",
            "axis",
            "perm",
            "mode",
            "alpha",
            "transB",
            "auto_pad",
            "ceil_mode",
            "keepdims",
            "axes",
        ],
    )
    value = _pick(
        rng,
        [
            3,
            2.5,
            "text",
            b"\xff",
            [1, 2],
            [1.5, 2.5],
            ["a", "b"],
            [],
            helper.make_tensor("t", TensorProto.FLOAT, [1], [1.0]),
        ],
    )
    if value == []:
        _set_attribute(node, helper.make_attribute(name, [], attr_type=onnx.AttributeProto.INTS))
    else:
        _set_attribute(node, helper.make_attribute(name, value))
    return model


@_mutation
def _drop_attribute(rng: random.Random, model: Any) -> Any:
    nodes = [n for n in model.graph.node if n.attribute]
    node = _pick(rng, nodes)
    if node is not None:
        del node.attribute[rng.randrange(len(node.attribute))]
    return model


@_mutation
def _group(rng: random.Random, model: Any) -> Any:
    convs = [n for n in model.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    node = _pick(rng, convs)
    if node is not None:
        _set_attribute(node, helper.make_attribute("group", _pick(rng, [0, -1, 2, 5, 7, 2**40])))
    return model


def _shape_of(info: Any) -> Any:
    return info.type.tensor_type.shape


@_mutation
def _input_rank(rng: random.Random, model: Any) -> Any:
    info = _pick(rng, model.graph.input)
    if info is not None:
        shape = _shape_of(info)
        del shape.dim[:]
        for _ in range(_pick(rng, [0, 1, 2, 3, 5, 6])):
            shape.dim.add().dim_value = _pick(rng, [1, 3, 16])
    return model


@_mutation
def _input_dims(rng: random.Random, model: Any) -> Any:
    info = _pick(rng, [*model.graph.input, *model.graph.output, *model.graph.value_info])
    if info is None:
        return model
    shape = _shape_of(info)
    dim = _pick(rng, shape.dim)
    choice = rng.randrange(5)
    if choice == 0:
        info.type.tensor_type.ClearField("shape")
    elif dim is None:
        return model
    elif choice == 1:
        dim.dim_param = _pick(rng, ["N", "height", "", "batch"])
    elif choice == 2:
        dim.ClearField("dim_value")
    else:
        dim.dim_value = _pick(rng, [0, -1, 2**31, 2**40, 2**62, 10**6])
    return model


@_mutation
def _dtype(rng: random.Random, model: Any) -> Any:
    info = _pick(rng, [*model.graph.input, *model.graph.output])
    init = _pick(rng, model.graph.initializer)
    code = _pick(rng, [0, 8, 9, 16, 23, 40, 999])
    if info is not None and rng.random() < 0.5:
        info.type.tensor_type.elem_type = code
    elif init is not None:
        init.data_type = code
    return model


@_mutation
def _initializer_data(rng: random.Random, model: Any) -> Any:
    init = _pick(rng, model.graph.initializer)
    if init is not None:
        choice = rng.randrange(4)
        if choice == 0:
            init.raw_data = init.raw_data[: len(init.raw_data) // 2] + b"\x01"
        elif choice == 1:
            init.dims.append(_pick(rng, [0, 2, 2**40]))
        elif choice == 2:
            del init.dims[:]
            init.dims.extend([-1, 3])
        else:
            del init.dims[:]
    return model


@_mutation
def _replace_initializer(rng: random.Random, model: Any) -> Any:
    """A consistent tensor of another shape or other values: passes onnx.checker, reaches the
    importer (weights of the wrong rank, pads, scales, split sizes, slice bounds, shapes)."""
    import numpy

    init = _pick(rng, model.graph.initializer)
    if init is None:
        return model
    shape = [_pick(rng, [0, 1, 2, 3, 4]) for _ in range(_pick(rng, [0, 1, 1, 2, 4, 5]))]
    values = [
        _pick(rng, [0, 1, -1, 2, -7, 3, 2**31, -(2**40), 1000])
        for _ in range(int(numpy.prod(shape)))
    ]
    dtype: Any = numpy.float32 if init.data_type == TensorProto.FLOAT else numpy.int64
    if init.data_type == TensorProto.BOOL:
        dtype = numpy.bool_
    array = numpy.array(values).astype(dtype).reshape(shape)
    init.CopyFrom(numpy_helper.from_array(array, init.name))
    return model


@_mutation
def _external_data(rng: random.Random, model: Any) -> Any:
    init = _pick(rng, model.graph.initializer)
    if init is not None:
        init.ClearField("raw_data")
        init.data_location = TensorProto.EXTERNAL
        entry = init.external_data.add()
        entry.key, entry.value = "location", _pick(rng, ["missing.bin", "../../etc/passwd", ""])
    return model


@_mutation
def _dangling(rng: random.Random, model: Any) -> Any:
    node = _pick(rng, model.graph.node)
    if node is not None and node.input:
        node.input[rng.randrange(len(node.input))] = _pick(rng, ["nowhere", "", "y"])
    return model


@_mutation
def _cycle(rng: random.Random, model: Any) -> Any:
    nodes = model.graph.node
    if len(nodes) > 1 and nodes[0].input and nodes[-1].output:
        nodes[0].input[0] = nodes[-1].output[0]
    elif nodes and nodes[0].input and nodes[0].output:
        nodes[0].input[0] = nodes[0].output[0]  # a node reading itself
    return model


@_mutation
def _reorder(rng: random.Random, model: Any) -> Any:
    nodes = list(model.graph.node)
    rng.shuffle(nodes)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


@_mutation
def _duplicate_output(rng: random.Random, model: Any) -> Any:
    nodes = model.graph.node
    if len(nodes) > 1 and nodes[0].output:
        _pick(rng, nodes[1:]).output[0] = nodes[0].output[0]
    if model.graph.output and rng.random() < 0.5:
        model.graph.output.append(model.graph.output[0])
    return model


@_mutation
def _no_outputs(rng: random.Random, model: Any) -> Any:
    if rng.random() < 0.5:
        del model.graph.output[:]
    else:
        node = _pick(rng, model.graph.node)
        if node is not None:
            del node.output[:]
    return model


@_mutation
def _empty_graph(rng: random.Random, model: Any) -> Any:
    del model.graph.node[:]
    if rng.random() < 0.5:
        del model.graph.initializer[:]
        del model.graph.value_info[:]
    return model


@_mutation
def _op_type(rng: random.Random, model: Any) -> Any:
    node = _pick(rng, model.graph.node)
    if node is not None:
        node.op_type = _pick(
            rng,
            [
                "",
                "Conv",
                "Relu",
                "If",
                "Loop",
                "Scan",
                "Gemm",
                "Concat",
                "MaxPool",
                "Pad",
                "Resize",
                "Split",
                "Slice",
                "Reshape",
                "Transpose",
                "Clip",
                "LeakyRelu",
                "PRelu",
                "MatMul",
                "ReduceMean",
                "LayerNormalization",
                "Softmax",
                "Expand",
                "Flatten",
                "Gelu",
                "LRN",
                "Upsample",
                "Mul",
                "Erf",
                "Shape",
                "Size",
                "Constant",
                "ConstantOfShape",
                "Nope",
            ],
        )
    return model


@_mutation
def _domain(rng: random.Random, model: Any) -> Any:
    node = _pick(rng, model.graph.node)
    if node is not None:
        node.domain = _pick(rng, ["ai.onnx", "com.microsoft", "ai.onnx.ml", "x"])
    return model


@_mutation
def _opsets(rng: random.Random, model: Any) -> Any:
    choice = rng.randrange(4)
    if choice == 0:
        del model.opset_import[:]
    else:
        for o in model.opset_import:
            if o.domain in ("", "ai.onnx"):
                o.version = _pick(rng, [0, 1, 6, 9, 11, 13, 21, 99, -1])
    if rng.random() < 0.3:
        model.ir_version = _pick(rng, [0, 1, 3, 99, -1])
    return model


@_mutation
def _node_names(rng: random.Random, model: Any) -> Any:
    node = _pick(rng, model.graph.node)
    if node is not None:
        node.name = _pick(
            rng,
            [
                "",
                "/",
                "//",
                "/input/Conv",
                "/a/b/c",
                "input",
                "\x1b]0;t\x07",
                "/" * 50,
                "/a.b/a.b.c/Relu",
                "x" * 5000,
            ],
        )
    return model


@_mutation
def _metadata(rng: random.Random, model: Any) -> Any:
    text = _pick(rng, ["", "x\nlayers: []", "a\x1b[2Jb", "\u202e", "'\"", "#"])
    choice = rng.randrange(4)
    if choice == 0:
        model.producer_name = text
    elif choice == 1:
        model.producer_version = text
    elif choice == 2:
        model.opset_import.add(domain=text or "d", version=rng.randrange(-1, 3))
    else:
        model.graph.name = text
    return model


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (tag, varint length, bytes)."""

    def varint(n: int) -> bytes:
        out = b""
        while n > 0x7F:
            out += bytes([n & 0x7F | 0x80])
            n >>= 7
        return out + bytes([n])

    return varint(number << 3 | 2) + varint(len(payload)) + payload


@_mutation
def _nested(rng: random.Random, model: Any) -> Any:
    """An If whose branch holds an If … 3, 30 or 300 levels deep, written as bytes (Python's
    protobuf refuses to build more than 100): a node appended to the graph, as protobuf
    merges a repeated field written twice."""
    node = b""
    for _ in range(_pick(rng, [3, 30, 300])):
        graph = (_field(1, node) if node else b"") + _field(2, b"level")
        then = _field(1, b"then_branch") + _field(6, graph) + b"\xa0\x01\x05"  # type 20: GRAPH
        other = _field(1, b"else_branch") + _field(6, _field(2, b"leaf")) + b"\xa0\x01\x05"
        node = _field(1, b"x") + _field(2, b"o") + _field(4, b"If")
        node += _field(5, then) + _field(5, other)
    return model.SerializeToString() + _field(7, _field(1, node))


@_mutation
def _subgraph(rng: random.Random, model: Any) -> Any:
    """A mapped node's output read by an If whose branches read it too."""
    node = _pick(rng, model.graph.node)
    if node is None or not node.output:
        return model
    out = node.output[0]
    then = helper.make_graph(
        [helper.make_node("Relu", [out], ["t"])], "then", [], [_info("t", None)]
    )
    other = helper.make_graph(
        [helper.make_node("Identity", [out], ["e"])], "else", [], [_info("e", None)]
    )
    import numpy

    model.graph.initializer.append(numpy_helper.from_array(numpy.array(False), "cond_fuzz"))
    model.graph.node.append(
        helper.make_node(
            "If", ["cond_fuzz"], ["if_out"], "/if/If", then_branch=then, else_branch=other
        )
    )
    return model


# byte-level: the result is the file's bytes


@_mutation
def _truncate(rng: random.Random, model: Any) -> Any:
    data = model.SerializeToString()
    return data[: rng.randrange(len(data) + 1)]


@_mutation
def _garbage(rng: random.Random, model: Any) -> Any:
    data = bytearray(model.SerializeToString())
    for _ in range(rng.randrange(1, 8)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


@_mutation
def _other_file(rng: random.Random, model: Any) -> Any:
    choice = rng.randrange(5)
    if choice == 0:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("model.onnx", model.SerializeToString())
        return buffer.getvalue()
    if choice == 1:
        return b"name: not onnx\ninput: [3, 8, 8]\nlayers: [relu]\n"
    if choice == 2:
        return b""
    if choice == 3:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
    return str(model).encode()  # the text format, not the binary one


# ---------------------------------------------------------------- running


def mutate(seed: int, models: list[tuple[str, Any]]) -> tuple[str, bytes]:
    """The case of one seed: a description and the file's bytes."""
    rng = random.Random(seed)
    name, base = _pick(rng, models)
    model = onnx.ModelProto()
    model.CopyFrom(base)
    steps = [name]
    result: Any = model
    for _ in range(rng.choice([1, 1, 2, 3])):
        key = _pick(rng, sorted(MUTATIONS))
        steps.append(key)
        result = MUTATIONS[key](rng, result)
        if isinstance(result, bytes):
            break
    data = result if isinstance(result, bytes) else result.SerializeToString()
    return " + ".join(steps), data


def run_case(path: Path, command: str = "describe") -> str | None:
    """None when the CLI kept its promise on the file, else what went wrong."""
    result = CliRunner().invoke(app, [command, str(path)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        last = traceback.format_exception(result.exception)[-1].strip()
        return f"exit {result.exit_code}: {last}"
    if result.exit_code not in (0, 2):
        return f"exit {result.exit_code}"
    if "Traceback" in result.stderr:
        return "a traceback on stderr"
    if result.exit_code == 2 and not result.stderr.startswith(f"{path}:"):
        return f"an error without the path: {result.stderr[:200]!r}"
    return None


def fuzz(seeds: range, folder: Path, every: int = 5) -> list[str]:
    """Every failure of the seeds, one line each; each ``every``-th case runs ``convert``
    too."""
    models = bases()
    failures = []
    for seed in seeds:
        what, data = mutate(seed, models)
        path = folder / f"case{seed}.onnx"
        path.write_bytes(data)
        commands = ["describe", "convert"] if seed % every == 0 else ["describe"]
        for command in commands:
            why = run_case(path, command)
            if why is not None:
                failures.append(f"seed {seed} ({what}), {command}: {why}")
        path.unlink()
    return failures


if __name__ == "__main__":
    import tempfile

    first, count = (int(a) for a in (sys.argv[1:3] + ["0", "500"][len(sys.argv[1:3]) :]))
    with tempfile.TemporaryDirectory() as tmp:
        found = fuzz(range(first, first + count), Path(tmp))
    print("\n".join(found))
    print(f"{len(found)} failures in {count} seeds")
