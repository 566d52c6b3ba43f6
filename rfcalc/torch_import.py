"""`rfcalc convert --torch SPEC`: a PyTorch module → a readable rfcalc model file.

Needs torch; nothing here imports it at module level, so that `import rfcalc` never does.

How it works (docs/importers_torch.md): the model is run once on a zero input, one module at
a time. Each module's own ``forward`` is traced with ``torch.fx`` with its children as opaque
calls, then evaluated node by node on concrete tensors; a child call recurses into the child.
So the file follows the module tree:

- a module whose class name is an rfcalc layer type (``nn.Conv2d`` → ``conv2d``,
  torchvision's ``Permute`` → ``permute``) is a layer, its arguments read from the module's
  attributes of the same names (those equal to rfcalc's defaults left out);
- a custom module with one tensor in and one out is an instance of a block named after its
  class; instances whose bodies are identical share one block (``Bottleneck``,
  ``Bottleneck_1``, … for the variants);
- any other module (``nn.Sequential``, a module taking a list) is a nested ``layers:`` list
  under its attribute name;
- the functional steps of ``forward`` (``torch.flatten``, ``F.relu``, ``+``, ``torch.cat``,
  ``x.mean((2, 3))``, …) are layers named as rfcalc names unnamed layers (``add_0``);
- a learned tensor read in ``forward`` (ConvNeXt's ``layer_scale``) is a ``parameter`` layer.

The document is plain data (dicts and lists) that :func:`rfcalc.writer.write_document`
writes, the importers' one writer.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import operator
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rfcalc.errors import InputError
from rfcalc.writer import write_document

INSTALL_HINT = "install PyTorch: pip install torch (and torchvision for its models)"

Shape = tuple[int, ...]
Doc = dict[str, Any]

# arguments rfcalc infers from the input: left out, as the examples leave them out
_INFERRED = frozenset({"in_channels", "in_features", "num_features", "num_channels"})
# containers: never a block, always a nested list
_CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})


def import_torch() -> Any:
    """torch, or an error with the install hint."""
    try:
        import torch
    except ImportError:
        raise InputError(
            "convert --torch needs PyTorch, which is not installed", None, INSTALL_HINT
        ) from None
    return torch


# ------------------------------------------------------------------------------ the spec


def load_model(spec: str) -> Any:
    """``module:attr`` or ``path/to/file.py:attr``: import the module (or run the file) and
    call ``attr()``, a class or a factory, with no arguments."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise InputError(
            f"--torch {spec}: expected MODULE:ATTR or FILE.py:ATTR",
            None,
            "e.g. --torch torchvision.models:resnet50 or --torch net.py:MyNet",
        )
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise InputError(f"--torch {spec}: no such file {where}")
        name = f"_rfcalc_convert_{path.stem}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise InputError(f"--torch {spec}: cannot import {where}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        sys.path.insert(0, str(path.resolve().parent))
        try:
            loader_spec.loader.exec_module(module)
        except Exception as exc:
            raise InputError(
                f"--torch {spec}: importing {where} failed: {_first_line(exc)}"
            ) from None
        finally:
            sys.path.pop(0)
    else:
        try:
            module = importlib.import_module(where)
        except Exception as exc:
            raise InputError(f"--torch {spec}: cannot import {where}: {_first_line(exc)}") from None
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise InputError(f"--torch {spec}: {where} has no callable '{attr}'")
    try:
        model = factory()
    except Exception as exc:
        raise InputError(f"--torch {spec}: {attr}() failed: {_first_line(exc)}") from None
    torch = import_torch()
    if not isinstance(model, torch.nn.Module):
        raise InputError(
            f"--torch {spec}: {attr}() returned {type(model).__name__}, not a torch.nn.Module"
        )
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


# ------------------------------------------------------------------------------ refs and scopes


@dataclass(eq=False)
class Scope:
    """One list of layers being written: the model's, a block's, or a nested list's."""

    kind: str  # "model", "block" or "nested"
    prefix: str  # the full name of the scope ("" for the model, the instance's for a block)
    parent: Scope | None
    input_ref: Ref | None = None
    entries: list[Doc] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    called: set[str] = field(default_factory=set)
    last: Ref | None = None

    def full(self, local: str) -> str:
        return f"{self.prefix}.{local}" if self.prefix else local


@dataclass(eq=False)
class Ref:
    """A tensor as a `from` can name it: a layer (or scope) ``local`` of ``scope``."""

    scope: Scope | None  # None: the input of the block or model it stands for
    local: str
    full: str


@dataclass
class Value:
    """A concrete value of the trace, with the layer that made it (tensors only)."""

    value: Any
    ref: Ref | None = None


@dataclass
class Pending:
    """A learned tensor read by forward: written as a `parameter` layer at its first use."""

    name: str
    tensor: Any
    ref: Ref | None = None


class ConvertError(InputError):
    pass


def _unmapped(what: str, where: str, hint: str | None = None) -> ConvertError:
    at = f"'{where}'" if where else "the model's forward"
    return ConvertError(f"cannot convert {what} at {at}", None, hint)


# ------------------------------------------------------------------------------ the converter


class Converter:
    def __init__(self, torch: Any, model: Any, input_shape: Shape):
        from rfcalc.layers import REGISTRY, canonical, lookup

        self.torch = torch
        self.model = model
        self.input_shape = input_shape
        self.registry = REGISTRY
        self.canonical = canonical
        self.lookup = lookup
        self.blocks: dict[str, Doc] = {}  # name → definition, in order of first use
        self.block_keys: dict[str, str] = {}  # body (JSON) → name

    # -- driving

    def run(self) -> Doc:
        torch = self.torch
        model = self.model.eval()
        top = Scope("model", "", None)
        top.input_ref = Ref(None, "input", "input")
        top.last = top.input_ref
        x = torch.zeros(1, *self.input_shape)
        with torch.no_grad():
            out = self.module_body(model, "", top, [Value(x, top.input_ref)])
        self.check_output(out, top, "")
        doc: Doc = {"input": list(self.input_shape)}
        if self.blocks:
            doc["blocks"] = self.blocks
        doc["layers"] = top.entries
        return doc

    def check_output(self, out: Value, scope: Scope, where: str) -> None:
        if out.ref is None or not isinstance(out.value, self.torch.Tensor):
            raise _unmapped("a forward that does not return one tensor", where)
        if out.ref is not scope.last:
            raise _unmapped(
                "a forward whose result is not its last step",
                where,
                "rfcalc takes a list's last layer as its output",
            )

    def trace(self, module: Any, where: str) -> Any:
        fx = self.torch.fx

        class Shallow(fx.Tracer):  # type: ignore[misc,name-defined]
            def is_leaf_module(self, m: Any, qualname: str) -> bool:
                return m is not module

        try:
            return Shallow().trace(module)
        except Exception as exc:
            raise _unmapped(
                f"{_cls(module)} (torch.fx cannot trace its forward: {_first_line(exc)})",
                where,
                "control flow on tensor values cannot be traced; write that part by hand",
            ) from None

    def module_body(self, module: Any, where: str, scope: Scope, args: list[Value]) -> Value:
        """Trace ``module``'s forward and write its steps into ``scope``; its output."""
        graph = self.trace(module, where)
        env: dict[Any, Value | Pending] = {}
        placeholders = iter(args)
        output: Value | None = None
        for node in graph.nodes:
            if node.op == "placeholder":
                given = next(placeholders, None)
                if given is None:
                    default = node.args[0] if node.args else None
                    env[node] = Value(default)
                else:
                    env[node] = given
            elif node.op == "get_attr":
                env[node] = Pending(node.target, _attr(module, node.target))
            elif node.op == "output":
                output = self.resolve(node.args[0], env, scope, where)
            else:
                env[node] = self.step(node, module, where, scope, env)
        assert output is not None
        return self.uncalled(module, where, scope, output)

    def uncalled(self, module: Any, where: str, scope: Scope, output: Value) -> Value:
        """The children of the dropout family (identity at inference: Dropout,
        StochasticDepth, …) that ``forward`` never called, after its last step: torchvision's
        MBConv builds ``stochastic_depth`` in every block but calls it only before a
        residual add, and the library's MBConv lists it in every block (docs/importers_torch.md)."""
        if output.ref is None or output.ref is not scope.last:
            return output  # check_output reports it
        for attr, child in module.named_children():
            kind = self.lookup(type(child).__name__)
            if attr in scope.called or kind is None or kind.family != "dropout":
                continue
            scope.called.add(attr)
            entry = {"type": kind.name, **self.module_args(child, kind, _join(where, attr))}
            output = Value(output.value, self.add_layer(scope, entry, [output], attr))
        return output

    def resolve(self, arg: Any, env: dict[Any, Value | Pending], scope: Scope, where: str) -> Value:
        """An fx argument → a Value; a pending parameter is written now, at its first use.
        Lists and tuples of values become a Value holding a list of Values."""
        fx = self.torch.fx
        if isinstance(arg, fx.Node):
            got = env[arg]
            if isinstance(got, Pending):
                if got.ref is None:
                    got.ref = self.parameter(got, scope, where)
                return Value(got.tensor, got.ref)
            return got
        if isinstance(arg, (list, tuple)):
            items = [self.resolve(a, env, scope, where) for a in arg]
            return Value(type(arg)(items))
        if isinstance(arg, dict):
            return Value({k: self.resolve(v, env, scope, where) for k, v in arg.items()})
        return Value(arg)

    def parameter(self, p: Pending, scope: Scope, where: str) -> Ref:
        if "." in p.name:
            raise _unmapped(f"a tensor of a submodule read directly ('{p.name}')", where)
        if not isinstance(p.tensor, self.torch.nn.Parameter):
            raise _unmapped(f"a constant tensor '{p.name}' (a buffer)", _join(where, p.name))
        return self.add_layer(
            scope, {"type": "parameter", "shape": list(p.tensor.shape)}, [], p.name
        )

    # -- one step of a forward

    def step(
        self, node: Any, module: Any, where: str, scope: Scope, env: dict[Any, Value | Pending]
    ) -> Value:
        args = [self.resolve(a, env, scope, where) for a in node.args]
        kwargs = {k: self.resolve(v, env, scope, where) for k, v in node.kwargs.items()}
        if node.op == "call_module":
            child = _attr(module, node.target)
            return self.call_module(
                child, node.target, _join(where, node.target), scope, args, kwargs
            )
        concrete = [_concrete(a) for a in args]
        kw = {k: _concrete(v) for k, v in kwargs.items()}
        if node.op == "call_method":
            result = getattr(concrete[0], node.target)(*concrete[1:], **kw)
            what = f"Tensor.{node.target}"
        else:
            result = node.target(*concrete, **kw)
            what = _function_name(node.target)
        return self.functional(node, what, args, kwargs, result, scope, where)

    def call_module(
        self,
        child: Any,
        attr: str,
        where: str,
        scope: Scope,
        args: list[Value],
        kwargs: dict[str, Value],
    ) -> Value:
        if "." in attr:
            raise _unmapped(
                f"a call of a grandchild module '{attr}'", where, "call the child module instead"
            )
        cls = type(child).__name__
        kind = None if cls in _CONTAINERS else self.lookup(cls)
        if kind is not None:  # a layer
            inputs = [a for a in args if isinstance(a.value, self.torch.Tensor)]
            if kwargs or len(inputs) != len(args):
                raise _unmapped(f"{_cls(child)} called with non-tensor arguments", where)
            entry = {"type": kind.name, **self.module_args(child, kind, where)}
            with self.torch.no_grad():
                result = child(*[a.value for a in args])
            first = attr not in scope.called
            scope.called.add(attr)
            ref = self.add_layer(scope, entry, inputs, attr if first else None)
            return Value(result, ref)
        if cls not in _CONTAINERS and type(child).__module__.startswith("torch.nn"):
            raise _unmapped(
                f"{_cls(child)}: no rfcalc layer type", where, "`rfcalc layers` lists them"
            )
        if kwargs:
            raise _unmapped(f"{_cls(child)} called with keyword arguments", where)
        if attr in scope.called:
            raise _unmapped(
                f"a second call of {_cls(child)}", where, "rfcalc names each scope once"
            )
        scope.called.add(attr)
        single = len(args) == 1 and isinstance(args[0].value, self.torch.Tensor)
        if single and cls not in _CONTAINERS:
            return self.block_instance(child, attr, where, scope, args[0])
        return self.nested(child, attr, where, scope, args)

    def block_instance(self, child: Any, attr: str, where: str, scope: Scope, arg: Value) -> Value:
        inner = Scope("block", scope.full(attr), None)
        inner.input_ref = Ref(None, "input", "input")
        inner.last = inner.input_ref
        out = self.module_body(child, where, inner, [Value(arg.value, inner.input_ref)])
        self.check_output(out, inner, where)
        name = self.block_name(type(child).__name__, {"layers": inner.entries})
        ref = self.add_layer(scope, {"type": name}, [arg], attr)
        return Value(out.value, ref)

    def block_name(self, cls: str, body: Doc) -> str:
        key = json.dumps(body, sort_keys=True)
        if key not in self.block_keys:
            taken = {n for n in self.blocks if n == cls or n.startswith(f"{cls}_")}
            name = cls if not taken else f"{cls}_{len(taken)}"
            while self.lookup(name) is not None or name in self.blocks:
                name = f"{name}_"
            self.block_keys[key] = name
            self.blocks[name] = body
        return self.block_keys[key]

    def nested(self, child: Any, attr: str, where: str, scope: Scope, args: list[Value]) -> Value:
        tensors = [v for a in args for v in _flat(a) if v.ref is not None]
        if not tensors:
            raise _unmapped(f"{_cls(child)} called without a tensor", where)
        inner = Scope("nested", scope.full(attr), scope, tensors[0].ref)
        inner.last = inner.input_ref
        entry: Doc = {"name": _name(attr)}
        self.set_from(scope, entry, [tensors[0]])
        scope.entries.append(entry)  # filled below: its layers come in order
        scope.names.add(attr)
        out = self.module_body(child, where, inner, args)
        self.check_output(out, inner, where)
        entry["layers"] = _repeats(inner.entries, self.blocks)
        ref = Ref(scope, attr, scope.full(attr))
        scope.last = ref
        return Value(out.value, ref)

    # -- layers

    def add_layer(self, scope: Scope, entry: Doc, inputs: Sequence[Value], name: str | None) -> Ref:
        """Append a layer; ``name`` None: named as rfcalc names an unnamed layer."""
        if name is None:
            kind = entry["type"]
            n = scope.counts.get(kind, 0)
            scope.counts[kind] = n + 1
            name = f"{kind}_{n}"
            explicit = scope.kind == "nested"  # a nested list numbers unnamed layers by position
        else:
            explicit = True
        out: Doc = {"name": _name(name)} if explicit else {}
        out.update(entry)
        self.set_from(scope, out, inputs)
        if "from" in out:  # `from` after the name and type, before the arguments
            out = {k: out[k] for k in ("name", "type", "from") if k in out} | out
        scope.entries.append(out)
        scope.names.add(name)
        ref = Ref(scope, name, scope.full(name))
        scope.last = ref
        return ref

    def set_from(self, scope: Scope, entry: Doc, inputs: Sequence[Value]) -> None:
        refs = [v.ref for v in inputs if v.ref is not None]
        if len(refs) == 1 and refs[0] is scope.last:
            return
        if entry.get("type") == "parameter":
            return
        names = [self.name_of(r, scope) for r in refs]
        entry["from"] = names[0] if len(names) == 1 else names

    def name_of(self, ref: Ref, scope: Scope) -> str:
        """How ``scope`` names ``ref`` in a `from`."""
        if ref is scope.input_ref:
            return "input"
        s: Scope | None = scope
        shadowed: set[str] = set()
        while s is not None:
            if ref.scope is s:
                return ref.local if ref.local not in shadowed else ref.full
            if s.input_ref is ref and s is not scope:
                break
            shadowed |= s.names
            s = s.parent
        if ref.scope is None or _in_block(scope):
            raise _unmapped(
                f"a reference to '{ref.full}' from inside '{scope.prefix}'",
                scope.prefix,
                "a nested list reads its own input, names in its lists, or full names",
            )
        return ref.full

    def module_args(self, module: Any, kind: Any, where: str) -> Doc:
        """The layer's arguments from the module's attributes of the same names."""
        from rfcalc.layers.base import T

        out: Doc = {}
        for arg in kind.args:
            if arg.type is T.IGNORED or arg.name in _INFERRED:
                continue
            if kind.name == "layernorm2d" and arg.name == "normalized_shape":
                continue
            if not hasattr(module, arg.name):
                if arg.required:
                    raise _unmapped(
                        f"{_cls(module)} (no attribute '{arg.name}' for {kind.name})", where
                    )
                continue
            value = _plain(getattr(module, arg.name), arg.name, self.torch)
            if arg.type in (T.PER_AXIS, T.INT_LIST, T.PADDING, T.SIZE_LIST, T.SCALE):
                value = _collapse(value)
            if not arg.required and _collapse(_plain(arg.default, arg.name, self.torch)) == value:
                continue
            out[arg.name] = value
        return out

    # -- functional steps

    def functional(
        self,
        node: Any,
        what: str,
        args: list[Value],
        kwargs: dict[str, Value],
        result: Any,
        scope: Scope,
        where: str,
    ) -> Value:
        torch = self.torch
        tensors = [v for a in args for v in _flat(a) if v.ref is not None]
        tensors += [v for a in kwargs.values() for v in _flat(a) if v.ref is not None]
        if not tensors:  # shape arithmetic: x.size(0), x.shape, …
            return Value(result)
        name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
        x = tensors[0].value
        rank = x.dim() if isinstance(x, torch.Tensor) else 0
        # a tuple of pieces (torch.chunk, torch.split): the layer is made by getitem
        if isinstance(result, (tuple, list)) and name in ("chunk", "split"):
            return Value(_Pieces(name, args, kwargs, rank), tensors[0].ref)
        if node.target is operator.getitem and isinstance(args[0].value, _Pieces):
            pieces = args[0].value
            index = _concrete(args[1])
            ref = self.add_layer(scope, pieces.entry(index), [Value(x, args[0].ref)], None)
            return Value(result, ref)
        entry = self.function_layer(name, what, args, kwargs, x, rank, result, where)
        if entry is None:  # an alias: the same tensor, no layer
            return Value(result, tensors[0].ref)
        return Value(result, self.add_layer(scope, entry, tensors, None))

    def function_layer(
        self,
        name: str,
        what: str,
        args: list[Value],
        kwargs: dict[str, Value],
        x: Any,
        rank: int,
        result: Any,
        where: str,
    ) -> Doc | None:
        torch = self.torch
        pos = [_concrete(a) for a in args]
        kw = {k: _concrete(v) for k, v in kwargs.items()}

        def arg(i: int, key: str, default: Any = None) -> Any:
            return pos[i] if len(pos) > i else kw.get(key, default)

        n_tensors = sum(isinstance(p, torch.Tensor) for p in pos) + sum(
            isinstance(v, torch.Tensor) for v in kw.values()
        )
        base = name.rstrip("_")
        if base in ("add", "iadd", "mul", "imul") and n_tensors == 2 and len(pos) == 2:
            return {"type": "add" if "add" in base else "mul"}
        if base in ("contiguous", "clone", "detach", "float", "to", "type_as"):
            return None
        if base in ("cat", "concat", "concatenate"):
            if len(pos[0]) == 1:  # one tensor: itself
                return None
            dim = arg(1, "dim", 0) % result.dim()
            return {"type": "concat"} | ({} if dim == 1 else {"dim": dim})
        if base == "flatten":
            start = arg(1, "start_dim", 0) % rank
            end = arg(2, "end_dim", -1)
            out: Doc = {"type": "flatten"}
            if start != 1:
                out["start_dim"] = start
            if end % rank != rank - 1:
                out["end_dim"] = end
            return out
        if base in ("view", "reshape") and isinstance(result, torch.Tensor):
            if result.dim() == 2 and rank > 2:
                return {"type": "flatten"}
            return {"type": "reshape", "shape": list(result.shape[1:])}
        if base == "permute":
            dims = pos[1:] if len(pos) > 2 else arg(1, "dims")
            return {"type": "permute", "dims": [int(d) % rank for d in dims]}
        if base == "transpose":
            return {
                "type": "transpose",
                "dim0": arg(1, "dim0") % rank,
                "dim1": arg(2, "dim1") % rank,
            }
        if base == "mean" and n_tensors == 1:
            dims = arg(1, "dim")
            dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
            if sorted(d % rank for d in dims) == list(range(2, rank)) and 3 <= rank <= 5:
                keep = bool(arg(2, "keepdim", False))
                return {"type": f"globalavgpool{rank - 2}d"} | ({"keepdims": True} if keep else {})
        if base in (
            "adaptive_avg_pool1d",
            "adaptive_avg_pool2d",
            "adaptive_avg_pool3d",
            "adaptive_max_pool1d",
            "adaptive_max_pool2d",
            "adaptive_max_pool3d",
        ):
            kind = "adaptive" + base.split("_")[1] + "pool" + base[-2:]
            return {
                "type": kind,
                "output_size": _collapse(_plain(arg(1, "output_size"), "", torch)),
            }
        if base in (
            "max_pool1d",
            "max_pool2d",
            "max_pool3d",
            "avg_pool1d",
            "avg_pool2d",
            "avg_pool3d",
        ):
            kind = base.replace("_", "")
            out = {"type": kind, "kernel_size": _collapse(_plain(arg(1, "kernel_size"), "", torch))}
            stride = arg(2, "stride")
            if stride not in (None, [], ()):
                out["stride"] = _collapse(_plain(stride, "", torch))
            padding = _collapse(_plain(arg(3, "padding", 0), "", torch))
            if padding != 0:
                out["padding"] = padding
            return out
        if base == "dropout":
            return {"type": "dropout"} | (
                {"p": arg(1, "p", 0.5)} if arg(1, "p", 0.5) != 0.5 else {}
            )
        activations = {
            "relu": "relu",
            "relu6": "relu6",
            "gelu": "gelu",
            "silu": "silu",
            "sigmoid": "sigmoid",
            "tanh": "tanh",
            "hardswish": "hardswish",
            "hardsigmoid": "hardsigmoid",
            "elu": "elu",
            "selu": "selu",
            "mish": "mish",
            "softplus": "softplus",
            "leaky_relu": "leakyrelu",
        }
        if base in activations and n_tensors == 1:
            return {"type": activations[base]}
        if base in ("softmax", "log_softmax") and n_tensors == 1:
            dim = arg(1, "dim")
            return {"type": base.replace("_", ""), "dim": int(dim) % rank}
        raise _unmapped(
            f"the function {what}", where, "rewrite it with modules or supported functions"
        )


@dataclass
class _Pieces:
    """The tuple torch.chunk or torch.split made: each piece taken is a layer."""

    op: str
    args: list[Value]
    kwargs: dict[str, Value]
    rank: int

    def entry(self, index: int) -> Doc:
        pos = [_concrete(a) for a in self.args]
        kw = {k: _concrete(v) for k, v in self.kwargs.items()}
        size = pos[1] if len(pos) > 1 else kw.get("chunks", kw.get("split_size_or_sections"))
        dim = (pos[2] if len(pos) > 2 else kw.get("dim", 0)) % self.rank
        key = "chunks" if self.op == "chunk" else "split_size_or_sections"
        size = list(size) if isinstance(size, (list, tuple)) else size
        return {"type": self.op, key: size, "dim": dim, "index": index}


# ------------------------------------------------------------------------------ small helpers


def _repeats(entries: list[Doc], blocks: dict[str, Doc]) -> list[Doc]:
    """In a list whose layers are all named by their positions (an nn.Sequential's), runs of
    the same block, each reading the one before, as one unnamed ``repeat``: it takes the same
    positions (docs/format.md, nested layers)."""
    if not all(e.get("name") == str(i) for i, e in enumerate(entries)):
        return entries
    out: list[Doc] = []
    for e in entries:
        plain = set(e) == {"name", "type"}
        prev = out[-1] if out else None
        if (
            plain
            and prev is not None
            and set(prev) - {"repeat"} == {"type"}
            and prev["type"] == e["type"]
        ):
            prev["repeat"] = prev.get("repeat", 1) + 1
        elif plain and e["type"] in blocks:
            out.append({"type": e["type"]})
        else:
            out.append(e)
    # a lone block instance keeps its name
    return [
        e if "repeat" in e or "name" in e else {"name": str(_position(out, e)), **e} for e in out
    ]


def _position(entries: list[Doc], entry: Doc) -> int:
    i = 0
    for e in entries:
        if e is entry:
            return i
        i += e.get("repeat", 1)
    raise AssertionError(entry)


def _attr(module: Any, target: str) -> Any:
    for part in target.split("."):
        module = getattr(module, part)
    return module


def _join(where: str, attr: str) -> str:
    return f"{where}.{attr}" if where else attr


def _cls(obj: Any) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _function_name(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None) or ""
    module = {"_operator": "operator", "torch._C._nn": "torch.nn.functional"}.get(module, module)
    return f"{module}.{getattr(fn, '__name__', repr(fn))}".lstrip(".")


def _in_block(scope: Scope) -> bool:
    s: Scope | None = scope
    while s is not None:
        if s.kind == "block":
            return True
        s = s.parent
    return False


def _flat(v: Value) -> list[Value]:
    if isinstance(v.value, (list, tuple)) and not isinstance(v.value, _Pieces):
        return [w for item in v.value if isinstance(item, Value) for w in _flat(item)]
    if isinstance(v.value, dict):
        return [w for item in v.value.values() for w in _flat(item)]
    return [v]


def _concrete(v: Any) -> Any:
    if isinstance(v, Value):
        v = v.value
    if isinstance(v, (list, tuple)) and not isinstance(v, _Pieces):
        return type(v)(_concrete(x) for x in v)
    if isinstance(v, dict):
        return {k: _concrete(x) for k, x in v.items()}
    return v


def _name(name: str) -> str | int:
    return name


def _plain(value: Any, arg: str, torch: Any) -> Any:
    """A module attribute as a YAML value: a tensor (a bias) is whether it exists, tuples
    are lists, floats that are integers stay floats."""
    if arg == "bias" and (value is None or isinstance(value, torch.Tensor)):
        return value is not None
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [_plain(v, "", torch) for v in value]
    if isinstance(value, torch.Size):
        return list(value)
    return value


def _collapse(value: Any) -> Any:
    """[3, 3] → 3, as the examples write a square kernel; [96] → 96."""
    if isinstance(value, list) and value and all(v == value[0] and type(v) is int for v in value):
        return value[0]
    return value


# ------------------------------------------------------------------------------ the entry point


def convert(spec: str, input_shape: Shape) -> str:
    """``rfcalc convert --torch SPEC``: the model file's text."""
    from rfcalc.build import check_input_shape
    from rfcalc.errors import RfcalcError

    shape = check_input_shape(input_shape, None, "--input")
    torch = import_torch()
    model = load_model(spec)
    try:
        doc = Converter(torch, model, shape).run()
    except RfcalcError:
        raise
    except Exception as exc:
        raise InputError(
            f"--torch {spec}: running the model on a zero input of shape "
            f"{','.join(map(str, shape))} failed: {_first_line(exc)}",
            None,
            "give the model's input shape with --input",
        ) from None
    header = "\n".join(
        (
            f"Converted by rfcalc convert --torch '{spec}' --input {','.join(map(str, shape))}",
            f"from {_cls(model)} with torch {torch.__version__}: torch.fx traced each module's "
            "forward",
            "with its submodules as calls; names are PyTorch's module names.",
        )
    )
    return write_document(doc["input"], doc["layers"], blocks=doc.get("blocks"), header=header)
