"""ONNX → rfcalc: read an ``.onnx`` file and write it as rfcalc YAML (docs/importers.md).

``describe model.onnx`` reads the text :func:`convert` writes, so that an ONNX file and the
file ``rfcalc convert`` makes of it give the same numbers, and an error's position is a line
of that file. Needs the ``onnx`` package (``pip install 'rfcalc[onnx]'``), imported here only.

How: onnx's shape inference gives every tensor's shape; nodes whose inputs are all constants
(the shape arithmetic exporters emit: Shape → Gather → Unsqueeze → Concat → Reshape, and the
weights ``ConstantOfShape`` makes in stripped models) are evaluated by onnx's reference
implementation; every other node becomes an rfcalc layer whose arguments come from its
attributes and its weights' shapes, so that rfcalc counts its parameters as PyTorch counts
them for the same layer.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from rfcalc.errors import InputError, SourcePos, printable
from rfcalc.writer import INPUT, WrittenLayer, write_model

if TYPE_CHECKING:
    from rfcalc.loader import ModelSpec

__all__ = ["convert", "load_onnx"]

INSTALL_HINT = "pip install 'rfcalc[onnx]'"
_UNKNOWN = -2  # the layer of a tensor an unmapped node computes
_SMALL = 4096  # constants up to this many elements are evaluated; larger ones keep their shape


def load_onnx(path: str) -> ModelSpec:
    """The model spec of an ONNX file, read from the text :func:`convert` writes."""
    from rfcalc.loader import load_text

    return load_text(convert(path), path)


def convert(path: str) -> str:
    """The rfcalc YAML text of an ONNX file (what ``rfcalc convert`` writes)."""
    try:
        import onnx
    except ImportError:
        raise InputError(
            "reading an ONNX file needs the onnx package, which is not installed",
            SourcePos(path),
            INSTALL_HINT,
        ) from None
    import os

    where = SourcePos(path)
    if not os.path.isfile(path):
        raise InputError("no such file" if not os.path.exists(path) else "not a file", where)
    if os.path.getsize(path) == 0:
        raise InputError("not a readable ONNX model: the file is empty", where)
    from google.protobuf.message import DecodeError

    try:
        # the weights' values are not needed, only their shapes: external data stays unread
        model = onnx.load(path, load_external_data=False)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where) from None
    except DecodeError as exc:
        raise InputError(
            f"not a readable ONNX model: the bytes are not an ONNX protobuf ({exc})",
            where,
            _what_it_is(path),
        ) from None
    try:
        # by path: an external-data file is looked for beside the model, not in the cwd; but
        # onnx's C++ takes a path only as UTF-8, and a name that is not (os.fsdecode's
        # surrogates) has the model as read checked instead (external data then looked for
        # in the working directory)
        onnx.checker.check_model(model if _not_utf8(path) else path)
    except onnx.checker.ValidationError as exc:
        raise InputError(f"not a valid ONNX model: {_checker_text(str(exc))}", where) from None
    except UnicodeDecodeError as exc:  # the checker's message quotes a name that is not UTF-8
        text = exc.object.decode("utf-8", "backslashreplace")
        raise InputError(f"not a valid ONNX model: {_checker_text(text)}", where) from None
    dtypes = set(onnx.TensorProto.DataType.values()) - {onnx.TensorProto.UNDEFINED}
    for init in model.graph.initializer:  # onnx.checker lets an unknown one through
        if init.data_type not in dtypes:
            raise InputError(
                f"the initializer '{init.name}' has no known data type ({init.data_type};"
                f" onnx {onnx.__version__} knows {min(dtypes)} … {max(dtypes)})",
                where,
            )
    try:
        # strict: a node whose attributes its operator refuses (a zero stride, negative pads)
        # fails here, saying which and why; a shape that cannot be known without running the
        # model is left unknown, and a node that needs it says so. A tensor the C++ code
        # refuses is std::invalid_argument: ValueError.
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except (onnx.shape_inference.InferenceError, ValueError) as exc:
        text = _checker_text(str(exc))
        raise InputError(
            f"not a valid ONNX model: {text}",
            where,
            "a shape or type the file declares (an input, an output, a value_info) "
            "contradicts what its nodes compute"
            if "existing" in text  # "Inferred shape and existing shape differ …"
            else None,
        ) from None
    importer = _Importer(model, path)
    layers = importer.run()
    opsets = ", ".join(
        f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import if o.version
    )
    producer = f"{model.producer_name} {model.producer_version}".strip()
    header = (
        f"converted by `rfcalc convert` from {printable(path, newlines=False)}\n"
        f"(ONNX IR {model.ir_version}, opset {printable(opsets, newlines=False)}"
        + (f", made by {printable(producer, newlines=False)}" if producer else "")
        + ")"
    )  # what the file says, shown inert: YAML refuses control characters even in a comment
    name = os.path.splitext(os.path.basename(path))[0]  # exporters' graph names say little
    name = printable(name, newlines=False)  # a file named with a newline: a name without one
    return write_model(name, importer.input_shape, _named(layers), header)


def _not_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _checker_text(error: str) -> str:
    """onnx.checker's message on one line: ``… ==> Context: Bad node spec …`` → ``… (Bad …)``."""
    text = " ".join(error.split())
    message, _, context = text.partition(" ==> Context: ")
    return f"{message} ({context})" if context else message


def _what_it_is(path: str) -> str | None:
    """A hint for a file that is no ONNX protobuf, from its first bytes: a zip, or text."""
    with open(path, "rb") as file:
        head = file.read(512)
    if head.startswith(b"PK\x03\x04"):
        return "this is a zip archive: unpack it and give the .onnx file inside"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return None
    return "this is text: rfcalc reads ONNX's binary format, as onnx.save writes it"


# ---------------------------------------------------------------- values


class _Const(NamedTuple):
    """A constant tensor: its shape, its value when small enough to compute (numpy), and
    whether it is a weight (an initializer or made from one) rather than a literal."""

    shape: tuple[int, ...]
    value: Any  # numpy.ndarray | None
    weight: bool


class _Tensor(NamedTuple):
    """A tensor a layer computes: the index of that layer (-1: the model's input) and its
    shape with the batch dimension."""

    layer: int
    shape: tuple[int, ...]


class _Layer(NamedTuple):
    scope: tuple[str, ...]  # module path from the node's name ('layer1', '0', 'conv1')
    op: str  # the ONNX operator, for names
    type: str
    args: dict[str, object]
    inputs: tuple[int, ...]  # layer indices, -1 for the model's input


_Value = _Const | _Tensor


def _node_where(node: Any, index: int) -> str:
    if node.name:
        return f"'{node.name}'"
    return f"#{index} ({node.op_type}{f' → {node.output[0]}' if node.output else ''})"


class _UnsupportedError(Exception):
    """A node the importer cannot map (collected, then reported together)."""


class _InvalidError(Exception):
    """A node the ONNX format itself does not allow (its message says why), that onnx.checker
    lets through: reported at once, with the node."""


class _Importer:
    def __init__(self, model: Any, path: str) -> None:
        from onnx import TensorProto, numpy_helper

        self.model = model
        self.graph = model.graph
        self.path = path
        self.values: dict[str, _Value] = {}
        self.layers: list[_Layer] = []
        self.dropped: set[int] = set()  # layers folded into an earlier one
        self.erf: dict[int, str] = {}  # Erf layers not yet read as a GELU → their node
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.functions = {(f.domain, f.name) for f in model.functions}
        for info in (*self.graph.value_info, *self.graph.output, *self.graph.input):
            dims = info.type.tensor_type.shape.dim
            if info.type.tensor_type.HasField("shape") and all(
                d.HasField("dim_value") for d in dims
            ):
                self.shapes[info.name] = tuple(d.dim_value for d in dims)
        where = SourcePos(path)
        for init in self.graph.initializer:
            shape = tuple(init.dims)  # onnx.checker refused negative ones
            small = math.prod(shape) <= _SMALL and init.data_location != TensorProto.EXTERNAL
            try:
                value = numpy_helper.to_array(init) if small else None
            except ValueError as exc:  # its data does not fit its dims (a larger one is unread)
                raise InputError(
                    f"the initializer '{init.name}' cannot be read as {list(shape)}: {exc}", where
                ) from None
            self.values[init.name] = _Const(shape, value, True)
        inputs = [i for i in self.graph.input if i.name not in self.values]
        if len(inputs) != 1:
            names = ", ".join(i.name for i in inputs) or "none"
            raise InputError(f"rfcalc reads models with one input; this one has {names}", where)
        dims = inputs[0].type.tensor_type.shape.dim
        sizes = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        if len(sizes) < 2 or None in sizes[1:]:
            raise InputError(
                f"the input '{inputs[0].name}' has no fixed shape "
                f"({', '.join(str(s or '?') for s in sizes)})",
                where,
                "export the model with a fixed input size (no dynamic axes but the batch)",
            )
        batch = sizes[0] or 1
        self.input_shape = tuple(s or 0 for s in sizes[1:])
        self.values[inputs[0].name] = _Tensor(-1, (batch, *self.input_shape))
        self.uses: dict[str, int] = {}
        for node in self.graph.node:
            for name in node.input:
                self.uses[name] = self.uses.get(name, 0) + 1
        for out in self.graph.output:
            self.uses[out.name] = self.uses.get(out.name, 0) + 1

    # ------------------------------------------------------------ the walk

    def run(self) -> list[_Layer]:
        failures: dict[str, list[str]] = {}
        for index, node in enumerate(self.graph.node):
            try:
                self._node(node)
            except _InvalidError as why:
                raise InputError(
                    f"{node.op_type} node {_node_where(node, index)}: {why}", SourcePos(self.path)
                ) from None
            except _UnsupportedError as why:
                key = f"{node.op_type}{f' ({why})' if str(why) else ''}"
                failures.setdefault(key, []).append(_node_where(node, index))
                self._unknown(node)
        for where in self.erf.values():  # an Erf that turned out to be no GELU's
            failures.setdefault(f"Erf ({_ERF_ONLY})", []).append(where)
        if failures:
            listing = "; ".join(
                f"{op} at {', '.join(where[:5])}"
                + (f" and {len(where) - 5} more" if len(where) > 5 else "")
                for op, where in failures.items()
            )
            count = sum(map(len, failures.values()))
            raise InputError(
                f"{count} ONNX node{'s' if count != 1 else ''} rfcalc cannot map: {listing}",
                SourcePos(self.path),
                "docs/importers.md lists the operators rfcalc reads",
            )
        outputs = [self.values.get(o.name) for o in self.graph.output]
        if not self.layers or not any(isinstance(o, _Tensor) for o in outputs):
            raise InputError("the model computes nothing rfcalc can describe", SourcePos(self.path))
        last = len(self.layers) - 1
        final = outputs[0]
        if isinstance(final, _Tensor) and final.layer != last:
            # the graph's first output is not the last layer written: read it once more
            self._add(None, "identity", {}, (final,), "output")
        kept = [i for i in range(len(self.layers)) if i not in self.dropped]
        renumber = {old: new for new, old in enumerate(kept)} | {-1: -1}
        return [
            layer._replace(inputs=tuple(renumber[i] for i in layer.inputs))
            for layer in map(self.layers.__getitem__, kept)
        ]

    def _node(self, node: Any) -> None:
        if (node.domain, node.op_type) in self.functions:
            raise _UnsupportedError("a function the model defines")
        if node.domain not in ("", "ai.onnx"):
            raise _UnsupportedError(f"domain {node.domain}")
        if any(a.g.node or a.graphs for a in node.attribute):  # If, Loop, Scan
            raise _UnsupportedError("control flow (a subgraph)")
        ins = [self.values.get(name) if name else None for name in node.input]
        if any(v is None and name for v, name in zip(ins, node.input, strict=True)):
            raise _UnsupportedError("an input no node computes")
        folds = node.op_type in ("Constant", "ConstantOfShape", "Shape", "Size") or all(
            isinstance(v, _Const) for v in ins if v is not None
        )
        handler = _HANDLERS.get(node.op_type)
        if handler is None and not folds:
            raise _UnsupportedError("")
        if any(isinstance(v, _Tensor) and v.layer == _UNKNOWN for v in ins):
            self._unknown(node)  # downstream of an unmapped node: only unmapped ones are listed
        elif folds:
            self._fold(node, ins)
        elif handler is not None:
            handler(self, node, ins)

    def _unknown(self, node: Any) -> None:
        """The outputs of a node that is not mapped: computed, but by no layer."""
        for out in node.output:
            self.values[out] = _Tensor(_UNKNOWN, self.shapes.get(out, ()))

    # ------------------------------------------------------------ constants

    def _fold(self, node: Any, ins: list[_Value | None]) -> None:
        if node.op_type in ("Shape", "Size") and isinstance(ins[0], _Tensor):
            import numpy

            shape = numpy.array(ins[0].shape, dtype=numpy.int64)
            if node.op_type == "Size":
                shape = numpy.array(math.prod(ins[0].shape), dtype=numpy.int64)
            else:
                a = _attrs(node)
                shape = shape[a.get("start", 0) : a.get("end", len(shape))]
            self.values[node.output[0]] = _Const(tuple(shape.shape), shape, False)
            return
        weight = any(isinstance(v, _Const) and v.weight for v in ins)
        weight = weight or node.op_type == "ConstantOfShape"
        known = all(v is None or (isinstance(v, _Const) and v.value is not None) for v in ins)
        shapes = [self.shapes.get(out) for out in node.output]
        if known and all(s is None or math.prod(s) <= _SMALL for s in shapes):
            from onnx import helper
            from onnx.reference import ReferenceEvaluator

            one = helper.make_model(
                helper.make_graph([node], "fold", [], []), opset_imports=self.model.opset_import
            )  # the node alone, evaluated with the model's opset (Unsqueeze changed at 13)
            feeds = {
                name: v.value
                for name, v in zip(node.input, ins, strict=True)
                if name and isinstance(v, _Const)
            }
            try:
                results = ReferenceEvaluator(one).run(list(node.output), feeds)
            except Exception as exc:
                raise _UnsupportedError(f"cannot evaluate a constant: {exc}") from None
            for out, result in zip(node.output, results, strict=False):
                self.values[out] = _Const(tuple(result.shape), result, weight)
            return
        for out, out_shape in zip(node.output, shapes, strict=True):
            if out_shape is None:
                raise _UnsupportedError("a constant of unknown shape")
            self.values[out] = _Const(out_shape, None, weight)

    # ------------------------------------------------------------ layers

    def _add(
        self,
        node: Any,
        kind: str,
        args: dict[str, object],
        inputs: Sequence[_Tensor],
        op: str | None = None,
    ) -> int:
        scope = _scope(node.name) if node is not None else ()
        self.layers.append(
            _Layer(scope, op or node.op_type, kind, args, tuple(t.layer for t in inputs))
        )
        return len(self.layers) - 1

    def _out(self, node: Any, layer: int, index: int = 0) -> None:
        name = node.output[index]
        shape = self.shapes.get(name)
        if shape is None:
            raise _UnsupportedError("no shape inferred for its output")
        self.values[name] = _Tensor(layer, shape)

    def layer(
        self, node: Any, kind: str, args: dict[str, object], inputs: Sequence[_Tensor]
    ) -> None:
        self._out(node, self._add(node, kind, args, inputs))

    def uses_of_layer(self, layer: int) -> int:
        """How many node inputs (and graph outputs) read the output of a layer."""
        names = [n for n, v in self.values.items() if isinstance(v, _Tensor) and v.layer == layer]
        return sum(self.uses.get(n, 0) for n in names)

    def read_once(self, layer: int) -> bool:
        """Whether a layer's output is read by one node alone, through a chain of nodes that
        pass it on unchanged (a Div by √2, an Add of 1: one name each, each read once)."""
        names = [n for n, v in self.values.items() if isinstance(v, _Tensor) and v.layer == layer]
        return all(self.uses.get(n, 0) == 1 for n in names)

    def alias(self, node: Any, value: _Value) -> None:
        self.values[node.output[0]] = value

    def shape_of(self, node: Any, index: int = 0) -> tuple[int, ...]:
        shape = self.shapes.get(node.output[index])
        if shape is None:
            raise _UnsupportedError("no shape inferred for its output")
        return shape


# ---------------------------------------------------------------- helpers


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _text(value: object) -> str:
    """A string attribute (bytes in the protobuf; any that are not UTF-8 shown escaped)."""
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)


def _scope(name: str) -> tuple[str, ...]:
    """The module path of a node named by PyTorch's exporter: ``/layer1/layer1.0/conv1/Conv``
    → ('layer1', '0', 'conv1'): each level's name without its parent's prefix."""
    parts = [p for p in name.split("/") if p]
    if len(parts) < 2 or not name.startswith("/"):
        return ()
    out: list[str] = []
    parent = ""
    for part in parts[:-1]:
        short = part[len(parent) + 1 :] if parent and part.startswith(parent + ".") else part
        out.append(_clean(short))
        parent = part
    return tuple(out)


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _clean(part: str) -> str:
    text = _UNSAFE.sub("_", part).strip("_") or "node"
    return f"{text}_" if text == INPUT else text


def _snake(op: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", op).lower()


def _named(layers: list[_Layer]) -> list[WrittenLayer]:
    """Full names: a node alone in its module is named by the module's path; several nodes
    of one module, or nodes of a module that has submodules, are named ``<path>.<op>``
    (``layer1.0.add``), numbered from the second on (``relu_1``) as PyTorch numbers calls."""
    paths = [".".join(layer.scope) for layer in layers]
    count: dict[str, int] = {}
    for p in paths:
        count[p] = count.get(p, 0) + 1
    scopes = {".".join(layer.scope[:i]) for layer in layers for i in range(1, len(layer.scope))}
    names: list[str] = []
    taken: set[str] = set()
    seen: dict[str, int] = {}
    for layer, path in zip(layers, paths, strict=True):
        if path and count[path] == 1 and path not in scopes:
            base = path
        else:
            short = _snake(layer.op)
            base = f"{path}.{short}" if path else short
        n = seen.get(base, 0)
        name = base if n == 0 else f"{base}_{n}"
        while name in taken or name in scopes:
            n += 1
            name = f"{base}_{n}"
        seen[base] = n + 1
        taken.add(name)
        names.append(name)
    _flatten_reopened(names)
    out = []
    for i, (layer, name) in enumerate(zip(layers, names, strict=True)):
        refs = tuple(INPUT if j < 0 else names[j] for j in layer.inputs)
        inputs = None if refs == ((names[i - 1] if i else INPUT),) else refs
        args = {k: v for k, v in layer.args.items() if _DEFAULTS.get(k, _NONE) != v}
        if layer.type.startswith(("conv", "linear")):
            if args.get("bias") is True:
                del args["bias"]
            if args.get("stride") == 1:
                del args["stride"]
        out.append(WrittenLayer(name, layer.type, args, inputs))
    return out


_NONE = object()
# PyTorch's defaults, left out of the written file to keep it short ('stride' of a pooling
# layer is always written: its default there is the kernel size)
_DEFAULTS: dict[str, object] = {"dilation": 1, "groups": 1, "ceil_mode": False, "padding": 0}


def _flatten_reopened(names: list[str]) -> None:
    """A scope must be written in one piece: the layers of a scope that the order of nodes
    re-enters after leaving it are written at the top level, their dots turned to '_'."""
    closed: set[str] = set()
    open_: list[str] = []
    for i, name in enumerate(names):
        prefixes = [name[: m.start()] for m in re.finditer(r"\.", name)]
        if any(p in closed for p in prefixes):
            flat = name.replace(".", "_")
            while flat in names:
                flat += "_"
            names[i] = flat
            prefixes = []
        for p in open_:
            if p not in prefixes:
                closed.add(p)
        open_ = prefixes


def _ints(a: dict[str, Any], name: str, rank: int, default: int, count: int = 0) -> list[int]:
    """An attribute of one value per spatial axis (``count`` values, ``rank`` by default), or
    the default on each axis when it is absent."""
    value = a.get(name)
    if not value:
        return [default] * (count or rank)
    if len(value) != (count or rank):
        raise _InvalidError(
            f"'{name}' has {len(value)} values; {rank} spatial "
            f"{'axis takes' if rank == 1 else 'axes take'} {count or rank}"
        )
    return [int(v) for v in value]


def _axis(value: Any, rank: int, name: str = "axis", last: int = -1) -> int:
    """An axis attribute or operand checked as ONNX states it, -rank … rank + ``last``, as
    0 … rank + ``last`` (Flatten's axis may be the rank: ``last=0``)."""
    axis = int(value)
    if not -rank <= axis <= rank + last:
        raise _InvalidError(f"'{name}' is {axis}, out of the range {-rank} … {rank + last}")
    return axis + rank if axis < 0 else axis


def _axes(values: list[int]) -> int | list[int]:
    return values[0] if len(set(values)) == 1 else values


def _padding(node: Any, a: dict[str, Any], rank: int, shape: tuple[int, ...]) -> object:
    """ONNX pads [b1, b2, …, e1, e2, …] (or auto_pad) → rfcalc's padding argument."""
    auto = _text(a.get("auto_pad", "NOTSET"))
    if auto == "VALID":
        return 0
    if auto == "SAME_UPPER":
        return "same"
    if auto == "SAME_LOWER":
        raise _UnsupportedError("auto_pad SAME_LOWER")
    if auto != "NOTSET":
        raise _InvalidError(
            f"'auto_pad' is '{auto}', none of NOTSET, SAME_UPPER, SAME_LOWER and VALID"
        )
    pads = _ints(a, "pads", rank, 0, 2 * rank)
    before, after = pads[:rank], pads[rank:]
    if before == after:
        return _axes(before)
    return [[b, e] for b, e in zip(before, after, strict=True)]


def _tensor(v: _Value | None) -> _Tensor:
    if not isinstance(v, _Tensor):
        raise _UnsupportedError("a computed input where rfcalc expects one")
    return v


def _const(v: _Value | None) -> _Const:
    if not isinstance(v, _Const):
        raise _UnsupportedError("a computed operand where rfcalc expects a constant")
    return v


def _values(v: _Value | None) -> list[Any]:
    c = _const(v)
    if c.value is None:
        raise _UnsupportedError("a constant too large to read")
    return [x.item() for x in c.value.reshape(-1)]


# ---------------------------------------------------------------- operators

_Handler = Callable[[_Importer, Any, list[_Value | None]], None]
_HANDLERS: dict[str, _Handler] = {}


def _handles(*ops: str) -> Callable[[_Handler], _Handler]:
    def register(func: _Handler) -> _Handler:
        for op in ops:
            _HANDLERS[op] = func
        return func

    return register


def _conv_weight(node: Any, x: _Tensor, v: _Value | None, a: dict[str, Any]) -> _Const:
    """A convolution's weight, checked against its input: (out, in / group, *kernel) for
    Conv, (in, out / group, *kernel) for ConvTranspose; its kernel that of ``kernel_shape``.
    (Shape inference checks none of this for a weight computed by nodes, nor the channels.)"""
    w = _const(v)
    if len(x.shape) < 3 or len(w.shape) != len(x.shape):
        raise _InvalidError(
            f"its input has shape {list(x.shape)} and its weight {list(w.shape)}: both must "
            "have one rank, 3 or more (batch, channels and the spatial axes)"
        )
    group = int(a.get("group", 1))
    if group < 1:
        raise _InvalidError(f"'group' is {group}; it must be 1 or more")
    channels = w.shape[1] * group if node.op_type == "Conv" else w.shape[0]
    if channels != x.shape[1]:
        how = f"{w.shape[1]} per group × group {group}" if node.op_type == "Conv" else "its first"
        raise _InvalidError(
            f"its input has {x.shape[1]} channels, its weight {list(w.shape)} reads {channels} "
            f"({how})"
        )
    if "kernel_shape" in a and [int(k) for k in a["kernel_shape"]] != list(w.shape[2:]):
        raise _InvalidError(
            f"'kernel_shape' is {list(a['kernel_shape'])}, but its weight's kernel is "
            f"{list(w.shape[2:])}"
        )
    return w


@_handles("Conv")
def _conv(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    a = _attrs(node)
    x = _tensor(ins[0])
    w = _conv_weight(node, x, ins[1], a)
    rank = len(w.shape) - 2
    groups = int(a.get("group", 1))
    im.layer(
        node,
        f"conv{rank}d",
        {
            "out_channels": w.shape[0],
            "kernel_size": _axes(list(w.shape[2:])),
            "stride": _axes(_ints(a, "strides", rank, 1)),
            "padding": _padding(node, a, rank, x.shape),
            "dilation": _axes(_ints(a, "dilations", rank, 1)),
            "groups": groups,
            "bias": len(ins) > 2 and ins[2] is not None,
        },
        [x],
    )


@_handles("ConvTranspose")
def _conv_transpose(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    a = _attrs(node)
    x = _tensor(ins[0])
    w = _conv_weight(node, x, ins[1], a)
    rank = len(w.shape) - 2
    if "output_shape" in a:
        raise _UnsupportedError("output_shape")
    groups = int(a.get("group", 1))
    padding = _padding(node, a, rank, x.shape)
    if isinstance(padding, list | str):
        raise _UnsupportedError("uneven or automatic padding")
    im.layer(
        node,
        f"convtranspose{rank}d",
        {
            "out_channels": w.shape[1] * groups,
            "kernel_size": _axes(list(w.shape[2:])),
            "stride": _axes(_ints(a, "strides", rank, 1)),
            "padding": padding,
            "output_padding": _axes(_ints(a, "output_padding", rank, 0)),
            "dilation": _axes(_ints(a, "dilations", rank, 1)),
            "groups": groups,
            "bias": len(ins) > 2 and ins[2] is not None,
        },
        [x],
    )


@_handles("MaxPool", "AveragePool", "LpPool")
def _pool(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    if node.op_type == "LpPool":
        raise _UnsupportedError("")
    x = _tensor(ins[0])
    a = _attrs(node)
    kernel = [int(k) for k in a["kernel_shape"]]
    rank = len(kernel)
    kind = "maxpool" if node.op_type == "MaxPool" else "avgpool"
    if len(node.output) > 1 and node.output[1]:
        raise _UnsupportedError("the indices output")
    args: dict[str, object] = {
        "kernel_size": _axes(kernel),
        "stride": _axes(_ints(a, "strides", rank, 1)),
    }
    padding = _padding(node, a, rank, x.shape)
    if isinstance(padding, list):  # uneven: the extra first, as a pad layer
        pairs = [p if isinstance(p, list) else [p, p] for p in padding]
        even = [min(b, e) for b, e in pairs]
        extra: list[int] = []
        for (b, e), m in zip(reversed(pairs), reversed(even), strict=True):
            extra += [b - m, e - m]
        first = im._add(node, f"constantpad{rank}d", {"padding": extra}, [x], "Pad")
        x = _Tensor(first, x.shape)
        padding = _axes(even)
    args["padding"] = padding
    if kind == "maxpool":
        args["dilation"] = _axes(_ints(a, "dilations", rank, 1))
    args["ceil_mode"] = bool(a.get("ceil_mode", 0))
    im.layer(node, f"{kind}{rank}d", args, [x])


@_handles("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    kind = "adaptiveavgpool" if node.op_type == "GlobalAveragePool" else "adaptivemaxpool"
    im.layer(node, f"{kind}{len(x.shape) - 2}d", {"output_size": 1}, [x])


@_handles("ReduceMean", "ReduceMax")
def _reduce(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    a = _attrs(node)
    axes = a.get("axes") or (_values(ins[1]) if len(ins) > 1 and ins[1] is not None else None)
    rank = len(x.shape)
    spatial = list(range(2, rank))
    if axes is None or sorted(_axis(v, rank, "axes") for v in axes) != spatial or not spatial:
        raise _UnsupportedError("reduces other axes than all the spatial ones")
    mean = node.op_type == "ReduceMean"
    if a.get("keepdims", 1):
        kind = "adaptiveavgpool" if mean else "adaptivemaxpool"
        im.layer(node, f"{kind}{rank - 2}d", {"output_size": 1}, [x])
    else:
        kind = "globalavgpool" if mean else "globalmaxpool"
        im.layer(node, f"{kind}{rank - 2}d", {}, [x])


def _linear(im: _Importer, node: Any, x: _Tensor, out: int, bias: bool) -> None:
    im.layer(node, "linear", {"out_features": out, "bias": bias}, [x])


@_handles("Gemm")
def _gemm(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    a = _attrs(node)
    if a.get("transA", 0):
        raise _UnsupportedError("transA")
    x, w = _tensor(ins[0]), _const(ins[1])
    if len(w.shape) != 2:
        raise _InvalidError(f"its weight (B) has shape {list(w.shape)}; Gemm's B is 2-D")
    out = w.shape[0] if a.get("transB", 0) else w.shape[1]
    _linear(im, node, x, out, len(ins) > 2 and ins[2] is not None)


@_handles("MatMul")
def _matmul(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    if not isinstance(ins[1], _Const) or len(ins[1].shape) != 2:
        raise _UnsupportedError("a product of two computed tensors")
    _linear(im, node, _tensor(ins[0]), ins[1].shape[1], False)


@_handles("BatchNormalization")
def _batchnorm(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    rank = len(x.shape)
    im.layer(node, f"batchnorm{max(rank - 2, 1)}d", {}, [x])


@_handles("InstanceNormalization")
def _instancenorm(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    im.layer(node, f"instancenorm{len(x.shape) - 2}d", {"affine": True}, [x])


@_handles("LayerNormalization")
def _layernorm(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    axis = _axis(_attrs(node).get("axis", -1), len(x.shape))
    if axis == 0:
        raise _UnsupportedError("normalises over the batch")
    bias = len(ins) > 2 and ins[2] is not None
    im.layer(node, "layernorm", {"normalized_shape": list(x.shape[axis:]), "bias": bias}, [x])


@_handles("LRN")
def _lrn(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    im.layer(node, "localresponsenorm", {"size": int(_attrs(node)["size"])}, [_tensor(ins[0])])


_POINTWISE = {
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Elu": "elu",
    "Selu": "selu",
    "Softplus": "softplus",
    "HardSwish": "hardswish",
    "Mish": "mish",
    "Dropout": "dropout",
}


@_handles(*_POINTWISE)
def _pointwise(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    im.layer(node, _POINTWISE[node.op_type], {}, [_tensor(ins[0])])


@_handles("LeakyRelu")
def _leaky(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    slope = float(_attrs(node).get("alpha", 0.01))
    im.layer(node, "leakyrelu", {"negative_slope": slope}, [_tensor(ins[0])])


@_handles("HardSigmoid")
def _hardsigmoid(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    im.layer(node, "hardsigmoid", {}, [_tensor(ins[0])])


@_handles("Gelu")
def _gelu(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    approximate = _text(_attrs(node).get("approximate", "none"))
    im.layer(node, "gelu", {"approximate": approximate}, [_tensor(ins[0])])


@_handles("Softmax", "LogSoftmax")
def _softmax(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    dim = _axis(_attrs(node).get("axis", -1), len(x.shape))
    im.layer(node, node.op_type.lower(), {"dim": dim}, [x])


@_handles("PRelu")
def _prelu(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    slope = _const(ins[1])
    im.layer(node, "prelu", {"num_parameters": math.prod(slope.shape)}, [_tensor(ins[0])])


@_handles("Clip")
def _clip(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    a = _attrs(node)
    low = a.get("min", _values(ins[1])[0] if len(ins) > 1 and ins[1] is not None else None)
    high = a.get("max", _values(ins[2])[0] if len(ins) > 2 and ins[2] is not None else None)
    if low == 0 and high == 6:
        kind = "relu6"
    elif low == 0 and high is None:
        kind = "relu"
    else:
        raise _UnsupportedError(f"bounds {low}, {high} (rfcalc reads relu and relu6)")
    im.layer(node, kind, {}, [_tensor(ins[0])])


@_handles("Identity", "Cast")
def _identity(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    im.alias(node, _tensor(ins[0]))


@_handles("Expand")
def _expand(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    if im.shape_of(node) != x.shape:
        raise _UnsupportedError("a broadcast that changes the shape")
    im.alias(node, x)  # to the shape it has: the exporter's broadcast of a batch to itself


_MERGE = {"Add": "add", "Sub": "add", "Sum": "add", "Mul": "mul", "Div": "mul"}


@_handles(*_MERGE)
def _merge(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    """Two computed tensors: add or mul (Sub and Div count as they). A constant operand: a
    weight (a tensor of more than one element from an initializer) is a ``parameter`` layer
    merged in, so that its elements count; a literal (a scalar such as GELU's 0.5) changes
    no number and is passed over. A bias added to a linear layer without one becomes its
    bias (PyTorch's exporter writes Linear on 3-D input as MatMul then Add)."""
    kind = _MERGE[node.op_type]
    tensors: list[_Tensor] = []
    weights = 0
    for name, v in zip(node.input, ins, strict=True):
        if isinstance(v, _Tensor):
            tensors.append(v)
            continue
        c = _const(v)
        if not c.weight or math.prod(c.shape) <= 1:
            continue
        if kind == "add" and len(ins) == 2 and len(c.shape) == 1 and _bias_to_linear(im, node):
            return
        rank = len(im.shape_of(node))
        shape = (1,) * (rank - len(c.shape)) + c.shape  # broadcast to the full rank
        if shape[0] != 1:
            raise _UnsupportedError("a constant with a batch dimension")
        # named as the initializer's last part (PyTorch's 'layer_scale'), else 'weight'
        # (or an Identity's output of that name: exporters share equal initializers)
        torch_name = "." in name and not name.startswith("/")
        own = name.rsplit(".", 1)[-1] if torch_name else "weight"
        first = im._add(node, "parameter", {"shape": list(shape[1:])}, [], _clean(own))
        tensors.append(_Tensor(first, shape))
        weights += 1
    if len(tensors) == 1 and not weights:
        im.alias(node, tensors[0])
        return
    if (
        kind == "mul"
        and len(tensors) == 2
        and (_silu(im, node, tensors) or _gelu_erf(im, node, tensors))
    ):
        return
    im.layer(node, kind, {}, tensors)


def _silu(im: _Importer, node: Any, tensors: list[_Tensor]) -> bool:
    """``x * sigmoid(x)``, as exporters write SiLU: the sigmoid layer becomes a silu."""
    for gate, x in (tensors, tensors[::-1]):
        layer = im.layers[gate.layer] if gate.layer >= 0 else None
        if (
            layer is not None
            and layer.type == "sigmoid"
            and layer.inputs == (x.layer,)
            and im.uses_of_layer(gate.layer) == 1
        ):
            im.layers[gate.layer] = layer._replace(type="silu", op="Silu")
            im.alias(node, gate)
            return True
    return False


_ERF_ONLY = "rfcalc reads Erf only in GELU's x · (1 + erf(x / √2)) / 2"


@_handles("Erf")
def _erf(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    """An Erf is half of a GELU as torch.onnx writes nn.GELU before opset 20 (Div, Erf,
    Add, Mul, Mul): a layer kept aside until :func:`_gelu_erf` finds the Mul that closes
    the pattern, else an unmapped operator."""
    index = len(im.layers)
    im.layer(node, "erf", {}, [_tensor(ins[0])])
    im.erf[index] = _node_where(node, index)


def _gelu_erf(im: _Importer, node: Any, tensors: list[_Tensor]) -> bool:
    """``x · (1 + erf(x / √2))`` (the scalars, literals, are passed over): the Erf layer
    becomes a gelu, where the Erf was."""
    for gate, x in (tensors, tensors[::-1]):
        layer = im.layers[gate.layer] if gate.layer >= 0 else None
        if (
            layer is not None
            and gate.layer in im.erf
            and layer.inputs == (x.layer,)
            and im.read_once(gate.layer)
        ):
            im.layers[gate.layer] = layer._replace(type="gelu", op="Gelu")
            del im.erf[gate.layer]
            im.alias(node, gate)
            return True
    return False


def _bias_to_linear(im: _Importer, node: Any) -> bool:
    """Whether the Add of a constant vector is the bias of the linear layer it follows,
    which is then given its bias (PyTorch writes Linear on 3-D input as MatMul, Add)."""
    for name in node.input:
        x = im.values[name]
        if isinstance(x, _Tensor) and x.layer >= 0:
            producer = im.layers[x.layer]
            c = next(v for v in map(im.values.__getitem__, node.input) if isinstance(v, _Const))
            if (
                producer.type == "linear"
                and producer.op == "MatMul"
                and not producer.args["bias"]
                and producer.args["out_features"] == c.shape[0]
                and im.uses.get(name, 0) == 1
            ):
                producer.args["bias"] = True
                im.alias(node, _Tensor(x.layer, im.shape_of(node)))
                return True
    return False


@_handles("Concat")
def _concat(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    tensors = [_tensor(v) for v in ins]
    if len(tensors) == 1:  # torch.cat([x])
        im.alias(node, tensors[0])
        return
    dim = _axis(_attrs(node)["axis"], len(tensors[0].shape))
    im.layer(node, "concat", {"dim": dim}, tensors)


@_handles("Flatten")
def _flatten(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    axis = _axis(_attrs(node).get("axis", 1), len(x.shape), last=0)
    if axis == 1:
        im.layer(node, "flatten", {}, [x])
    else:
        _reshape(im, node, ins)


@_handles("Reshape", "Squeeze", "Unsqueeze")
def _reshape(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    out = im.shape_of(node)
    if not out or out[0] != x.shape[0]:
        raise _UnsupportedError("changes the batch dimension")
    if out == x.shape:
        im.alias(node, x)
        return
    im.layer(node, "reshape", {"shape": list(out[1:])}, [x])


@_handles("Transpose")
def _transpose(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    perm = [int(p) for p in _attrs(node).get("perm", range(len(x.shape) - 1, -1, -1))]
    if perm[0] != 0:
        raise _UnsupportedError("moves the batch dimension")
    if not _layernorm2d(im, node, x, perm):
        im.layer(node, "permute", {"dims": perm}, [x])


def _layernorm2d(im: _Importer, node: Any, x: _Tensor, perm: list[int]) -> bool:
    """Channels last, layer norm over the channels, channels first again (how PyTorch
    exports torchvision's LayerNorm2d): one layernorm2d, where the first permute was."""
    if perm != [0, 3, 1, 2] or x.layer < 0:
        return False
    norm = im.layers[x.layer]
    if norm.type != "layernorm" or len(norm.args["normalized_shape"]) != 1:  # type: ignore[arg-type]
        return False
    first = norm.inputs[0]
    before = im.layers[first] if first >= 0 else None
    if before is None or before.type != "permute" or before.args["dims"] != [0, 2, 3, 1]:
        return False
    if im.uses_of_layer(first) != 1 or im.uses_of_layer(x.layer) != 1:
        return False
    args = {"bias": norm.args["bias"]}
    im.layers[first] = before._replace(type="layernorm2d", op="LayerNorm", args=args)
    im.dropped.add(x.layer)
    im.alias(node, _Tensor(first, im.shape_of(node)))
    return True


@_handles("Resize", "Upsample")
def _resize(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    out = im.shape_of(node)
    if out[:2] != x.shape[:2]:
        raise _UnsupportedError("resizes the batch or the channels")
    rank = len(x.shape) - 2
    mode = _text(_attrs(node).get("mode", "nearest"))
    modes = {
        "nearest": "nearest",
        "cubic": "bicubic",
        "linear": ("linear", "bilinear", "trilinear")[rank - 1],
    }
    if mode not in modes or rank not in (1, 2, 3):
        raise _UnsupportedError(f"mode {mode}")
    sizes, spatial = list(out[2:]), list(x.shape[2:])
    if all(o % i == 0 for o, i in zip(sizes, spatial, strict=True)):
        factors = [o // i for o, i in zip(sizes, spatial, strict=True)]
        args: dict[str, object] = {"scale_factor": _axes(factors)}
    else:
        args = {"size": _axes(sizes)}
    args["mode"] = modes[mode]
    im.layer(node, "upsample", args, [x])


@_handles("Pad")
def _pad(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    a = _attrs(node)
    pads = a.get("pads") or _values(ins[1])
    rank = len(x.shape)
    if len(ins) > 3 and ins[3] is not None:
        axes = [_axis(v, rank, "axes") for v in _values(ins[3])]
    else:
        axes = list(range(rank))
    if len(pads) != 2 * len(axes):
        raise _InvalidError(f"'pads' has {len(pads)} values; {len(axes)} axes take {2 * len(axes)}")
    before = dict(zip(axes, pads[: len(axes)], strict=True))
    after = dict(zip(axes, pads[len(axes) :], strict=True))
    if any(before.get(d, 0) or after.get(d, 0) for d in (0, 1)):
        raise _UnsupportedError("pads the batch or the channels")
    torch_order: list[int] = []
    for d in range(rank - 1, 1, -1):
        torch_order += [int(before.get(d, 0)), int(after.get(d, 0))]
    mode = _text(a.get("mode", "constant"))
    kinds = {"constant": "constantpad", "reflect": "reflectionpad", "edge": "replicationpad"}
    if mode not in kinds:
        raise _UnsupportedError(f"mode {mode}")
    im.layer(node, f"{kinds[mode]}{rank - 2}d", {"padding": torch_order}, [x])


@_handles("Split")
def _split(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    dim = _axis(_attrs(node).get("axis", 0), len(x.shape))
    sizes = [im.shape_of(node, i)[dim] for i in range(len(node.output))]
    for i in range(len(node.output)):
        layer = im._add(
            node, "split", {"split_size_or_sections": sizes, "dim": dim, "index": i}, [x]
        )
        im._out(node, layer, i)


@_handles("Slice")
def _slice(im: _Importer, node: Any, ins: list[_Value | None]) -> None:
    x = _tensor(ins[0])
    out = im.shape_of(node)
    changed = [d for d in range(len(x.shape)) if out[d] != x.shape[d]]
    if len(changed) != 1 or changed[0] == 0:
        raise _UnsupportedError("slices more than one dimension, or the batch")
    dim = changed[0]
    rank = len(x.shape)
    axes = (
        [_axis(v, rank, "axes") for v in _values(ins[3])]
        if len(ins) > 3 and ins[3] is not None
        else list(range(rank))
    )
    steps = _values(ins[4]) if len(ins) > 4 and ins[4] is not None else [1] * len(axes)
    position = axes.index(dim)
    if steps[position] != 1:
        raise _UnsupportedError("a step other than 1")
    start = int(_values(ins[1])[position])
    start = max(0, min(start + x.shape[dim] if start < 0 else start, x.shape[dim]))
    im.layer(node, "narrow", {"dim": dim, "start": start, "length": out[dim]}, [x])
