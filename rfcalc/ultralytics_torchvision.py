"""Ultralytics' ``TorchVision`` module (``yolo11-cls-resnet18.yaml``): a torchvision model,
unwrapped as Ultralytics unwraps it, from the definition of that model rfcalc bundles.

``TorchVision(model, weights, unwrap=True, truncate=2, split=False)`` loads
``torchvision.models.get_model(model)`` and keeps ``nn.Sequential(*children[:-truncate])``:
the model's child modules in order, a first child that is an ``nn.Sequential`` flattened into
its own children (EfficientNet's ``features``), the last ``truncate`` dropped and the rest
renamed 0, 1, … under ``m``. rfcalc reads the children from the bundled example of the model
(``examples/resnet18.yaml``, written with torchvision's own names): its top-level layers
that have a name are the child modules (but for a ``parameter``, ViT's ``class_token``); an
unnamed one is a call in ``forward`` (``torch.flatten``), which the ``nn.Sequential`` does
not make. The row becomes an instance of a block of the model, ``TorchVision_resnet18``,
whose one layer ``m`` lists the children kept; the example's ``vars`` are the block's
arguments. No weights are needed: ``weights`` is read and ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rfcalc.errors import InputError, did_you_mean
from rfcalc.yamltree import YMap, YNode, YScalar, YSeq, scalar, what_node

if TYPE_CHECKING:
    from rfcalc.ultralytics import _Row

# the bundled examples that write a torchvision model with its own names and children (vgg16
# and alexnet are written flat, without torchvision's features and classifier)
COVERED = (
    "convnext_tiny",
    "densenet121",
    "efficientnet_b0",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "resnet18",
    "resnet50",
    "shufflenet_v2_x1_0",
    "swin_t",
    "vit_b_16",
)
PARAMS = ("c2", "model", "weights", "unwrap", "truncate", "split")
LIBRARY = "torchvision"


class _Entry(NamedTuple):
    """A top-level layer of the example, or a layer of its flattened first child: ``count``
    children of the nn.Sequential (a repeat's instances in a positional list), or none for a
    call or parameter the nn.Sequential does not have."""

    node: YNode
    children: int
    name: str  # as the example names it, for messages


def _value(values: list[YNode | None], i: int) -> object:
    node = values[i] if i < len(values) else None
    return node.value if isinstance(node, YScalar) else node


def _where(row: _Row, i: int) -> YNode:
    return row.args[i] if i < len(row.args) else row.node.items[3]


def _flag(row: _Row, values: list[YNode | None], i: int, name: str) -> bool | None:
    """A boolean argument (None: not given). Ultralytics reads its YAML as YAML 1.1, where
    ``yes`` and ``no`` are booleans, and then takes any value's truth: only true and false
    mean the same to both."""
    value = _value(values, i)
    if value is not None and not isinstance(value, bool):
        node = _where(row, i)
        raise InputError(
            f"row {row.number}: TorchVision's {name} must be true or false, got {what_node(node)}",
            node.pos,
        )
    return value


def _not_covered(row: _Row, i: int, what: str) -> InputError:
    return InputError(
        f"row {row.number}: TorchVision {what} is not covered by rfcalc",
        _where(row, i).pos,
        f"covered: unwrap True, split False, and the models {', '.join(COVERED)}"
        " (docs/ultralytics.md)",
    )


def torchvision_block(
    row: _Row, values: list[YNode | None], c1: int, n: int, blocks: dict[str, YNode]
) -> tuple[str, int]:
    """A TorchVision row's block (added to ``blocks``, the model's) and its output channels,
    the row's c2, which must be the channels of the children kept. The model reads ``c1``
    channels, ``n`` times in a row: as torchvision builds it, its first layer takes the
    example's input channels (3), and anything else is an error."""
    from rfcalc.ultralytics import _positive

    c2 = _positive(row, values, 0, "its output channels")
    model = _value(values, 1)
    node = _where(row, 1)
    if not isinstance(model, str):
        raise InputError(
            f"row {row.number}: TorchVision's second argument names a torchvision model, got "
            f"{what_node(node) if len(row.args) > 1 else 'nothing'}",
            node.pos,
            "e.g. [512, resnet18, DEFAULT, True, 2]",
        )
    if model not in COVERED:
        raise InputError(
            f"row {row.number}: TorchVision model '{model}' is not covered by rfcalc, which "
            "builds the torchvision models it bundles",
            node.pos,
            did_you_mean(model, COVERED) or f"covered: {', '.join(COVERED)} (docs/ultralytics.md)",
        )
    unwrap, split = _flag(row, values, 3, "unwrap"), _flag(row, values, 5, "split")
    if unwrap is False:
        raise _not_covered(row, 3, "with unwrap False (the whole model, its head replaced)")
    truncate = _value(values, 4)
    if truncate is None:
        truncate = 2
    if isinstance(truncate, bool) or not isinstance(truncate, int) or truncate < 0:
        raise InputError(
            f"row {row.number}: TorchVision's truncate must be an integer ≥ 0, got "
            f"{what_node(_where(row, 4))}",
            _where(row, 4).pos,
        )
    if split:
        raise _not_covered(row, 5, "with split True (a list of every child's output)")
    name = f"TorchVision_{model}" + (f"_truncate{truncate}" if truncate != 2 else "")
    example = _example(model)
    sizes = example.get("input")
    assert isinstance(sizes, YSeq), model
    rgb = sizes.items[0].value if isinstance(sizes.items[0], YScalar) else None
    if c1 != rgb:
        raise InputError(
            f"row {row.number}: TorchVision's {model} takes {rgb} channels, as torchvision "
            f"builds it, but its input has {c1}",
            row.from_node.pos,
        )
    if name not in blocks:
        blocks[name] = _block(row, example, model, truncate)
    channels = _channels(row, name, blocks[name], sizes)
    if channels != c2:
        raise InputError(
            f"row {row.number}: TorchVision's argument 1, its output channels, is {c2}, "
            f"but {model}'s children kept (truncate {truncate}) give {channels}",
            _where(row, 0).pos,
            f"write {channels}",
        )
    if n > 1:
        raise InputError(
            f"row {row.number}: TorchVision repeated {n} times: the second {model} would read "
            f"the first one's {c2} channels, and it takes {rgb}",
            row.repeats_node.pos,
        )
    return name, c2


def _example(model: str) -> YMap:
    from rfcalc.bundled import example_path
    from rfcalc.loader import read_path
    from rfcalc.yamltree import parse, read_text

    path = example_path(model)
    root = parse(read_text(path, read_path(path)), path)
    assert isinstance(root, YMap), path
    return root


def _entries(layers: YSeq) -> list[_Entry]:
    """The example's layers as the nn.Sequential sees them, its first child flattened."""
    entries: list[_Entry] = []
    for node in layers.items:
        name = node.get("name") if isinstance(node, YMap) else None
        if (
            not isinstance(node, YMap)
            or not isinstance(name, YScalar)
            or _type(node) == "parameter"
        ):
            called = str(name.value) if isinstance(name, YScalar) else _type(node) or "layers"
            entries.append(_Entry(node, 0, called))  # a call, or a parameter
            continue
        inner = node.get("layers")
        first = not any(e.children for e in entries)
        if first and isinstance(inner, YSeq) and node.get("type") is None:  # nn.Sequential
            entries += [
                _Entry(item, _count(item), f"{name.value}.{k}")
                for k, item in enumerate(inner.items)
            ]
        else:
            entries.append(_Entry(node, 1, str(name.value)))
    return entries


def _type(node: YNode) -> str | None:
    found = node.get("type") if isinstance(node, YMap) else node
    return found.value if isinstance(found, YScalar) and isinstance(found.value, str) else None


def _count(node: YNode) -> int:
    """How many children a layer of a positional list makes: a repeat's instances when it
    is unnamed (or named per instance, ``denselayer${i + 1}``), else one."""
    repeat = node.get("repeat") if isinstance(node, YMap) else None
    if repeat is None or not _unnamed(node):
        return 1
    value = repeat.value if isinstance(repeat, YScalar) else None
    if isinstance(value, bool) or not isinstance(value, int):  # not in a bundled example
        raise InputError(
            "TorchVision counts the children of a repeat written as a number", repeat.pos
        )
    return value


def _unnamed(node: YNode) -> bool:
    """Is a layer unnamed, or named per instance (a template)?"""
    name = node.get("name") if isinstance(node, YMap) else None
    return not isinstance(name, YScalar) or "${" in str(name.value)


def _block(row: _Row, example: YMap, model: str, truncate: int) -> YMap:
    """The block of the children kept: their layers, named by position under ``m``."""
    layers = example.get("layers")
    assert isinstance(layers, YSeq)
    entries = _entries(layers)
    total = sum(e.children for e in entries)
    keep = total - truncate if truncate else total
    if keep < 1:
        raise InputError(
            f"row {row.number}: TorchVision's truncate {truncate} leaves none of {model}'s "
            f"{total} children",
            _where(row, 4).pos,
        )
    kept: list[YNode] = []
    position = 0
    for entry in entries:
        if position == keep:
            break
        if entry.children == 0:
            raise InputError(
                f"row {row.number}: TorchVision's nn.Sequential of {model}'s children leaves out"
                f" '{entry.name}', which {model}'s forward runs between them: not covered by "
                "rfcalc",
                _where(row, 4).pos,
                f"truncate {total - position} keeps the children before it",
            )
        taken = min(entry.children, keep - position)
        kept.append(qualify(_positional(entry, taken, position), LIBRARY, frozenset()))
        position += taken
    pos = row.node.pos
    body: list[tuple[YScalar, YNode]] = []
    variables = example.get("vars")
    if isinstance(variables, YMap):
        body.append((scalar("args", pos), variables))
    inner = YMap(
        (
            (scalar("name", pos), scalar("m", pos)),
            (scalar("layers", pos), YSeq(tuple(kept), pos)),
        ),
        pos,
    )
    body.append((scalar("layers", pos), YSeq((inner,), pos)))
    return YMap(tuple(body), pos)


def _positional(entry: _Entry, taken: int, position: int) -> YNode:
    """A child as a layer of the list ``m``, where it is named by its position: an unnamed
    repeat of ``taken`` instances, a named repeat (one child, its instances inside) named
    ``position``, any other layer unnamed."""
    node = entry.node
    if not isinstance(node, YMap):
        return node
    items = []
    for key, value in node.items:
        if key.value == "from":
            raise InputError(f"'{entry.name}' reads another layer: not covered", key.pos)
        if key.value == "name":
            if node.get("repeat") is None or _unnamed(node):
                continue  # named by its position, or its instances by theirs
            value = scalar(position, value.pos)
        elif key.value == "repeat" and entry.children > 1:
            value = scalar(taken, value.pos)
        items.append((key, value))
    return YMap(tuple(items), node.pos)


def qualify(node: YNode, library: str, keep: frozenset[str]) -> YNode:
    """A layer (and the layers of its nested lists) with every block type written as the
    block of ``library`` (``torchvision.Bottleneck``), but for the model's own (``keep``)."""
    from rfcalc.expr import is_expression
    from rfcalc.layers import lookup

    def written(text: YNode) -> YNode:
        value = text.value if isinstance(text, YScalar) else None
        if not isinstance(value, str) or is_expression(value) or value in keep:
            return text
        return text if lookup(value) is not None else scalar(f"{library}.{value}", text.pos)

    if isinstance(node, YScalar):
        return written(node)
    if not isinstance(node, YMap):
        return node
    items = []
    for key, value in node.items:
        if key.value == "type":
            value = written(value)
        elif key.value == "layers" and isinstance(value, YSeq):
            value = YSeq(tuple(qualify(v, library, keep) for v in value.items), value.pos)
        items.append((key, value))
    return YMap(tuple(items), node.pos)


def _channels(row: _Row, name: str, block: YNode, shape: YSeq) -> int:
    """The output channels of the block, built alone on the example's input ``shape``."""
    from rfcalc.build import Builder
    from rfcalc.loader import load_tree

    pos = row.node.pos

    def item(key: str, value: YNode) -> tuple[YScalar, YNode]:
        return scalar(key, pos), value

    tree = YMap(
        (
            item("include", YSeq((scalar(LIBRARY, pos),), pos)),
            item("input", shape),
            item("blocks", YMap((item(name, block),), pos)),
            item("layers", YSeq((YMap((item("type", scalar(name, pos)),), pos),), pos)),
        ),
        pos,
    )
    builder = Builder(load_tree(tree, pos.path))
    builder.build()
    return builder.output_shape()[0]
