"""Bad and unusual ONNX files (issues 9 and 16): the seeded mutation fuzzer of
tests/onnx_fuzz.py, and one hand-built file for each crash it found, each now one positioned
error with exit 2."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rfcalc.cli import app

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tests.onnx_fuzz import fuzz  # noqa: E402

SEEDS = 400  # about 4 s of CPU; `python -m tests.onnx_fuzz FIRST COUNT` runs more


def test_fuzzed_onnx_files_keep_the_promise(tmp_path: Path) -> None:
    # exit 0 or 2, no traceback, an error starting with the file's path, for describe and
    # (every fifth case) convert
    assert fuzz(range(SEEDS), tmp_path) == []


# ---------------------------------------------------------------- one file per crash


def _info(name: str, shape: list[int | str]) -> Any:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _weight(name: str, *shape: int) -> Any:
    import numpy

    return numpy_helper.from_array(numpy.ones(shape, numpy.float32), name)


def _save(
    tmp_path: Path,
    nodes: list[Any],
    out: list[int | str],
    inits: list[Any] = (),  # type: ignore[assignment]
    x: list[int | str] = [1, 3, 8, 8],  # noqa: B006 (read only)
    opset: int = 17,
) -> Path:
    graph = helper.make_graph(nodes, "g", [_info("x", x)], [_info("y", out)], list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())  # onnx.save would refuse some of them
    return path


def _error(path: Path, command: str = "describe") -> str:
    """The one error of a command on the file (exit 2, nothing on stdout), without the path."""
    result = CliRunner().invoke(app, [command, str(path)])
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr or result.exception
    assert result.stderr.startswith(f"{path}:1:1: error: ")
    return result.stderr[len(f"{path}:1:1: error: ") :]


def test_an_initializer_whose_data_does_not_fit_its_dims(tmp_path: Path) -> None:
    # was: ValueError: cannot reshape array of size 2 into shape () (numpy_helper.to_array);
    # onnx.checker refuses raw data too short for the dims, not data too long
    import numpy

    scale = numpy_helper.from_array(numpy.array([2, 3], numpy.float32), "s")
    del scale.dims[:]
    path = _save(tmp_path, [helper.make_node("Mul", ["x", "s"], ["y"])], [1, 3, 8, 8], [scale])
    assert _error(path) == (
        "the initializer 's' cannot be read as []: cannot reshape array of size 2 into shape ()\n"
    )


@pytest.mark.parametrize("code", [40, 999])
def test_an_initializer_of_an_unknown_data_type(tmp_path: Path, code: int) -> None:
    # was: KeyError: 40 (numpy_helper.to_array), and for a larger initializer ValueError:
    # Invalid tensor data type 40. (shape inference)
    weight = _weight("w", 1, 3, 3, 3)
    weight.data_type = code
    path = _save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["y"])], [1, 1, 6, 6], [weight])
    known = max(TensorProto.DataType.values())
    assert _error(path) == (
        f"the initializer 'w' has no known data type ({code}; onnx {onnx.__version__} knows "
        f"1 … {known})\n"
    )


def test_an_initializer_of_undefined_data_type(tmp_path: Path) -> None:
    # was: TypeError: The element type in the input tensor is UNDEFINED.
    weight = _weight("w", 1, 3, 3, 3)
    weight.data_type = TensorProto.UNDEFINED
    path = _save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["y"])], [1, 1, 6, 6], [weight])
    assert _error(path) == (
        "not a valid ONNX model: setting data_type field (tensor name: w) to UNDEFINED is not "
        "allowed\n"
    )


def test_a_node_missing_an_input(tmp_path: Path) -> None:
    # was: IndexError: list index out of range (the Conv handler read its weight, ins[1])
    path = _save(tmp_path, [helper.make_node("Conv", ["x"], ["y"], "conv")], [1, 1, 6, 6])
    assert _error(path) == (
        "not a valid ONNX model: Node(conv) with schema(::Conv:11) has input size 1 not in range "
        "[min=2, max=3]. (Bad node spec for node. Name: conv OpType: Conv)\n"
    )


def test_an_attribute_of_the_wrong_type(tmp_path: Path) -> None:
    # was: TypeError: 'int' object is not iterable (kernel_shape: 2 where a list belongs)
    pool = helper.make_node("MaxPool", ["x"], ["y"], "pool", kernel_shape=2)
    assert _error(_save(tmp_path, [pool], [1, 3, 4, 4])) == (
        "not a valid ONNX model: Mismatched attribute type in 'pool : kernel_shape'. Expected: "
        "'INTS', actual: 'INT' (Bad node spec for node. Name: pool OpType: MaxPool)\n"
    )


def _i64(name: str, values: list[int]) -> Any:
    import numpy

    return numpy_helper.from_array(numpy.array(values, numpy.int64), name)


def test_pads_of_the_wrong_length(tmp_path: Path) -> None:
    # was: ValueError: zip() argument 2 is shorter than argument 1 (Pad). Shape inference
    # refuses pads it can read (an initializer's); pads computed by a node (here a Concat of
    # two constants, which rfcalc evaluates) it cannot see, and the importer checks them
    pad = helper.make_node("Pad", ["x", "pads"], ["y"], "pad")
    path = _save(tmp_path, [pad], ["n", "c", "h", "w"], [_i64("pads", [0, 0, 1, 1, 0, 0, 1])])
    assert _error(path) == (
        "not a valid ONNX model: [ShapeInferenceError] Inference error(s): (op_type:Pad, node "
        "name: pad): [ShapeInferenceError] Pads has incorrect number of values\n"
    )
    nodes = [helper.make_node("Concat", ["a", "b"], ["pads"], axis=0), pad]
    inits = [_i64("a", [0, 0, 1, 1]), _i64("b", [0, 0, 1])]
    path = _save(tmp_path, nodes, ["n", "c", "h", "w"], inits)
    assert _error(path) == "Pad node 'pad': 'pads' has 7 values; 4 axes take 8\n"


def test_conv_pads_of_the_wrong_length(tmp_path: Path) -> None:
    # was: ValueError: zip() argument 2 is longer than argument 1 (Conv, pads of 3 values)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], "conv", pads=[1, 1, 1])
    path = _save(tmp_path, [conv], ["n", "c", "h", "w"], [_weight("w", 1, 3, 3, 3)])
    assert _error(path) == (
        "not a valid ONNX model: [ShapeInferenceError] Inference error(s): (op_type:Conv, node "
        "name: conv): [ShapeInferenceError] Attribute pads has incorrect size\n"
    )


@pytest.mark.parametrize(
    ("attribute", "value", "says"),
    [
        ("strides", [0, 1], "Attribute strides must only contain positive values"),
        ("dilations", [1, 0], "Attribute dilations must only contain positive values"),
        ("pads", [0, -1, 0, 0], "Attribute pads must not contain negative values"),
    ],
)
def test_conv_attributes_the_operator_refuses(
    tmp_path: Path, attribute: str, value: list[int], says: str
) -> None:
    # was: listed as an operator rfcalc cannot map ("no shape inferred for its output"): shape
    # inference, not strict, left the output unknown without saying why
    conv = helper.make_node("Conv", ["x", "w"], ["y"], "conv")
    conv.attribute.append(helper.make_attribute(attribute, value))
    path = _save(tmp_path, [conv], ["n", "c", "h", "w"], [_weight("w", 1, 3, 3, 3)])
    assert _error(path) == (
        "not a valid ONNX model: [ShapeInferenceError] Inference error(s): (op_type:Conv, node "
        f"name: conv): [ShapeInferenceError] {says}\n"
    )


def test_a_declared_shape_that_contradicts_the_nodes(tmp_path: Path) -> None:
    # shape inference raises InferenceError even when not strict (the catch-all that caught it
    # went: "not a readable ONNX model"): an initializer listed among the graph's inputs, as IR 3 files do, declared there
    # with another shape than its own)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], "conv")
    path = _save(tmp_path, [conv], [1, 4, 6, 6], [_weight("w", 4, 3, 3, 3)])
    model = onnx.load(str(path))
    model.graph.input.append(_info("w", [4, 27]))
    path.write_bytes(model.SerializeToString())
    assert _error(path) == (
        "not a valid ONNX model: [ShapeInferenceError] Inferred shape and existing shape differ "
        "in rank: (4) vs (2)\n"
        "hint: a shape or type the file declares (an input, an output, a value_info) "
        "contradicts what its nodes compute\n"
    )


def test_a_conv_weight_of_the_wrong_rank(tmp_path: Path) -> None:
    # was: IndexError: tuple index out of range (the output channels, w.shape[0], of a
    # scalar weight)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], "conv")
    path = _save(tmp_path, [conv], ["n", "c", "h", "w"], [_weight("w")])
    assert _error(path) == (
        "not a valid ONNX model: [ShapeInferenceError] Inference error(s): (op_type:Conv, node "
        "name: conv): [ShapeInferenceError] Number of spatial dimensions in the weight tensor "
        "(0) does not match the number of spatial dimensions in the input tensor (2).\n"
    )
    # a weight computed by nodes (ConstantOfShape of a Concat) is out of inference's sight
    nodes = [
        helper.make_node("Concat", ["a", "b"], ["shape"], axis=0),
        helper.make_node("ConstantOfShape", ["shape"], ["w"]),
        conv,
    ]
    path = _save(tmp_path, nodes, ["n", "c", "h", "w"], [_i64("a", [4]), _i64("b", [3, 3])])
    assert _error(path) == (
        "Conv node 'conv': its input has shape [1, 3, 8, 8] and its weight [4, 3, 3]: both "
        "must have one rank, 3 or more (batch, channels and the spatial axes)\n"
    )


def test_a_kernel_shape_that_is_not_the_weights(tmp_path: Path) -> None:
    # was silent: the weight's kernel was read, the attribute passed over
    conv = helper.make_node("Conv", ["x", "w"], ["y"], "conv", kernel_shape=[5, 5])
    path = _save(tmp_path, [conv], ["n", "c", "h", "w"], [_weight("w", 4, 3, 3, 3)])
    assert _error(path) == (
        "Conv node 'conv': 'kernel_shape' is [5, 5], but its weight's kernel is [3, 3]\n"
    )


def test_a_gemm_weight_of_the_wrong_rank(tmp_path: Path) -> None:
    # was: IndexError: tuple index out of range (w.shape[1] of a 1-D weight)
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"], "flat"),
        helper.make_node("Gemm", ["f", "w"], ["y"], "fc"),
    ]
    path = _save(tmp_path, nodes, ["n", "k"], [_weight("w", 192)])
    assert _error(path) == (
        "not a valid ONNX model: [ShapeInferenceError] Inference error(s): (op_type:Gemm, node "
        "name: fc): [ShapeInferenceError] Input 1 expected to have rank 2 but has rank 1 in node "
        "Gemm (fc).\n"
    )


def test_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    # was: KeyError: 'kernel_shape' (the pool's attribute under another name); with
    # onnx.checker first, UnicodeDecodeError: 'utf-8' codec can't decode byte 0x82 (its
    # message quotes the name, bytes that are not UTF-8)
    pool = helper.make_node("MaxPool", ["x"], ["y"], "pool", kernel_shape=[2, 2])
    path = _save(tmp_path, [pool], [1, 3, 4, 4])
    path.write_bytes(path.read_bytes().replace(b"kernel_shape", b"k\x82rnel_shape"))
    assert _error(path) == (
        "not a valid ONNX model: Unrecognized attribute: k\\x82rnel_shape for operator MaxPool "
        "(Bad node spec for node. Name: pool OpType: MaxPool)\n"
    )


def test_a_string_attribute_that_is_not_utf8(tmp_path: Path) -> None:
    # was: UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff (Resize's mode)
    import numpy

    scales = numpy_helper.from_array(numpy.array([1, 1, 2, 2], numpy.float32), "scales")
    resize = helper.make_node("Resize", ["x", "", "scales"], ["y"], "up", mode=b"\xff")
    path = _save(tmp_path, [resize], [1, 3, 16, 16], [scales])
    assert _error(path) == (
        "1 ONNX node rfcalc cannot map: Resize (mode \\xff) at 'up'\n"
        "hint: docs/importers.md lists the operators rfcalc reads\n"
    )


def test_an_unknown_auto_pad(tmp_path: Path) -> None:
    # was silent: any auto_pad but VALID and SAME_* was read as NOTSET
    conv = helper.make_node("Conv", ["x", "w"], ["y"], "conv", auto_pad="SAME")
    path = _save(tmp_path, [conv], ["n", "c", "h", "w"], [_weight("w", 4, 3, 3, 3)])
    assert _error(path) == (
        "Conv node 'conv': 'auto_pad' is 'SAME', none of NOTSET, SAME_UPPER, SAME_LOWER and VALID\n"
    )


def test_an_axis_out_of_range(tmp_path: Path) -> None:
    # was: listed as an operator rfcalc cannot map ("no shape inferred for its output"); the
    # file is wrong, not rfcalc (the axis of a rank-4 tensor is -4 … 3)
    cat = helper.make_node("Concat", ["x", "x"], ["y"], "cat", axis=5)
    assert _error(_save(tmp_path, [cat], ["n", "c", "h", "w"])) == (
        "not a valid ONNX model: [ShapeInferenceError] Inference error(s): (op_type:Concat, node "
        "name: cat): [ShapeInferenceError] axis must be in [-rank, rank-1].\n"
    )
    # was silent: axes computed by a node, out of inference's sight, were wrapped (5 % 4 = 1)
    nodes = [
        helper.make_node("Concat", ["a", "b"], ["axes"], axis=0),
        helper.make_node("Pad", ["x", "pads", "", "axes"], ["y"], "pad"),
    ]
    inits = [_i64("pads", [1, 1]), _i64("a", [5]), _i64("b", [])]
    path = _save(tmp_path, nodes, ["n", "c", "h", "w"], inits, opset=18)  # Pad's axes: 18
    assert _error(path) == "Pad node 'pad': 'axes' is 5, out of the range -4 … 3\n"


def test_control_flow_is_an_unmapped_operator(tmp_path: Path) -> None:
    # was: an If with a constant condition "folded" as a constant, and listed as "cannot
    # evaluate a constant: Unable to find input 'x' …" (its branches read the graph's input)
    import numpy

    def branch(op: str) -> Any:
        return helper.make_graph(
            [helper.make_node(op, ["x"], [op])], op, [], [_info(op, [1, 3, 8, 8])]
        )

    cond = numpy_helper.from_array(numpy.array(True), "cond")
    node = helper.make_node(
        "If", ["cond"], ["y"], "if", then_branch=branch("Relu"), else_branch=branch("Sigmoid")
    )
    assert _error(_save(tmp_path, [node], [1, 3, 8, 8], [cond])) == (
        "1 ONNX node rfcalc cannot map: If (control flow (a subgraph)) at 'if'\n"
        "hint: docs/importers.md lists the operators rfcalc reads\n"
    )


def test_an_unnamed_node_without_outputs(tmp_path: Path) -> None:
    # was: IndexError: list index out of range (its place named by its first output)
    nodes = [
        helper.make_node("Relu", ["x"], ["y"]),
        helper.make_node("Log", ["y"], [], domain="my.ops"),
    ]
    graph = helper.make_graph(nodes, "g", [_info("x", [1, 3, 8, 8])], [_info("y", [1, 3, 8, 8])])
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("my.ops", 1)]
    path = tmp_path / "m.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=opsets).SerializeToString())
    assert _error(path) == (
        "1 ONNX node rfcalc cannot map: Log (domain my.ops) at #1 (Log)\n"
        "hint: docs/importers.md lists the operators rfcalc reads\n"
    )


def test_missing_external_data(tmp_path: Path) -> None:
    # was: described. rfcalc reads no weight values, but onnx.checker wants the file whole:
    # it looks for the data file beside the model (not in the working directory)
    weight = _weight("w", 4, 3, 3, 3)
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    conv = helper.make_node("Conv", ["x", "w"], ["y"], "conv")
    path = _save(tmp_path, [conv], [1, 4, 6, 6], [weight])
    assert _error(path) == (
        f"not a valid ONNX model: Data of TensorProto ( tensor name: w) should be stored in "
        f"{tmp_path / 'weights.bin'}, but it is not regular file.\n"
    )
    (tmp_path / "weights.bin").write_bytes(b"\0" * 4 * 4 * 27)  # there: described
    result = CliRunner().invoke(app, ["describe", str(path), "-f", "json"])
    assert (result.exit_code, result.stderr) == (0, "")


# ---------------------------------------------------------------- not ONNX at all


def test_a_zip_named_onnx(tmp_path: Path) -> None:
    # was: "… Error parsing message with type 'onnx.ModelProto': Wire format was corrupt"
    path = tmp_path / "m.onnx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("model.onnx", b"\x08\x07")
    path.write_bytes(buffer.getvalue())
    assert _error(path, "convert") == (
        "not a readable ONNX model: the bytes are not an ONNX protobuf (Error parsing message "
        "with type 'onnx.ModelProto': Wire format was corrupt)\n"
        "hint: this is a zip archive: unpack it and give the .onnx file inside\n"
    )


def test_a_text_file_named_onnx(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_text("name: tiny\ninput: [3, 8, 8]\nlayers: [relu]\n")
    assert _error(path) == (
        "not a readable ONNX model: the bytes are not an ONNX protobuf (Error parsing message "
        "with type 'onnx.ModelProto': Wire format was corrupt)\n"
        "hint: this is text: rfcalc reads ONNX's binary format, as onnx.save writes it\n"
    )


def test_an_empty_file_named_onnx(tmp_path: Path) -> None:
    # was: "rfcalc reads models with one input; this one has none" (no bytes: an empty model)
    path = tmp_path / "m.onnx"
    path.write_bytes(b"")
    assert _error(path) == "not a readable ONNX model: the file is empty\n"


@pytest.mark.parametrize(
    ("op", "group", "weight", "says"),
    [
        ("Conv", 2, (4, 4, 3, 3), "its weight [4, 4, 3, 3] reads 8 (4 per group × group 2)"),
        ("Conv", 1, (4, 2, 3, 3), "its weight [4, 2, 3, 3] reads 2 (2 per group × group 1)"),
        ("ConvTranspose", 1, (3, 4, 3, 3), "its weight [3, 4, 3, 3] reads 3 (its first)"),
    ],
)
def test_a_conv_weight_that_reads_other_channels(
    tmp_path: Path, op: str, group: int, weight: tuple[int, ...], says: str
) -> None:
    # was silent: shape inference passes it, and the params were counted from the input's 4
    # channels (a Conv of group 2 with weight 4×4×3×3: 72 params where the file holds 144)
    conv = helper.make_node(op, ["x", "w"], ["y"], "conv", group=group)
    path = _save(tmp_path, [conv], ["n", "c", "h", "w"], [_weight("w", *weight)], [1, 4, 8, 8])
    assert _error(path) == f"{op} node 'conv': its input has 4 channels, {says}\n"


def test_a_group_below_one(tmp_path: Path) -> None:
    conv = helper.make_node("Conv", ["x", "w"], ["y"], "conv", group=0)
    path = _save(tmp_path, [conv], ["n", "c", "h", "w"], [_weight("w", 4, 3, 3, 3)])
    assert _error(path) == "Conv node 'conv': 'group' is 0; it must be 1 or more\n"


def test_odd_file_names_and_producers(tmp_path: Path) -> None:
    # was: a producer name holding ESC failed describe with "invalid YAML: unacceptable
    # character #x001b" (the header comment of the converted text), and a file named with a
    # newline with "the model's name 'a\nb' must not contain control characters"; a name
    # that is not UTF-8 must not reach onnx's C++ checker by path (TypeError: it takes UTF-8)
    import os

    folder = tmp_path / os.fsdecode(b"\xff")
    folder.mkdir()
    for name in ("a\nb.onnx", "m\u202e.onnx", os.fsdecode(b"\xfe.onnx")):
        path = folder / name
        graph = helper.make_graph(
            [helper.make_node("Relu", ["x"], ["y"])], "g", [_info("x", [1, 3, 4, 4])], []
        )
        graph.output.append(_info("y", [1, 3, 4, 4]))
        model = helper.make_model(graph, producer_name="a\x1b[2Jb\nc")
        path.write_bytes(model.SerializeToString())
        result = CliRunner().invoke(app, ["describe", str(path)])
        assert (result.exit_code, result.stderr) == (0, ""), result.exception
        converted = CliRunner().invoke(app, ["convert", str(path)])
        assert converted.exit_code == 0
        assert "made by a\\x1b[2Jb\\nc" in converted.stdout


def test_subgraphs_nested_deeper_than_protobuf_reads(tmp_path: Path) -> None:
    # an If in an If … 300 levels: Python's protobuf stops at 100 (not a crash before either,
    # but the catch-all that said so caught every exception)
    import random

    from tests.onnx_fuzz import _nested

    graph = helper.make_graph([], "g", [_info("x", [1, 3, 4, 4])], [_info("x", [1, 3, 4, 4])])
    model = helper.make_model(graph)
    path = tmp_path / "m.onnx"
    path.write_bytes(_nested(random.Random(5), model))  # seed 5 draws 300 levels
    assert _error(path) == (
        "not a readable ONNX model: the bytes are not an ONNX protobuf (Error parsing message "
        "with type 'onnx.ModelProto': Exceeded upb_DecodeOptions_MaxDepth)\n"
    )
