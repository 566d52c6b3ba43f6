"""Test-side translator: an rfcalc Graph → a torch.nn.Module running the same graph.

mode "exact": the real layers (for shapes, params, buffers, MACs).
mode "rf": the same graph made to expose structural dependencies through gradients: float64,
positive constant weights, zero biases, batch norm as identity (eval mode), and average
pooling (or a depthwise all-ones convolution) in place of max/min pooling.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention
from torch import nn

from rfcalc.build import INPUT, Graph, Node


def _pad_tuple(pairs: list[tuple[int, int]]) -> tuple[int, ...]:
    """(before, after) per axis → F.pad's order, last axis first."""
    out: list[int] = []
    for before, after in reversed(pairs):
        out += [before, after]
    return tuple(out)


def _padding(
    node: Node, rank: int, sizes: tuple[int, ...]
) -> tuple[str | tuple[int, ...], list[tuple[int, int]] | None]:
    """Torch padding for a conv/pool, or explicit (before, after) pairs to pad first."""
    value = node.args["padding"]
    if value == "valid":
        return (0,) * rank, None
    if isinstance(value, int):
        return (value,) * rank, None
    if value == "same":
        k = _axes(node.args["kernel_size"], rank)
        s = _axes(node.args.get("stride") or node.args["kernel_size"], rank)
        d = _axes(node.args.get("dilation", 1), rank)
        pairs = []
        for n, kk, ss, dd in zip(sizes, k, s, d, strict=True):
            out = -(-n // ss)
            total = max((out - 1) * ss + dd * (kk - 1) + 1 - n, 0)
            pairs.append((total // 2, total - total // 2))
        return (0,) * rank, pairs
    assert isinstance(value, tuple)
    if all(isinstance(v, int) for v in value):
        return tuple(int(v) for v in value), None
    return (0,) * rank, [(v, v) if isinstance(v, int) else (int(v[0]), int(v[1])) for v in value]


def _axes(value: Any, rank: int) -> tuple[int, ...]:
    return (value,) * rank if isinstance(value, int) else tuple(value)


class Lambda(nn.Module):
    def __init__(self, fn: Any, *children: nn.Module):
        super().__init__()
        self.fn = fn
        self.children_ = nn.ModuleList(children)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.fn(*xs)
        return result


class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d (torchvision is not a test dependency)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth / timm's DropPath: in eval mode, the identity."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert not self.training
        return x


class Measured(Lambda):
    """A layer whose MACs torch's own FlopCounterMode measures (see :func:`measured_macs`):
    the attention layers, whose matrix products are no single module's."""


def measured_macs(module: nn.Module, inputs: list[torch.Tensor]) -> int:
    """MACs of one sample: FlopCounterMode counts the matrix products (linear layers without
    their bias, attention's Q·Kᵀ and A·V) at two flops per multiply-add. Grad enabled, so
    that nn.MultiheadAttention takes its documented path, not the fused inference kernel."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    # scaled_dot_product_attention (need_weights=False) as its math, whose products the
    # counter sees
    with (
        FlopCounterMode(display=False) as counter,
        torch.enable_grad(),
        sdpa_kernel(SDPBackend.MATH),
    ):
        module(*inputs)
    return int(counter.get_total_flops()) // 2 // inputs[0].shape[0]


def _attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mha: nn.Module, need_weights: bool = True
) -> torch.Tensor:
    """nn.MultiheadAttention's output, through its bmm path (need_weights) or
    scaled_dot_product_attention; a learned key or value (a ``parameter``: batch 1) broadcast
    to the query's batch."""
    n = q.shape[0]
    out: torch.Tensor = mha(q, k.expand(n, -1, -1), v.expand(n, -1, -1), need_weights=need_weights)[
        0
    ]
    return out


def _mixed(q: torch.Tensor, *memory: torch.Tensor) -> torch.Tensor:
    """Attention's structure for the gradients: each query token reads itself and, through a
    uniform average in place of the softmax, every key and value token."""
    return q + sum((m.mean(dim=(1, 2), keepdim=True) for m in memory), torch.zeros_like(q))


def _attention_layer(
    k: str, a: dict[str, Any], shapes: list[tuple[int, ...]], mode: str
) -> nn.Module:
    """The attention layers: PyTorch's own modules (their parameters), run through their
    parts with need_weights so that FlopCounterMode sees every product; in "rf" mode the
    stand-in :func:`_mixed`."""
    if k == "multiheadattention":
        mha = nn.MultiheadAttention(
            a["embed_dim"],
            a["num_heads"],
            bias=a["bias"],
            add_bias_kv=a["add_bias_kv"],
            add_zero_attn=a["add_zero_attn"],
            kdim=a["kdim"],
            vdim=a["vdim"],
            batch_first=True,
        )
        if mode == "rf":
            return Measured(lambda q, *kv: _mixed(q, *(kv or (q,))), mha)

        def attend(
            q: torch.Tensor, k: torch.Tensor | None = None, v: torch.Tensor | None = None
        ) -> torch.Tensor:
            key = q if k is None else k
            return _attention(q, key, key if v is None else v, mha, a["need_weights"])

        return Measured(attend, mha)
    d = shapes[0][-1]
    common = {"dim_feedforward": a["dim_feedforward"], "bias": a["bias"], "batch_first": True}
    if k == "transformerencoderlayer":
        enc = nn.TransformerEncoderLayer(d, a["nhead"], dropout=0.0, **common)
        if mode == "rf":
            return Measured(_mixed, enc)

        # as PyTorch's forward runs them (norm_first False: post-norm): need_weights False,
        # the activation the layer holds
        def encode(x: torch.Tensor) -> torch.Tensor:
            x = enc.norm1(x + _attention(x, x, x, enc.self_attn, False))
            out: torch.Tensor = enc.norm2(x + enc.linear2(enc.activation(enc.linear1(x))))
            return out

        return Measured(encode, enc)
    dec = nn.TransformerDecoderLayer(d, a["nhead"], dropout=0.0, **common)
    if mode == "rf":
        return Measured(lambda t, m: _mixed(t, t, m), dec)

    def decode(x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        x = dec.norm1(x + _attention(x, x, x, dec.self_attn, False))
        x = dec.norm2(x + _attention(x, memory, memory, dec.multihead_attn, False))
        out: torch.Tensor = dec.norm3(x + dec.linear2(dec.activation(dec.linear1(x))))
        return out

    return Measured(decode, dec)


def _regions(n: int, window: int, shift: int) -> torch.Tensor:
    """torchvision's mask regions along one padded axis (its slices, in the rolled
    coordinates): [0, n − w), [n − w, n − s), [n − s, n); with s = 0 the last slice is all."""
    ids = torch.zeros(n)
    for k, (a, b) in enumerate(((0, -window), (-window, -shift), (-shift, None))):
        ids[a:b] = k
    return ids


def _window_attention(a: dict[str, Any], shape: tuple[int, ...], mode: str) -> nn.Module:
    """torchvision's shifted_window_attention, written out (torchvision is not a test
    dependency): pad to whole windows, roll by the shift, attend within each window with the
    relative position bias and the mask (−100 between regions), roll back, crop. In "rf"
    mode the softmax is a uniform average over the keys the mask allows, so that the
    gradients show the structure."""
    _h, _w, c = shape
    window = _axes(a["window_size"], 2)
    heads = a["num_heads"]
    qkv = nn.Linear(c, 3 * c, bias=a["qkv_bias"])
    proj = nn.Linear(c, c, bias=a["proj_bias"])
    table = nn.Parameter(torch.zeros((2 * window[0] - 1) * (2 * window[1] - 1), heads))
    rows, cols = torch.meshgrid(torch.arange(window[0]), torch.arange(window[1]), indexing="ij")
    coords = torch.stack([rows.flatten(), cols.flatten()])  # 2, N
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # N, N, 2
    index = (rel[..., 0] + window[0] - 1) * (2 * window[1] - 1) + rel[..., 1] + window[1] - 1

    def partition(x: torch.Tensor, ph: int, pw: int) -> torch.Tensor:
        n = x.shape[0]
        x = x.view(n, ph // window[0], window[0], pw // window[1], window[1], -1)
        return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window[0] * window[1], x.shape[-1])

    def attend(x: torch.Tensor) -> torch.Tensor:
        n, h, w, _ = x.shape
        x = F.pad(x, (0, 0, 0, (-w) % window[1], 0, (-h) % window[0]))
        ph, pw = x.shape[1], x.shape[2]
        shift = [
            0 if win >= p else s
            for win, p, s in zip(window, (ph, pw), _axes(a["shift_size"], 2), strict=True)
        ]
        if sum(shift):
            x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
        tokens = partition(x, ph, pw)  # (n · windows, N, C)
        ids = _regions(ph, window[0], shift[0])[:, None] * 3 + _regions(pw, window[1], shift[1])
        same = partition(ids.expand(1, ph, pw)[..., None], ph, pw)[..., 0]  # (windows, N)
        allowed = (same[:, :, None] == same[:, None, :]).repeat(n, 1, 1)  # (n · windows, N, N)
        if mode == "rf":
            weights = allowed.to(x.dtype)
            out = (weights / weights.sum(-1, keepdim=True)) @ tokens
        else:
            # torchvision's calls: F.linear with the modules' weights, Tensor.matmul, F.softmax
            # (what the counting tools see: docs/counting.md)
            b, m, _ = tokens.shape
            qkv_out = F.linear(tokens, qkv.weight, qkv.bias)
            q, k, v = qkv_out.reshape(b, m, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
            scores = (q * (c // heads) ** -0.5).matmul(k.transpose(-2, -1))
            scores = scores + table[index.flatten()].view(m, m, heads).permute(2, 0, 1)
            scores = scores + torch.where(allowed, 0.0, -100.0)[:, None]
            mixed = F.softmax(scores, dim=-1).matmul(v).transpose(1, 2).reshape(b, m, c)
            out = F.linear(mixed, proj.weight, proj.bias)
        out = out.view(n, ph // window[0], pw // window[1], window[0], window[1], -1)
        out = out.permute(0, 1, 3, 2, 4, 5).reshape(n, ph, pw, -1)
        if sum(shift):
            out = torch.roll(out, shifts=(shift[0], shift[1]), dims=(1, 2))
        return out[:, :h, :w]

    return Measured(attend, qkv, proj, nn.ParameterList([table]))


def _patch_merging_pad(x: torch.Tensor) -> torch.Tensor:
    """torchvision's _patch_merging_pad: pad H and W to even sizes, each 2×2 patch into C."""
    h, w = x.shape[-3], x.shape[-2]
    x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    parts = [
        x[..., 0::2, 0::2, :],
        x[..., 1::2, 0::2, :],
        x[..., 0::2, 1::2, :],
        x[..., 1::2, 1::2, :],
    ]
    return torch.cat(parts, -1)


def _make(name: str, *args: Any, **kwargs: Any) -> nn.Module:
    """``nn.<name>(...)``, typed."""
    module: nn.Module = getattr(nn, name)(*args, **kwargs)
    return module


def _called(module: nn.Module, a: Mapping[str, Any]) -> nn.Module:
    """A layer with ``module: false`` as PyTorch code calls it (F.avg_pool2d, F.interpolate):
    the module's forward, run without its ``__call__``, so that no hook sees a module while
    the functions it calls, and the operators, run as before."""
    if a.get("module", True):
        return module
    return Lambda(lambda x: module.forward(x))


def _padded(pad: list[tuple[int, int]] | None, module: nn.Module, value: float = 0.0) -> nn.Module:
    if pad is None:
        return module
    spec = _pad_tuple(pad)
    return Lambda(lambda x: module(F.pad(x, spec, value=value)), module)


def build_layer(node: Node, in_shapes: list[tuple[int, ...]], mode: str) -> nn.Module:
    k, a = node.kind.name, dict[str, Any](node.args)
    if k == "parameter":  # a learned tensor that reads nothing: (1, *shape) for the batch
        size = a["shape"] if isinstance(a["shape"], (list, tuple)) else (a["shape"],)
        tensor = nn.Parameter(torch.ones(1, *size))
        return Lambda(lambda: tensor, nn.ParameterList([tensor]))
    if k in ("multiheadattention", "transformerencoderlayer", "transformerdecoderlayer"):
        return _attention_layer(k, a, in_shapes, mode)
    if k == "shiftedwindowattention":
        return _window_attention(a, in_shapes[0], mode)
    if k == "patchmergingpad":
        return Lambda(_patch_merging_pad)
    if k == "embedding":
        table = nn.Embedding(a["num_embeddings"], a["embedding_dim"])
        return Lambda(lambda x: table(x.long().clamp(0, a["num_embeddings"] - 1)), table)
    shape = in_shapes[0]
    rank = len(shape) - 1
    cin = shape[0]
    if k.startswith("conv") and not k.startswith("convtranspose"):
        pad, pre = _padding(node, rank, shape[1:])
        conv = _make(
            f"Conv{rank}d",
            cin,
            a["out_channels"],
            a["kernel_size"],
            a["stride"],
            pad,
            a["dilation"],
            a["groups"],
            a["bias"],
        )
        return _padded(pre, conv)
    if k.startswith("convtranspose"):
        return _make(
            f"ConvTranspose{rank}d",
            cin,
            a["out_channels"],
            a["kernel_size"],
            a["stride"],
            a["padding"],
            a["output_padding"],
            a["groups"],
            a["bias"],
            a["dilation"],
        )
    if k[:3] in ("max", "min", "avg") and "pool" in k:
        stride = a["stride"] if a["stride"] is not None else a["kernel_size"]
        pad, pre = _padding(node, rank, shape[1:])
        assert pre is None, "torch pools take symmetric int padding only"
        dilation = a.get("dilation", 1)
        if mode == "rf" or k.startswith("avg"):
            if any(d > 1 for d in _axes(dilation, rank)):
                assert not a["ceil_mode"]
                kernel = _axes(a["kernel_size"], rank)
                weight = torch.full((cin, 1, *kernel), 1.0 / math.prod(kernel), dtype=torch.float64)
                conv = getattr(F, f"conv{rank}d")
                return Lambda(lambda x: conv(x, weight, None, stride, pad, dilation, cin))
            avg = _make(f"AvgPool{rank}d", a["kernel_size"], stride, pad, a["ceil_mode"])
            return _called(avg, a)
        pool = _make(
            f"MaxPool{rank}d", a["kernel_size"], stride, pad, dilation, ceil_mode=a["ceil_mode"]
        )
        pool = _called(pool, a)
        return Lambda(lambda x: -pool(-x), pool) if k.startswith("min") else pool
    if k.startswith("adaptive"):
        kind = "Avg" if mode == "rf" or "avg" in k else "Max"
        return _called(_make(f"Adaptive{kind}Pool{rank}d", a["output_size"]), a)
    if k.startswith("global"):
        dims = tuple(range(2, rank + 2))
        keep = bool(a["keepdims"])
        if "avg" in k or mode == "rf":
            return Lambda(lambda x: x.mean(dim=dims, keepdim=keep))
        return Lambda(lambda x: x.amax(dim=dims, keepdim=keep))
    if k == "linear":
        return nn.Linear(shape[-1], a["out_features"], a["bias"])
    if k == "flatten":
        return nn.Flatten(a["start_dim"], a["end_dim"])
    if k == "unflatten":
        sizes = a["unflattened_size"]
        return nn.Unflatten(a["dim"], (sizes,) if isinstance(sizes, int) else sizes)
    if k == "reshape":
        target = a["shape"] if isinstance(a["shape"], tuple) else (a["shape"],)
        return Lambda(lambda x: x.reshape(x.shape[0], *target))
    if k.startswith(("batchnorm", "instancenorm")):
        family = "BatchNorm" if k.startswith("batch") else "InstanceNorm"
        stats = a["track_running_stats"]
        return _make(f"{family}{k[-2]}d", cin, affine=a["affine"], track_running_stats=stats)
    if k == "groupnorm":
        return nn.GroupNorm(a["num_groups"], cin, affine=a["affine"])
    if k == "layernorm":
        ns = a["normalized_shape"]
        if mode == "rf":
            # a real layer norm of the constant input the gradients run on centres it away
            # (every channel sum has gradient 0): this stand-in reads the same positions
            last = tuple(range(-(len(ns) if isinstance(ns, tuple) else 1), 0))
            return Lambda(lambda x: x + x.mean(dim=last, keepdim=True))
        return nn.LayerNorm(ns, elementwise_affine=a["elementwise_affine"], bias=a["bias"])
    if k == "layernorm2d":
        if mode == "rf":
            return Lambda(lambda x: x + x.mean(dim=1, keepdim=True))
        return LayerNorm2d(cin, elementwise_affine=a["elementwise_affine"], bias=a["bias"])
    if k == "permute":
        dims = a["dims"] if isinstance(a["dims"], tuple) else (a["dims"],)
        return Lambda(lambda x: x.permute(*dims))
    if k == "transpose":
        return Lambda(lambda x: x.transpose(a["dim0"], a["dim1"]))
    if k == "chunk":
        return Lambda(lambda x: torch.chunk(x, a["chunks"], a["dim"])[a["index"]])
    if k == "split":
        sections = a["split_size_or_sections"]
        pieces = list(sections) if isinstance(sections, tuple) else sections
        return Lambda(lambda x: torch.split(x, pieces, a["dim"])[a["index"]])
    if k == "narrow":
        return Lambda(lambda x: x.narrow(a["dim"], a["start"], a["length"]))
    if k == "channelshuffle":
        return nn.ChannelShuffle(a["groups"])
    if k in ("stochasticdepth", "droppath"):
        return StochasticDepth()
    if k == "localresponsenorm":
        return nn.LocalResponseNorm(a["size"])
    if k == "prelu":
        return nn.PReLU(a["num_parameters"])
    if k in ("softmax", "logsoftmax"):
        # PyTorch's implicit dim (deprecated, with a warning): 0 for a 3-dim input, else 1
        dim = a["dim"] if a["dim"] is not None else (0 if len(shape) == 2 else 1)
        if mode == "rf":
            # a softmax's outputs sum to 1 along its dim, so a target summing over that dim
            # has gradient 0: this stand-in reads the same positions
            return Lambda(lambda x: x + x.mean(dim=dim, keepdim=True))
        if not a["module"]:  # a call, as x.softmax(dim) in Ultralytics' DFL
            name = "softmax" if k == "softmax" else "log_softmax"
            return Lambda(lambda x: getattr(x, name)(dim))
        return (nn.Softmax if k == "softmax" else nn.LogSoftmax)(dim)
    if k == "upsample":
        size, factor = a["size"], a["scale_factor"]
        upsample = nn.Upsample(
            size=size, scale_factor=factor, mode=a["mode"], align_corners=a["align_corners"]
        )
        return _called(upsample, a)
    if k == "pixelshuffle":
        return nn.PixelShuffle(a["upscale_factor"])
    if k == "pixelunshuffle":
        return nn.PixelUnshuffle(a["downscale_factor"])
    if k.endswith(("pad1d", "pad2d", "pad3d")):
        name = {
            "zero": "ZeroPad",
            "constant": "ConstantPad",
            "reflection": "ReflectionPad",
            "replication": "ReplicationPad",
        }[k[:-5]]
        padding = a["padding"]
        extra = (0.0,) if name == "ConstantPad" else ()
        pad_module: nn.Module = _make(f"{name}{k[-2]}d", padding, *extra)
        return pad_module
    if k == "add":
        return Lambda(lambda *xs: sum(xs[1:], xs[0]))
    if k == "mul":
        return Lambda(lambda *xs: math.prod(xs[1:], start=xs[0]))
    if k == "concat":
        # a learned tensor (batch 1) concatenated to a batch: broadcast, as .expand in ViT
        # (only where the batches differ, so that an exported graph has no Expand otherwise)
        def cat(*xs: torch.Tensor) -> torch.Tensor:
            n = max(y.shape[0] for y in xs)
            parts = [x if x.shape[0] == n else x.expand(n, *x.shape[1:]) for x in xs]
            return torch.cat(parts, dim=a["dim"])

        return Lambda(cat)
    simple = {
        "relu": "ReLU",
        "relu6": "ReLU6",
        "leakyrelu": "LeakyReLU",
        "elu": "ELU",
        "selu": "SELU",
        "gelu": "GELU",
        "silu": "SiLU",
        "mish": "Mish",
        "sigmoid": "Sigmoid",
        "tanh": "Tanh",
        "hardswish": "Hardswish",
        "hardsigmoid": "Hardsigmoid",
        "softplus": "Softplus",
        "identity": "Identity",
        "dropout": "Dropout",
        "dropout1d": "Dropout1d",
        "dropout2d": "Dropout2d",
        "dropout3d": "Dropout3d",
        "alphadropout": "AlphaDropout",
    }
    plain: nn.Module = _make(simple[k])
    return plain


class GraphModule(nn.Module):
    """Runs the graph's nodes in order; every node's output is kept."""

    def __init__(
        self,
        graph: Graph,
        shapes: list[tuple[int, ...]],
        mode: str = "exact",
        global_nodes: frozenset[int] = frozenset(),
    ):
        super().__init__()
        self.graph = graph
        # "global context" (docs/numbers.md): a merge's global inputs (an SE gate's pooled branch) are
        # detached, as `scale.detach() * x`, so that gradients show the spatial field alone
        self.global_nodes = global_nodes
        known = {INPUT: graph.input_shape} | dict(enumerate(shapes))
        self.layers = nn.ModuleList(
            build_layer(n, [known[i] for i in n.inputs], mode) for n in graph.nodes
        )
        for n, layer in zip(graph.nodes, self.layers, strict=True):
            if not n.trainable:
                for p in layer.parameters():
                    p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs: dict[int, torch.Tensor] = {INPUT: x}
        result = []
        for node, layer in zip(self.graph.nodes, self.layers, strict=True):
            glob = [i in self.global_nodes for i in node.inputs]
            # (a merge that is itself global, as a residual add of attention over tokens,
            # keeps every input)
            mixed = any(glob) and not all(glob) and node.index not in self.global_nodes
            y = layer(
                *(
                    outs[i].detach() if mixed and g else outs[i]
                    for i, g in zip(node.inputs, glob, strict=True)
                )
            )
            outs[node.index] = y
            result.append(y)
        return result


class Final(nn.Module):
    """A GraphModule's final output alone, as an exporter (torch.onnx) takes a model."""

    def __init__(self, graph: GraphModule):
        super().__init__()
        self.graph = graph

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs: list[torch.Tensor] = self.graph(x)
        return outputs[-1]


def prepare_for_rf(module: nn.Module) -> None:
    """Positive constant weights, zero biases, identity batch norm; float64, eval mode."""
    module.double().eval()
    with torch.no_grad():
        for m in module.modules():
            stats = (getattr(m, "running_mean", None), getattr(m, "running_var", None))
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and None not in stats:
                m.running_mean.zero_()  # type: ignore[union-attr]
                m.running_var.fill_(1.0)  # type: ignore[union-attr]
            for name, p in m.named_parameters(recurse=False):
                if name == "bias":
                    p.zero_()
                else:
                    fan = max(p[0].numel(), 1) if p.dim() > 1 else 1
                    p.fill_(1.0 / fan)
