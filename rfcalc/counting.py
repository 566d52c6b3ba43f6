"""The MACs counting conventions of the common tools, as one table (docs/counting.md).

Each layer rule gives its weight MACs (``Out.macs``: convolutions, linear layers, attention's
projections and products, bias excluded) and the other quantities it computes
(:class:`rfcalc.layers.base.Terms`: bias additions, normalised elements, pooling reads, …).
A convention is a weight on each of them: what a tool counts, read from its source.
Pure: no torch, no tool is imported.
"""

# no `from __future__ import annotations`: its NamedTuples' string annotations would each cost
# a ForwardRef at every start (as rfcalc/engine.py says)
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from rfcalc.layers.base import NO_TERMS, Out, Terms


class Convention(NamedTuple):
    name: str
    tool: str  # the tool and the version whose source the weights were read from
    summary: str  # one line: what it counts (the footer, --count all, the JSON)
    weights: int  # the weight on ``Out.macs``
    terms: dict[str, int]  # the weight on each Terms field (absent: 0)
    flops_factor: int = 2  # FLOPs = factor × MACs


_THOP = {
    "norm_stats": 2,  # count_normalization: 2 · numel, doubled when affine
    "norm_live": 2,
    "norm_affine": 2,
    "prelu": 1,  # count_prelu: numel
    "softmax": 1,  # count_softmax, and the softmax inside count_multihead_attention
    "avg_reads": 1,  # count_avgpool, count_adap_avgpool: one add per read …
    "avg_divides": 1,  # … one division per output
    "upsample_linear": 5,  # count_upsample's ops per output element, by mode
    "upsample_bilinear": 11,
    "upsample_bicubic": 259,
    "upsample_trilinear": 31,
}

CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention(
            "torchvision",
            "torch.utils.flop_counter (torchvision's model docs), torch 2.13",
            "weights only: conv, linear, attention products; bias excluded",
            1,
            {},
        ),
        Convention(
            "fvcore",
            "fvcore 0.1.5 FlopCountAnalysis",
            "weights; batch/group/layer/instance norm; 2-D upsampling and adaptive avg pool",
            1,
            {
                "norm_stats": 1,  # batchnorm_flop_jit, eval: numel, 2 · numel when affine
                "norm_live": 4,  # norm_flop_counter: 4 · numel, 5 · numel when affine
                "norm_affine": 1,
                "upsample_nearest2d": 1,  # elementwise_flop_counter(0, 1)
                "upsample_bilinear2d": 4,  # elementwise_flop_counter(0, 4)
                "adaptive2d_inputs": 1,  # elementwise_flop_counter(1, 0)
                "grid_sample": 4,  # aten::grid_sampler: elementwise_flop_counter(0, 4)
                "sdpa_products": -1,  # scaled_dot_product_attention: not in its list
            },
        ),
        Convention(
            "thop",
            "ultralytics-thop 2.2.3 profile",
            "weights; norms, PReLU, softmax, avg pooling, interpolating upsampling",
            1,
            _THOP,
        ),
        Convention(
            "ultralytics",
            "ultralytics-thop 2.2.3, × 2 as Ultralytics' get_flops prints GFLOPs",
            "thop × 2 (Ultralytics' GFLOPs)",
            2,
            {name: 2 * w for name, w in _THOP.items()},
            flops_factor=1,
        ),
        Convention(
            "ptflops",
            "ptflops 0.7.5 get_model_complexity_info, pytorch backend",
            "weights with bias; norms, activations, pooling, upsampling, softmax, attention",
            1,
            {
                "bias": 1,  # conv_flops_counter_hook, linear_flops_counter_hook
                "norm_module": 1,  # bn_flops_counter_hook: numel, doubled when ``affine``
                "norm_affine_flag": 1,
                "prelu": 2,  # relu_flops_counter_hook, and F.prelu inside the module
                "relu": 2,  # … and F.relu
                "elu": 2,  # … and F.elu
                "gelu": 2,  # … and F.gelu
                "relu6": 1,  # the hook only (its forward calls F.hardtanh)
                "leakyrelu": 1,  # the hook only (F.leaky_relu)
                "silu": 1,  # F.silu only (no hook)
                "pool_inputs": 1,  # the F.*pool* a module calls, or a call
                "pool_hooked": 1,  # pool_flops_counter_hook (modules)
                "upsample_outputs": 1,  # F.interpolate, called by nn.Upsample or directly
                "upsample_hooked": 1,  # upsample_flops_counter_hook (modules)
                "softmax_module": 1,  # F.softmax inside nn.Softmax
                "lrn": 1,  # the Tensor.mul, Tensor.add and F.avg_pool*d it calls
                "attention_ptflops": 1,
            },
        ),
        Convention(
            "torchinfo",
            "torchinfo 1.8.0 summary, Total mult-adds",
            "conv params × output positions (bias included); other layers their params",
            0,
            {"param_positions": 1, "leaf_params": 1},
        ),
    )
}

NAMES = tuple(CONVENTIONS)
DEFAULT = "torchvision"
ALL = "all"  # --count all: the default convention's MACs, and a footer line for every one
CHOICES = (*NAMES, ALL)
_FIELDS = Terms._fields


def _vector(convention: Convention) -> tuple[int, ...]:
    return tuple(convention.terms.get(name, 0) for name in _FIELDS)


_VECTORS = {name: (c.weights, _vector(c)) for name, c in CONVENTIONS.items()}
_VECTORS[ALL] = _VECTORS[DEFAULT]


def convention(name: str) -> Convention:
    """The convention whose MACs a report with ``count`` name shows."""
    return CONVENTIONS[DEFAULT if name == ALL else name]


def describe(name: str) -> str:
    """What the MACs count, in words (the footer, the JSON's ``macs_convention``)."""
    c = convention(name)
    return f"multiply-accumulates per sample, {c.name} convention: {c.summary}"


def macs(name: str, weight_macs: int, terms: Terms) -> int:
    """A layer's MACs in convention ``name``."""
    weights, vector = _VECTORS[name]
    total = weights * weight_macs
    if terms is not NO_TERMS:
        total += sum(w * t for w, t in zip(vector, terms, strict=True) if w)
    return total


def totals(outs: Sequence[Out]) -> dict[str, int]:
    """The MACs of all the layers ``outs`` in every convention. A convention weighs each
    quantity alone, so it weighs their sums: the quantities are summed once, not once a
    convention."""
    # layers alike share their rule's Out: each distinct one, weighed by how many share it
    distinct = {id(out): out for out in outs}
    weight_macs = 0
    counted: list[Sequence[int]] = []
    for key, n in Counter(map(id, outs)).items():
        out = distinct[key]
        weight_macs += out.macs * n
        if out.terms is not NO_TERMS:
            counted.append(out.terms if n == 1 else [t * n for t in out.terms])
    terms = Terms(*map(sum, zip(*counted, strict=True))) if counted else NO_TERMS
    return {name: macs(name, weight_macs, terms) for name in NAMES}


def flops(name: str, total_macs: int) -> int:
    """FLOPs: 2 × MACs, but Ultralytics' MACs are already its "FLOPs"."""
    return convention(name).flops_factor * total_macs
