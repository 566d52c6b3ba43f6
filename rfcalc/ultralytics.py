"""Ultralytics model configs (``yolov8.yaml``, ``yolo11.yaml``, …) read as they are.

A config's ``backbone`` and ``head`` rows ``[from, repeats, module, args]`` become an rfcalc
model tree: ``include: [ultralytics]`` (the built-in library of Ultralytics' modules as blocks)
and one layer per row, named by its index inside a nested list ``model``, so that layer names
are Ultralytics' own (``model.2.m.0.cv1.conv``). Channels and repeats are computed here as
Ultralytics' ``parse_model`` (ultralytics/nn/tasks.py) computes them: the scale's depth
multiple rounds the repeats, its width multiple and ``max_channels`` set each module's output
channels (``make_divisible(min(c2, max_channels) · width, 8)``, rounding up). ``nc`` becomes a
variable, so ``--set nc=…`` works. Every node of the tree keeps the position of the user's row,
so an error points into the user's file.

This is a front end: it produces the same tree a model file would, which the loader reads as
it reads any model (:func:`model_tree`), and which ``rfcalc convert`` prints
(:func:`convert_text`).
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
from typing import NamedTuple

from rfcalc.errors import InputError, SourcePos, did_you_mean
from rfcalc.yamltree import YMap, YNode, YScalar, YSeq, scalar, what_node

INPUT_SIZE = 640  # Ultralytics' default image size
MAX_DECODER_LAYERS = 6  # RTDETRDecoder's decoder layers the library's block writes out …
MAX_DECODER_LEVELS = 4  # … and the levels it reads
CLASSIFY_SIZE = 224  # its default for classification
TOP_KEYS = ("nc", "scales", "backbone", "head")


class Module(NamedTuple):
    """How a row's module becomes a layer: the block (or layer type), the names of its YAML
    arguments in order, and how parse_model treats it (``base``: args[0] is the output
    channels, scaled; ``repeat``: also takes the row's repeats as ``n``)."""

    block: str
    params: tuple[str, ...]
    kind: str
    fixed: tuple[tuple[str, object], ...] = ()  # arguments the module sets on its block


_BASE, _REPEAT, _CONCAT, _SAME, _DETECT = "base", "repeat", "concat", "same", "detect"
_CLASSIFY = "classify"  # a base module whose c2 (the classes) is not scaled
# RT-DETR's modules, each its own branch of parse_model
_HG, _AIFI, _RTDETR = "hg", "aifi", "rtdetr"
_RESNET = "resnet"  # ResNetLayer: its c1 and c2 are written in the row, not scaled
_CBLINEAR, _CBFUSE = "cblinear", "cbfuse"  # YOLOv9's: a list of pieces, and one picked of each
_LEVELS = "levels"  # a head of its own on the levels it reads: given ch0 and nl
_TEXT = "text"  # ImagePoolingAttn: keeps the channels parse_model last computed
_TORCHVISION = "torchvision"  # a torchvision model unwrapped: a block of the model's own

MODULES: dict[str, Module] = {
    "Conv": Module("Conv", ("c2", "k", "s", "p", "g", "d", "act"), _BASE),
    "DWConv": Module("Conv", ("c2", "k", "s", "d", "act"), _BASE),  # g = gcd(c1, c2)
    "C2": Module("C2", ("c2", "shortcut", "g", "e"), _REPEAT),
    "C2f": Module("C2f", ("c2", "shortcut", "g", "e"), _REPEAT),
    "C3": Module("C3", ("c2", "shortcut", "g", "e"), _REPEAT),
    "C3k2": Module("C3k2", ("c2", "c3k", "e", "attn", "g", "shortcut"), _REPEAT),
    "SPPF": Module("SPPF", ("c2", "k", "n", "shortcut"), _BASE),
    "C2PSA": Module("C2PSA", ("c2", "e"), _REPEAT),
    "PSA": Module("PSA", ("c2", "e"), _BASE),
    "SCDown": Module("SCDown", ("c2", "k", "s"), _BASE),
    "C2fCIB": Module("C2fCIB", ("c2", "shortcut", "lk", "g", "e"), _REPEAT),
    "A2C2f": Module(
        "A2C2f",
        ("c2", "a2", "area", "residual", "mlp_ratio", "e", "g", "shortcut"),
        _REPEAT,
    ),
    "Bottleneck": Module("Bottleneck", ("c2", "shortcut", "g"), _BASE),
    "SPP": Module("SPP", ("c2", "k"), _BASE),
    "nn.MaxPool2d": Module("maxpool2d", ("kernel_size", "stride", "padding"), _SAME),
    "nn.ZeroPad2d": Module("zeropad2d", ("padding",), _SAME),
    "Concat": Module("concat", ("dim",), _CONCAT),
    "nn.Upsample": Module("upsample", ("size", "scale_factor", "mode"), _SAME),
    "Detect": Module("Detect", ("nc",), _DETECT),
    "v10Detect": Module("Detect", ("nc",), _DETECT),
    "Segment": Module("Detect", ("nc", "extra", "npr"), _DETECT),
    "Pose": Module("Detect", ("nc", "extra"), _DETECT),
    "OBB": Module("Detect", ("nc", "extra"), _DETECT),
    "Classify": Module("Classify", ("c2", "k", "s", "p", "g"), _CLASSIFY),
    # RT-DETR (rtdetr-l, -x, -resnet50, -resnet101, yolov8-rtdetr): HGStem and HGBlock take
    # [cm, c2, …] unscaled, HGBlock the row's repeats as n; AIFI keeps its channels;
    # RTDETRDecoder reads the levels (ResNetLayer: below)
    "HGStem": Module("HGStem", ("cm", "c2"), _HG),
    "HGBlock": Module("HGBlock", ("cm", "c2", "k", "lightconv", "shortcut"), _HG),
    "RepC3": Module("RepC3", ("c2", "e"), _REPEAT),
    "AIFI": Module("AIFI", ("cm", "num_heads"), _AIFI),
    "RTDETRDecoder": Module(
        "RTDETRDecoder", ("nc", "hd", "nq", "ndp", "nh", "ndl", "d_ffn"), _RTDETR
    ),
    # the ghost configs (v8-ghost), YOLOv9's GELAN, YOLOv6, the ResNet classifiers
    # (library file ultralytics/backbones.yaml)
    "GhostConv": Module("GhostConv", ("c2", "k", "s", "g", "act"), _BASE),
    "GhostBottleneck": Module("GhostBottleneck", ("c2", "k", "s"), _BASE),
    "C3Ghost": Module("C3", ("c2", "shortcut", "g", "e"), _REPEAT, (("ghost", True),)),
    "RepNCSPELAN4": Module("RepNCSPELAN4", ("c2", "c3", "c4", "n"), _BASE),
    "ELAN1": Module("ELAN1", ("c2", "c3", "c4"), _BASE),
    "ADown": Module("ADown", ("c2",), _BASE),
    "AConv": Module("AConv", ("c2",), _BASE),
    "SPPELAN": Module("SPPELAN", ("c2", "c3", "k"), _BASE),
    "nn.Identity": Module("identity", (), _SAME),
    "nn.ConvTranspose2d": Module(
        "convtranspose2d",
        ("out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias"),
        _BASE,
    ),
    "ResNetLayer": Module("ResNetLayer", ("c1", "c2", "s", "is_first", "n", "e"), _RESNET),
    "CBLinear": Module("CBLinear", ("c2s", "k", "s", "p", "g"), _CBLINEAR),
    "CBFuse": Module("CBFuse", ("idx",), _CBFUSE),
    # YOLO26's task heads (task_heads.yaml): Segment26, Pose26 and OBB26 are Detect with its
    # v26 options; SemanticSegment and Depth read the levels (ch0, nl) as blocks of their own
    "Segment26": Module("Detect", ("nc", "extra", "npr"), _DETECT),
    "Pose26": Module("Detect", ("nc", "extra"), _DETECT),
    "OBB26": Module("Detect", ("nc", "extra"), _DETECT),
    "SemanticSegment": Module("SemanticSegment", ("nc",), _LEVELS),
    "Depth": Module("Depth", ("c_mid",), _LEVELS),
    # YOLOE's heads (task_heads.yaml): Detect's boxes, classes scored against the class
    # embeddings (extra: Segment's nm)
    "YOLOEDetect": Module("YOLOEDetect", ("nc", "embed", "with_bn"), _DETECT),
    "YOLOESegment": Module("YOLOEDetect", ("nc", "extra", "npr", "embed", "with_bn"), _DETECT),
    "YOLOESegment26": Module("YOLOEDetect", ("nc", "extra", "npr", "embed", "with_bn"), _DETECT),
    # YOLO-World's (task_heads.yaml): C2f guided by the text embeddings, and YOLOE's head with
    # plain class branches
    "C2fAttn": Module("C2fAttn", ("c2", "ec", "nh", "gc", "shortcut", "g", "e"), _REPEAT),
    "ImagePoolingAttn": Module("ImagePoolingAttn", ("ec", "ct", "nh", "k"), _TEXT),
    "WorldDetect": Module("YOLOEDetect", ("nc", "embed", "with_bn"), _DETECT),
    # a torchvision model's children (rfcalc.ultralytics_torchvision): the block is the model's
    "TorchVision": Module(
        "", ("c2", "model", "weights", "unwrap", "truncate", "split"), _TORCHVISION
    ),
}
# the rows that read the model's text features besides their inputs (YOLO-World); the text
# features are a layer of the model, txt_feats, which ImagePoolingAttn's rows update
_READ_TEXT = frozenset({"C2fAttn", "ImagePoolingAttn"})
TEXT_FEATURES = "txt_feats"
TEXT_CHANNELS = 512  # WorldModel's text features: CLIP ViT-B/32's

_SAME_CHANNELS = frozenset({"C2PSA", "PSA"})  # parse_model asserts c1 == c2
_SEGMENT = frozenset({"Segment", "Segment26", "YOLOESegment", "YOLOESegment26"})

# modules after which parse_model builds Detect's class branch of depthwise convolutions
_NOT_LEGACY = frozenset({"C3k2", "A2C2f", "C2fCIB"})


def is_config(root: YNode) -> bool:
    """Is a parsed file an Ultralytics model config (it has ``backbone`` and ``head``)?"""
    return isinstance(root, YMap) and root.get("backbone") is not None and bool(root.get("head"))


def guess_scale(path: str) -> str:
    """The scale letter in a file name, as Ultralytics' ``guess_model_scale``: ``yolov8n`` → n,
    ``yolo11x-seg`` → x, ``yoloe-11s`` → s; '' when there is none."""
    stem = os.path.splitext(os.path.basename(path))[0]
    match = re.search(r"yolo(e-)?v?\d+([nslmx])", stem)
    return match.group(2) if match else ""


def scaled_path(path: str) -> tuple[str, str] | None:
    """A file that does not exist but names a scale: ``yolov8n.yaml`` is ``yolov8.yaml`` at
    scale n (``yolov8n6.yaml``: ``yolov8-p6.yaml``), as Ultralytics' ``yaml_model_load`` reads
    it; None when there is no such file."""
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    if re.fullmatch(r"yolov[58][nsmlx]6", stem):
        stem = re.sub(r"(\d+)([nslmx])6(.+)?$", r"\1\2-p6\3", stem)
    scale = guess_scale(stem)
    unified = re.sub(r"(\d+)([nslmx])(.+)?$", r"\1\3", stem)
    if not scale or unified == stem:
        return None
    target = os.path.join(folder, unified + ext)
    return (target, scale) if os.path.isfile(target) else None


def make_divisible(x: float, divisor: int = 8) -> int:
    """Ultralytics' make_divisible: the nearest multiple of ``divisor`` at or above ``x``."""
    return math.ceil(x / divisor) * divisor


# ---------------------------------------------------------------- reading the config


def _number(node: YNode, what: str) -> float:
    value = node.value if isinstance(node, YScalar) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InputError(f"{what} must be a positive number, got {what_node(node)}", node.pos)
    return value


def _scales(top: YMap, path: str, scale: str | None) -> tuple[str, float, float, float]:
    """(the scale, depth, width, max_channels): the chosen entry of ``scales``, or the
    config's ``depth_multiple`` and ``width_multiple`` (1 by default) without one."""
    node = top.get("scales")
    if node is None or (isinstance(node, YScalar) and node.value is None):
        if scale:
            raise InputError(f"--scale {scale}: the config has no 'scales'", SourcePos(path), None)
        multiples = []
        for key in ("depth_multiple", "width_multiple"):
            given = top.get(key)
            multiples.append(1.0 if given is None else _number(given, f"'{key}'"))
        return "", multiples[0], multiples[1], math.inf
    if not isinstance(node, YMap) or not node.items:
        raise InputError(
            f"'scales' must map scale names to [depth, width, max_channels], got {what_node(node)}",
            node.pos,
            "e.g. scales: {n: [0.33, 0.25, 1024]}",
        )
    names = [str(k.value) for k, _ in node.items]
    if scale is None:
        scale = guess_scale(path) or names[0]  # parse_model: the first one when none is given
    entry = node.get(scale)
    if entry is None:
        raise InputError(
            f"no scale '{scale}' in 'scales'",
            node.pos,
            did_you_mean(scale, names) or f"the scales are: {', '.join(names)}",
        )
    if not isinstance(entry, YSeq) or len(entry.items) != 3:
        raise InputError(
            f"scale '{scale}' must be [depth, width, max_channels], got {what_node(entry)}",
            entry.pos,
        )
    depth, width, most = (
        _number(item, f"scale '{scale}': {what}")
        for item, what in zip(entry.items, ("depth", "width", "max_channels"), strict=True)
    )
    return scale, depth, width, most


class _Row(NamedTuple):
    number: int  # the row's index, counted over backbone and head
    froms: tuple[int, ...]  # absolute indices (-1: the model's input)
    multi: bool  # from was a list
    repeats: int
    module: str
    args: tuple[YNode, ...]
    node: YSeq
    from_node: YNode
    repeats_node: YNode
    module_node: YNode


def _rows(top: YMap) -> list[_Row]:
    rows: list[_Row] = []
    for section in ("backbone", "head"):
        node = top.get(section)
        if not isinstance(node, YSeq) or not node.items:
            where = node.pos if node is not None else top.pos
            raise InputError(
                f"'{section}' must be a list of rows [from, repeats, module, args], got "
                f"{what_node(node) if node is not None else 'nothing'}",
                where,
            )
        for item in node.items:
            rows.append(_row(item, len(rows)))
    return rows


def _row(item: YNode, i: int) -> _Row:
    if not isinstance(item, YSeq) or len(item.items) != 4:
        raise InputError(
            f"row {i} must be [from, repeats, module, args], got {what_node(item)}"
            + (f" of {len(item.items)} items" if isinstance(item, YSeq) else ""),
            item.pos,
            "e.g. [-1, 1, Conv, [64, 3, 2]]",
        )
    from_node, repeats_node, module_node, args_node = item.items
    sources = from_node.items if isinstance(from_node, YSeq) else (from_node,)
    froms = []
    for source in sources:
        value = source.value if isinstance(source, YScalar) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(
                f"row {i}: 'from' must be a row index or a list of them, got {what_node(source)}",
                source.pos,
            )
        absolute = i + value if value < 0 else value
        if not (0 <= absolute < i or (value == -1 and i == 0)):
            raise InputError(
                f"row {i}: 'from' {value} is not an earlier row (rows 0 … {i - 1})"
                if i
                else f"row 0: 'from' {value}: the first row reads the input, -1",
                source.pos,
            )
        froms.append(absolute if i else -1)
    repeats = repeats_node.value if isinstance(repeats_node, YScalar) else None
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise InputError(
            f"row {i}: repeats must be an integer ≥ 1, got {what_node(repeats_node)}",
            repeats_node.pos,
        )
    module = module_node.value if isinstance(module_node, YScalar) else None
    if not isinstance(module, str):
        raise InputError(
            f"row {i}: the module must be a name, got {what_node(module_node)}", module_node.pos
        )
    if not isinstance(args_node, YSeq):
        raise InputError(
            f"row {i}: the arguments must be a list, got {what_node(args_node)}", args_node.pos
        )
    return _Row(
        i,
        tuple(froms),
        isinstance(from_node, YSeq),
        repeats,
        module,
        args_node.items,
        item,
        from_node,
        repeats_node,
        module_node,
    )


# ---------------------------------------------------------------- building the tree


_s = scalar  # short: the trees below write many scalars


def _map(pos: SourcePos, **items: YNode) -> YMap:
    return YMap(tuple((_s(k.rstrip("_"), pos), v) for k, v in items.items()), pos)


def _arg_value(node: YNode, names: frozenset[str]) -> YNode | None:
    """A row's argument as parse_model reads it: a string naming a config variable (``nc``)
    is that variable, another string is a Python literal if it is one (``None``); None for
    None (the block's default)."""
    if not isinstance(node, YScalar) or not isinstance(node.value, str):
        return node
    text = node.value
    if text in names:
        return scalar(f"${text}", node.pos)
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return node
    if value is None:
        return None
    if isinstance(value, bool | int | float | str):
        return scalar(value, node.pos)
    return node


class _Context(NamedTuple):
    scale: str
    depth: float
    width: float
    max_channels: float
    variables: frozenset[str]
    variable_values: dict[str, object]
    blocks: dict[str, YNode]  # the model's own blocks (TorchVision rows'), by name


def _layer(
    row: _Row,
    ctx: _Context,
    ch: list[int],
    legacy: bool,
    pieces: dict[int, tuple[int, ...]],
    text: int | str = TEXT_FEATURES,
) -> tuple[YMap, int]:
    """A row's layer, and its output channels as parse_model counts them (``pieces``: the
    pieces of each CBLinear row so far, which this row's adds to when it is one; ``text``:
    where the text features come from, for a row that reads them)."""
    spec = MODULES.get(row.module)
    if spec is None:
        raise InputError(
            f"row {row.number}: module '{row.module}' is not covered by rfcalc",
            row.module_node.pos,
            did_you_mean(row.module, list(MODULES))
            or f"covered: {', '.join(sorted(MODULES))} (docs/ultralytics.md)",
        )
    pos = row.node.pos
    n = max(round(row.repeats * ctx.depth), 1) if row.repeats > 1 else row.repeats
    c1 = ch[row.froms[0]] if row.froms[0] >= 0 else ch[-1]
    values: list[YNode | None] = [_arg_value(a, ctx.variables) for a in row.args]
    names = list(spec.params)
    froms = row.froms
    c2 = c1
    if spec.kind in (_BASE, _REPEAT):
        written = _positive(row, values, 0, "its output channels")
        first = values[0]
        assert first is not None, "_positive read it"
        first_pos = first.pos
        c2 = make_divisible(min(written, ctx.max_channels) * ctx.width, 8)
        if row.module in _SAME_CHANNELS and c2 != c1:
            raise InputError(
                f"row {row.number}: {row.module} keeps its channels (c1 == c2), but it reads "
                f"{c1} and its argument gives {c2} at this scale",
                first_pos,
            )
        values[0] = _s(c2, first_pos)
        if spec.kind == _REPEAT:
            values.insert(1, _s(n, row.repeats_node.pos))
            names.insert(1, "n")
            n = 1
        if row.module == "C3k2" and ctx.scale in {"m", "l", "x"}:
            values[2:3] = [_s(True, row.module_node.pos)]  # parse_model: c3k for M/L/X sizes
        if row.module == "A2C2f" and ctx.scale in {"l", "x"}:
            values += [_s(True, row.module_node.pos), _s(1.2, row.module_node.pos)]
        if row.module == "C2fAttn":
            values, names = _c2f_attn(row, values, names, ctx, c2)
        if row.module == "DWConv":
            names.append("g")
            values += [None] * (len(names) - 1 - len(values)) + [_s(math.gcd(c1, c2), pos)]
        if row.module == "SPP":  # k, a list of three kernels: k1, k2, k3
            values, names = _spp_kernels(row, values, names)
        if row.module == "SPPF" and len(values) <= 2:
            names.append("act")  # parse_model: cv1 of a legacy row keeps the activation
            values += [None] * (len(names) - 1 - len(values)) + [_s(True, pos)]
    elif spec.kind == _HG:
        c2 = _positive(row, values, 1, "its output channels")  # parse_model: args[1], unscaled
        if row.module == "HGBlock":  # the row's repeats are its n
            names.append("n")
            values += [None] * (len(names) - 1 - len(values)) + [_s(n, row.repeats_node.pos)]
            n = 1
    elif spec.kind == _AIFI:  # parse_model: AIFI(c1, *args); its output keeps c1
        names, values = ["c1", *names], [_s(c1, pos), *values]
    elif spec.kind == _RTDETR:
        if len(row.froms) > MAX_DECODER_LEVELS:
            raise InputError(
                f"row {row.number}: RTDETRDecoder reads at most {MAX_DECODER_LEVELS} levels in "
                f"rfcalc, got {len(row.froms)}",
                row.from_node.pos,
            )
        ndl = values[5] if len(values) > 5 else None
        if len(values) <= len(names):  # and the levels it reads
            names, values = [*names[: len(values)], "nl"], [*values, _s(len(row.froms), pos)]
        if isinstance(ndl, YScalar) and not 1 <= (_int_value(ndl) or 0) <= MAX_DECODER_LAYERS:
            raise InputError(
                f"row {row.number}: RTDETRDecoder's ndl (decoder layers) must be 1 … "
                f"{MAX_DECODER_LAYERS} in rfcalc, got {what_node(ndl)}",
                ndl.pos,
            )
    elif spec.kind == _CONCAT:
        c2 = sum(ch[f] for f in row.froms)
    elif spec.kind == _TEXT:
        c2 = ch[-1]  # parse_model sets no c2 for it: the previous row's stays
    elif spec.kind == _CLASSIFY:
        c2 = 0  # the classes: read by nothing after it
    elif spec.kind == _TORCHVISION:  # parse_model: c2 = args[0], unscaled
        from rfcalc.ultralytics_torchvision import torchvision_block

        block, c2 = torchvision_block(row, values, c1, n, ctx.blocks)
        spec = spec._replace(block=block)
        values, names = values[len(spec.params) :], []  # the block takes no arguments
    elif spec.kind == _RESNET:
        values, names, c2 = _resnet_layer(row, values, c1)
    elif spec.kind == _CBLINEAR:
        pieces[row.number] = _cblinear_pieces(row, values)
        c2 = sum(pieces[row.number])
        values[0] = _s(c2, values[0].pos if values[0] is not None else pos)
        names[0] = "c2"
    elif spec.kind == _CBFUSE:
        values, names, froms = _cbfuse_starts(row, values, ch, pieces)
        c2 = ch[row.froms[-1]]
    elif spec.kind == _LEVELS:
        names += ["ch0", "nl"]
        values = [*values[: len(spec.params)], None][: len(spec.params)]
        values += [_s(ch[row.froms[0]], pos), _s(len(row.froms), pos)]
        if row.module == "Depth":  # Depth(c_mid, ch): no ch0, and three levels
            names, values = names[:1], values[:1]
            _need_levels(row, 3)
    elif spec.kind == _DETECT:
        values = values[: len(names)]
        if row.module in _SEGMENT:  # parse_model scales the prototypes' channels
            values += [None] * (3 - len(values))
            nm, npr = values[1] or _s(32, pos), values[2] or _s(256, pos)
            given = _int_value(npr)
            if given is None:
                raise InputError(f"row {row.number}: Segment's npr must be an integer", npr.pos)
            scaled = make_divisible(min(given, ctx.max_channels) * ctx.width, 8)
            values[1:3] = [nm, _s(scaled, npr.pos)]
        if row.module.endswith("Segment26"):  # Proto26 fuses the three levels
            _need_levels(row, 3)
            names.append("proto26")
            values.append(_s(True, pos))
        if row.module in ("Pose", "Pose26"):  # kpt_shape [keypoints, dims]: their product
            keypoints, dims = _keypoints(row, ctx)
            kpt_node = row.args[1] if len(row.args) > 1 else row.node
            values[1:2] = [_s(keypoints * dims, kpt_node.pos)]
        if row.module == "Pose26":  # cv4 of max(ch0 // 4, k · (dims + 2)) wide; σx, σy per keypoint
            names += ["pose26", "c4", "sigma"]
            c4 = max(ch[row.froms[0]] // 4, keypoints * (dims + 2))
            values += [_s(True, pos), _s(c4, pos), _s(keypoints * 2, pos)]
        if row.module == "WorldDetect":  # its own class branch: plain Convs, always
            names += ["world"]
            values += [None] * (len(names) - 1 - len(values)) + [_s(True, pos)]
            legacy = True
        if row.module in ("OBB", "OBB26"):  # OBB26's angle is the raw logit, no sigmoid
            names.append("angle")
            values[1:2] = values[1:2] or [_s(1, pos)]
            angle = row.module == "OBB"
            values += [None] * (len(names) - 1 - len(values)) + [_s(angle, pos)]
        names += ["ch0", "nl", "legacy"]
        values = [*values, _s(ch[row.froms[0]], pos), _s(len(row.froms), pos), _s(legacy, pos)]
        if row.module == "v10Detect":  # Detect(nc, end2end=True) with the light class head
            names[-1] = "end2end"
            values[-1] = _s(True, pos)
        if ctx.variable_values.get("end2end"):  # the config's end2end: True (YOLO26)
            names.append("end2end")
            values.append(_s(True, pos))
        reg_max = ctx.variable_values.get("reg_max")
        if reg_max is not None:
            names.append("reg_max")
            values.append(_s(reg_max, pos))
    if len(values) > len(names):
        extra = row.args[len(spec.params)] if len(row.args) > len(spec.params) else row.node
        raise InputError(
            f"row {row.number}: {row.module} takes at most {len(spec.params)} arguments "
            f"({', '.join(spec.params)}), got {len(row.args)}",
            extra.pos,
        )
    items: list[tuple[YScalar, YNode]] = [(_s("type", pos), _s(spec.block, row.module_node.pos))]
    for name, value in zip(names, values, strict=False):
        if value is not None:
            items.append((_s(name, value.pos), value))
    items += [(_s(name, pos), _s(value, row.module_node.pos)) for name, value in spec.fixed]
    reads_text = row.module in _READ_TEXT
    if reads_text or (row.number > 0 and (row.multi or froms[0] != row.number - 1)):
        reading: tuple[int | str, ...] = froms if row.number > 0 else ("input",)
        if reads_text:  # x, then the text (ImagePoolingAttn: the text first, then the levels)
            reading = (*reading, text) if row.module == "C2fAttn" else (text, *reading)
        sources = tuple(_s(f, row.from_node.pos) for f in reading)
        items.append((_s("from", row.from_node.pos), YSeq(sources, row.from_node.pos)))
    name_item: tuple[YScalar, YNode] = (_s("name", pos), _s(row.number, pos))
    if n > 1:  # nn.Sequential of n modules: model.i.0, model.i.1, …
        inner = YMap(((_s("repeat", pos), _s(n, row.repeats_node.pos)), *items), pos)
        outer: list[tuple[YScalar, YNode]] = [name_item, (_s("layers", pos), YSeq((inner,), pos))]
        from_item = [kv for kv in items if kv[0].value == "from"]
        if from_item:  # the list reads the row's input; its first module reads the list's
            inner = YMap(tuple(kv for kv in inner.items if kv[0].value != "from"), pos)
            outer = [name_item, *from_item, (_s("layers", pos), YSeq((inner,), pos))]
        return YMap(tuple(outer), pos), c2
    return YMap((name_item, *items), pos), c2


def _int_value(node: YNode | None) -> int | None:
    """The node's value if it is an integer (a bool is not), else None."""
    value = node.value if isinstance(node, YScalar) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _positive(row: _Row, values: list[YNode | None], i: int, what: str) -> int:
    """A row's argument i, which must be a positive integer (``what`` it is): its value, or
    the error at the argument."""
    node = values[i] if i < len(values) else None
    value = _int_value(node)
    if value is None or value < 1:
        where = row.args[i].pos if i < len(row.args) else row.node.items[3].pos
        raise InputError(
            f"row {row.number}: {row.module}'s argument {i + 1} is {what}, a positive integer, "
            f"got {what_node(node) if node is not None else 'nothing'}",
            where,
        )
    return value


def _resnet_layer(
    row: _Row, values: list[YNode | None], c1: int
) -> tuple[list[YNode | None], list[str], int]:
    """ResNetLayer's row [c1, c2, s, is_first, n]: parse_model passes it as written (c1 too,
    which must be the input's channels); its output channels are c2, or e·c2 (e 4) after
    blocks."""
    spec = MODULES[row.module]
    given = [v.value if isinstance(v, YScalar) else None for v in values]
    c1_given = _positive(row, values, 0, "its input channels")
    c2 = _positive(row, values, 1, "its output channels")
    if c1_given != c1:
        raise InputError(
            f"row {row.number}: ResNetLayer's first argument is its input channels, "
            f"{c1_given}, but it reads {c1}",
            row.args[0].pos,
        )
    first = len(given) > 3 and given[3] is True
    e = given[5] if len(given) > 5 and isinstance(given[5], int) else 4
    return values[1:], list(spec.params[1:]), c2 if first else e * c2


def _ints(node: YNode | None) -> tuple[int, ...] | None:
    """A list of non-negative integers, or None."""
    if not isinstance(node, YSeq):
        return None
    found: list[int] = []
    for item in node.items:
        value = _int_value(item)
        if value is None or value < 0:
            return None
        found.append(value)
    return tuple(found)


def _cblinear_pieces(row: _Row, values: list[YNode | None]) -> tuple[int, ...]:
    """CBLinear's c2s: the channels of each piece its output is split into."""
    first = values[0] if values else None
    found = _ints(first)
    if not found or not all(found):
        raise InputError(
            f"row {row.number}: CBLinear's first argument lists its pieces' channels, got "
            f"{what_node(first) if first is not None else 'nothing'}",
            first.pos if first is not None else row.node.items[3].pos,
            "e.g. [[64, 128]]",
        )
    return found


def _cbfuse_starts(
    row: _Row, values: list[YNode | None], ch: list[int], pieces: dict[int, tuple[int, ...]]
) -> tuple[list[YNode | None], list[str], tuple[int, ...]]:
    """CBFuse's idx as the block's arguments: the number n of CBLinear inputs and, for each,
    the first channel of the piece it picks (which must have the target's channels); the
    inputs reordered, the target (the row's last input) first."""
    first = values[0] if values else None
    idx = _ints(first)
    sources, target = row.froms[:-1], row.froms[-1]
    where = first.pos if first is not None else row.node.items[3].pos
    if idx is None or len(idx) != len(sources) or not 1 <= len(idx) <= 5:
        raise InputError(
            f"row {row.number}: CBFuse's idx lists one piece for each input but the last "
            f"(1 to 5), got {what_node(first) if first is not None else 'nothing'}",
            where,
            "e.g. [[10, 11, -1], 1, CBFuse, [[0, 0]]]",
        )
    starts: list[YNode | None] = []
    for source, i in zip(sources, idx, strict=True):
        split = pieces.get(source)
        if split is None or i >= len(split):
            raise InputError(
                f"row {row.number}: CBFuse's input {source} is not a CBLinear with a piece {i}",
                row.from_node.pos,
            )
        if split[i] != ch[target]:
            raise InputError(
                f"row {row.number}: CBFuse adds piece {i} of row {source} ({split[i]} channels) "
                f"to row {target}'s {ch[target]} channels",
                where,
            )
        starts.append(_s(sum(split[:i]), where))
    names = ["n", *(f"start{k}" for k in range(len(starts)))]
    return [_s(len(starts), where), *starts], names, (target, *sources)


def _spp_kernels(
    row: _Row, values: list[YNode | None], names: list[str]
) -> tuple[list[YNode | None], list[str]]:
    """SPP's k (5, 9, 13 by default) as the block's k1, k2, k3."""
    if len(values) < 2 or values[1] is None:
        return values[:1], names[:1]
    node = values[1]
    kernels = node.items if isinstance(node, YSeq) else ()
    if len(kernels) != 3:
        raise InputError(
            f"row {row.number}: SPP's k must list three kernels, got {what_node(node)}",
            node.pos,
            "e.g. [512, [5, 9, 13]]",
        )
    return [values[0], *kernels], ["c2", "k1", "k2", "k3"]


def _c2f_attn(
    row: _Row, values: list[YNode | None], names: list[str], ctx: _Context, c2: int
) -> tuple[list[YNode | None], list[str]]:
    """parse_model's C2fAttn: its heads nh scaled (int(max(round(min(nh, max_channels // 64))
    · width, 1)) when nh > 1), its ec the hidden channels int(c2 · e)."""
    values = values + [None] * (len(names) - len(values))
    e_node, nh_node = values[7], values[3]
    e = e_node.value if isinstance(e_node, YScalar) else 0.5
    nh = nh_node.value if isinstance(nh_node, YScalar) else 1
    if not isinstance(nh, int) or isinstance(nh, bool) or nh < 1 or not isinstance(e, float | int):
        where = nh_node or row.node
        raise InputError(f"row {row.number}: C2fAttn's nh must be a positive integer", where.pos)
    if nh > 1:
        nh = int(max(round(min(nh, ctx.max_channels // 2 // 32)) * ctx.width, 1))
    hidden = int(c2 * e)
    if hidden % nh:
        raise InputError(
            f"row {row.number}: C2fAttn's hidden channels {hidden} (c2 {c2} · e {e}) are not "
            f"divisible by its {nh} heads at this scale",
            (nh_node or row.node).pos,
        )
    pos = row.module_node.pos
    values[2], values[3] = _s(hidden, pos), _s(nh, pos)
    return values, names


def _need_levels(row: _Row, count: int) -> None:
    """A head that fuses exactly ``count`` levels (Proto26, Depth) reads that many rows."""
    if len(row.froms) != count:
        raise InputError(
            f"row {row.number}: {row.module} reads {count} levels (P3, P4, P5), got "
            f"{len(row.froms)}",
            row.from_node.pos,
        )


def _keypoints(row: _Row, ctx: _Context) -> tuple[int, int]:
    """Pose's kpt_shape, [keypoints, dims] (the config's ``kpt_shape`` by name, or a list in
    the row)."""
    node = row.args[1] if len(row.args) > 1 else row.node
    value: object = node.value if isinstance(node, YScalar) else None
    if value == "kpt_shape":
        value = ctx.variable_values.get("kpt_shape")
    elif isinstance(node, YSeq):
        value = [i.value if isinstance(i, YScalar) else None for i in node.items]
    if not (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise InputError(
            f"row {row.number}: Pose needs kpt_shape, [keypoints, dims], got {what_node(node)}",
            node.pos,
        )
    return value[0], value[1]


_ACTIVATION = re.compile(r"(?:torch\.)?nn\.(\w+)\(\)")


def _activation(node: YNode) -> YScalar:
    """A config's ``activation`` (``nn.ReLU()``, which parse_model makes Conv.default_act)
    as the layer type of every Conv's activation: the library's variable ``default_act``."""
    from rfcalc.layers import lookup

    text = node.value if isinstance(node, YScalar) else None
    match = _ACTIVATION.fullmatch(text.strip()) if isinstance(text, str) else None
    kind = lookup(match.group(1)) if match else None
    if kind is None or kind.family != "activation":
        raise InputError(
            f"'activation' {what_node(node)} is not covered by rfcalc: it takes a torch.nn "
            "activation without arguments, nn.<Name>() of an rfcalc activation layer",
            node.pos,
            "e.g. activation: nn.ReLU() (rfcalc layers lists the activations)",
        )
    return _s(kind.name, node.pos)


def model_tree(root: YMap, path: str, scale: str | None) -> YMap:
    """An Ultralytics model config as an rfcalc model tree (positions are the config's)."""
    chosen, depth, width, most = _scales(root, path, scale)
    variables: dict[str, object] = {}
    var_items: list[tuple[YScalar, YNode]] = []
    for key in ("nc", "reg_max"):
        node = root.get(key)
        if node is None:
            continue
        value = node.value if isinstance(node, YScalar) else None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"'{key}' must be a positive integer, got {what_node(node)}", node.pos)
        variables[key] = value
        if key == "nc":
            var_items.append((_s(key, node.pos), node))
    shape_node = root.get("kpt_shape")
    if isinstance(shape_node, YSeq):
        variables["kpt_shape"] = [
            i.value if isinstance(i, YScalar) else None for i in shape_node.items
        ]
    activation = root.get("activation")
    if activation is not None:
        var_items.append((_s("default_act", activation.pos), _activation(activation)))
    end2end = root.get("end2end")
    if end2end is not None:
        if not isinstance(end2end, YScalar) or not isinstance(end2end.value, bool):
            raise InputError(
                f"'end2end' must be true or false, got {what_node(end2end)}", end2end.pos
            )
        variables["end2end"] = end2end.value
    channels_node = root.get("channels")
    channels = 3
    if channels_node is not None:
        channels = int(_number(channels_node, "'channels'"))
    ctx = _Context(
        chosen, depth, width, most, frozenset(str(k.value) for k, _ in var_items), variables, {}
    )
    rows = _rows(root)
    ch: list[int] = []
    pieces: dict[int, tuple[int, ...]] = {}
    legacy = True
    layers: list[YNode] = []
    text: int | str = TEXT_FEATURES
    for row in rows:
        layer, c2 = _layer(row, ctx, ch or [channels], legacy, pieces, text)
        if row.module in _NOT_LEGACY:
            legacy = False
        if row.module == "ImagePoolingAttn":
            text = row.number
        layers.append(layer)
        ch.append(c2)
    pos = root.pos
    size = CLASSIFY_SIZE if rows[-1].module == "Classify" else INPUT_SIZE
    stem = os.path.splitext(os.path.basename(path))[0]
    name = (
        stem
        if guess_scale(stem) or not chosen
        else re.sub(r"(\d+)", rf"\g<1>{chosen}", stem, count=1)
    )
    scaled = (
        f"scale {chosen}: depth {depth:g}, width {width:g}, max_channels {most:g}"
        if chosen
        else f"depth {depth:g}, width {width:g}"
    )
    libraries = ("ultralytics", "torchvision") if ctx.blocks else ("ultralytics",)
    if ctx.blocks:  # torchvision's blocks too: Ultralytics' are written as its own
        from rfcalc.ultralytics_torchvision import qualify

        layers = [qualify(layer, "ultralytics", frozenset(ctx.blocks)) for layer in layers]
    items: list[tuple[YScalar, YNode]] = [
        (_s("name", pos), _s(name, pos)),
        (
            _s("description", pos),
            _s(f"Ultralytics model config {os.path.basename(path)}, {scaled}", pos),
        ),
        (_s("include", pos), YSeq(tuple(_s(lib, pos) for lib in libraries), pos)),
        (
            _s("input", pos),
            YSeq(tuple(_s(v, pos) for v in (channels, size, size)), pos),
        ),
    ]
    if var_items:
        items.append((_s("vars", pos), YMap(tuple(var_items), pos)))
    if ctx.blocks:
        blocks = tuple((_s(k, pos), v) for k, v in ctx.blocks.items())
        items.append((_s("blocks", pos), YMap(blocks, pos)))
    model = YMap(
        ((_s("name", pos), _s("model", pos)), (_s("layers", pos), YSeq(tuple(layers), pos))), pos
    )
    top: tuple[YNode, ...] = (model,)
    if any(row.module in _READ_TEXT for row in rows):  # the text features, then the model
        nc: object = "$nc" if var_items else 80
        shape = YSeq((_s(nc, pos), _s(TEXT_CHANNELS, pos)), pos)
        features = _map(pos, name=_s(TEXT_FEATURES, pos), type=_s("constant", pos), shape=shape)
        model = YMap((*model.items[:1], (_s("from", pos), _s("input", pos)), *model.items[1:]), pos)
        top = (features, model)
    items.append((_s("layers", pos), YSeq(top, pos)))
    return YMap(tuple(items), pos)


# ---------------------------------------------------------------- convert


_PLAIN = re.compile(r"[A-Za-z_$][A-Za-z0-9_.-]*")
_RESERVED = frozenset({"true", "false", "null", "yes", "no", "on", "off", "~"})


def _flow(node: YNode) -> str:
    if isinstance(node, YMap):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in node.items) + "}"
    if isinstance(node, YSeq):
        return "[" + ", ".join(_flow(v) for v in node.items) + "]"
    value = node.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text, ensure_ascii=False)


def convert(path: str, scale: str | None = None) -> str:
    """``rfcalc convert CONFIG``: an Ultralytics model config as an rfcalc model file, each
    row a block instance followed by the row as written."""
    from rfcalc.loader import read_path
    from rfcalc.yamltree import parse, read_text

    if scale is None and not os.path.lexists(path):
        found = scaled_path(path)
        if found is not None:
            path, scale = found
    text = read_text(path, read_path(path))
    root = parse(text, path)
    if not is_config(root):
        raise InputError(
            "not an Ultralytics model config (no 'backbone' and 'head')",
            SourcePos(path),
            "convert reads ONNX files, Ultralytics model configs such as yolov8n.yaml and --torch"
            " models; an rfcalc model file needs no converting",
        )
    assert isinstance(root, YMap)
    tree = model_tree(root, path, scale)
    lines = text.splitlines()
    written = [lines[row.node.pos.line - 1].strip().removeprefix("- ") for row in _rows(root)]
    return convert_text(tree, os.path.basename(path), written)


def convert_text(tree: YMap, source: str, written: list[str]) -> str:
    """The model tree as an rfcalc model file, with a header saying where it came from and
    each row's text as a comment."""
    lines = [
        f"# Converted by rfcalc from the Ultralytics model config {source}: each row",
        "# [from, repeats, module, args] is a block of the built-in library `ultralytics`,",
        "# with the channels and repeats parse_model gives them at this scale.",
    ]
    for key, value in tree.items:
        if key.value == "blocks":  # TorchVision rows': a torchvision model's children
            lines += [
                "# A TorchVision row is a block of this file: the children of the",
                "# torchvision model that rfcalc's bundled example of it defines.",
                "blocks:",
            ]
            lines += _blocks_text(value)
            continue
        if key.value != "layers":
            lines.append(f"{key.value}: {_flow(value)}")
            continue
        lines.append("layers:")
        assert isinstance(value, YSeq)
        *before, model = value.items  # YOLO-World's text features come before the model
        lines += [f"  - {_flow(layer)}  # the text features" for layer in before]
        lines.append("  - name: model")
        if before:
            lines.append("    from: input")
        lines.append("    layers:")
        rows = model.get("layers") if isinstance(model, YMap) else None
        assert isinstance(rows, YSeq)
        for row, text in zip(rows.items, written, strict=True):
            lines.append(f"      - {_flow(row)}  # {text}")
    return "\n".join(lines) + "\n"


def _blocks_text(blocks: YNode) -> list[str]:
    """The model's blocks, a line per layer of each (a nested list's layers indented)."""
    lines: list[str] = []
    for name, block in blocks.items if isinstance(blocks, YMap) else ():
        lines.append(f"  {_flow(name)}:")
        for key, value in block.items if isinstance(block, YMap) else ():
            if key.value != "layers" or not isinstance(value, YSeq):
                lines.append(f"    {key.value}: {_flow(value)}")
                continue
            lines.append("    layers:")
            for layer in value.items:
                inner = layer.get("layers") if isinstance(layer, YMap) else None
                if not isinstance(layer, YMap) or not isinstance(inner, YSeq):
                    lines.append(f"      - {_flow(layer)}")
                    continue
                first = True
                for k, v in layer.items:
                    if k.value != "layers":
                        lines.append(f"      {'- ' if first else '  '}{k.value}: {_flow(v)}")
                        first = False
                lines.append("        layers:")
                lines += [f"          - {_flow(child)}" for child in inner.items]
    return lines
