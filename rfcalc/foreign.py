"""Names from other tools (Keras, TensorFlow, ONNX) and shorthands without a rank, as hints.

rfcalc takes PyTorch's names only; a name a user brings from elsewhere is an error whose hint
says what to write instead. One table for layer types and one for arguments; a ``{n}`` in a
name stands for a rank digit (``MaxPooling2D`` is ``maxpooling{n}d``), and a suggestion with
``{n}`` gets the rank that fits the layer's input (``batchnorm2d`` on a (C, H, W) input).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import NamedTuple

from rfcalc.layers import REGISTRY, canonical


class Foreign(NamedTuple):
    """What to write instead of a foreign name: a PyTorch name, a note, or both."""

    use: str | None
    note: str = ""


_LAYOUT = "rfcalc is channels first, as PyTorch: remove it and write the input as [C, H, W]"
_NO_NUMBER = "it changes no number here: remove it"

# canonical foreign type name (lower case, no '_', the rank digit as {n}) → what to write
TYPES: dict[str, Foreign] = {
    "dense": Foreign("linear", "out_features for Keras' units"),
    "fullyconnected": Foreign("linear"),
    "fc": Foreign("linear"),
    "gemm": Foreign("linear"),
    "conv{n}dtranspose": Foreign("convtranspose{n}d", "out_channels for Keras' filters"),
    "deconv{n}d": Foreign("convtranspose{n}d"),
    "deconv": Foreign("convtranspose{n}d"),
    "depthwiseconv{n}d": Foreign("conv{n}d", "with groups equal to the input's channels"),
    "separableconv{n}d": Foreign(
        "conv{n}d", "two layers: a depthwise conv (groups = the input's channels), then a 1×1"
    ),
    "maxpooling{n}d": Foreign("maxpool{n}d", "kernel_size for Keras' pool_size"),
    "averagepooling{n}d": Foreign("avgpool{n}d", "kernel_size for Keras' pool_size"),
    "avgpooling{n}d": Foreign("avgpool{n}d"),
    "globalaveragepooling{n}d": Foreign(
        "globalavgpool{n}d",
        "Keras' (C) output; PyTorch's adaptiveavgpool{n}d with output_size 1 keeps size-1 axes",
    ),
    "globalmaxpooling{n}d": Foreign("globalmaxpool{n}d"),
    "globalaveragepool": Foreign("globalavgpool{n}d"),
    "globalmaxpool": Foreign("globalmaxpool{n}d"),
    "zeropadding{n}d": Foreign("zeropad{n}d"),
    "upsampling{n}d": Foreign("upsample", "scale_factor for Keras' size"),
    "spatialdropout{n}d": Foreign("dropout{n}d"),
    "batchnormalization": Foreign("batchnorm{n}d"),
    "bn": Foreign("batchnorm{n}d"),
    "layernormalization": Foreign("layernorm"),
    "groupnormalization": Foreign("groupnorm"),
    "concatenate": Foreign("concat"),
    "multiply": Foreign("mul"),
    "activation": Foreign(None, "write the activation itself as the layer: relu, sigmoid, …"),
    "input": Foreign(None, "the model's input is the top-level 'input:' key, channels first"),
    "inputlayer": Foreign(None, "the model's input is the top-level 'input:' key, channels first"),
}

# foreign argument name → what to write (a rename applies only where the layer takes it)
ARGS: dict[str, Foreign] = {
    "filters": Foreign("out_channels"),
    "units": Foreign("out_features"),
    "strides": Foreign("stride"),
    "pool_size": Foreign("kernel_size"),
    "dilation_rate": Foreign("dilation"),
    "use_bias": Foreign("bias"),
    "epsilon": Foreign("eps"),
    "rate": Foreign("p"),
    "target_shape": Foreign("shape"),
    "activation": Foreign(
        None, "rfcalc layers take no activation: add it as the next layer (e.g. '- relu')"
    ),
    "data_format": Foreign(None, _LAYOUT),
    "axis": Foreign(None, "batch norm here normalises the channels (dim 1), as PyTorch's"),
    "input_shape": Foreign(
        None, "the model's input shape is the top-level 'input:' key, channels first"
    ),
    "depth_multiplier": Foreign(None, "set out_channels and groups instead"),
    **{
        f"{what}_{kind}": Foreign(None, f"{kind}s change no number here: remove it")
        for what in ("kernel", "bias", "activity", "depthwise", "pointwise", "gamma", "beta")
        for kind in ("initializer", "regularizer", "constraint")
    },
}

_RANK = re.compile(r"([123])d")
_PHRASE = {1: "(F)", 2: "(C, L)", 3: "(C, H, W)", 4: "(C, D, H, W)"}  # by the input's dims


def _fit(name: str, n: int) -> str:
    """``name`` with ``{n}``, or its rank digit when that type exists, set to ``n``."""
    if "{n}" in name:
        return name.replace("{n}", str(n))
    fitted = _RANK.sub(f"{n}d", name, count=1)
    return fitted if fitted in REGISTRY else name


def type_hint(text: str, ndim: Callable[[], int], near: Callable[[str], str | None]) -> str | None:
    """The hint for an unknown layer type ``text`` whose input has ``ndim()`` dims: a foreign
    name's PyTorch name, a shorthand with the rank that fits (``conv`` → ``conv2d`` on a
    (C, H, W) input), else the nearest name ``near`` finds, at the rank that fits when that
    type exists (``batchnorm1d`` → ``batchnorm2d``)."""
    key = canonical(text)
    foreign = TYPES.get(_RANK.sub("{n}d", key, count=1)) or TYPES.get(key)
    dims = ndim()
    n = min(max(dims - 1, 1), 3)  # the spatial rank: conv1d for (C, L), batchnorm1d for (F)
    fits = f" (for its {_PHRASE.get(dims, f'{dims}-dim')} input)"
    if foreign is not None:
        if foreign.use is None:
            return foreign.note
        use = _fit(foreign.use, n)
        note = f"; {foreign.note.replace('{n}', str(n))}" if foreign.note else ""
        ranked = fits if _RANK.search(use) else ""
        return f"rfcalc uses PyTorch's names: write '{use}'{ranked}{note}"
    if f"{key}{n}d" in REGISTRY:  # conv, batchnorm, maxpool, …
        return f"did you mean '{key}{n}d'?{fits}"
    nearest = near(key)
    if nearest is None:
        return None
    fitted = _fit(nearest, n)
    return f"did you mean '{fitted}'?" + (fits if fitted != nearest else "")


def arg_hint(name: str, takes: Collection[str]) -> str | None:
    """The hint for an unknown argument with a foreign name, or None."""
    foreign = ARGS.get(name)
    if foreign is None:
        return None
    if foreign.use is not None and foreign.use in takes:
        return f"rfcalc uses PyTorch's names: write '{foreign.use}'"
    return foreign.note or None


_TUPLE = re.compile(r"\(\s*(-?[0-9]+(?:\s*,\s*-?[0-9]+)*)\s*,?\s*\)")


def tuple_hint(value: object, key: str) -> str | None:
    """A Python tuple, ``kernel_size: (3, 3)``, is no list in YAML (a string, or inside a
    ``{…}`` mapping split at its commas): the hint writes it as a list."""
    if not isinstance(value, str):
        return None
    m = _TUPLE.fullmatch(value.strip())
    if m is None:
        return None
    items = ", ".join(v.strip() for v in m.group(1).split(","))
    return f"write a list: {key}: [{items}]"
