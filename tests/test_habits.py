"""Habits users bring from other tools (issue 11): a batch dimension in the input, a
channels-last input, Keras names, ``-h`` and shell completion. Each through typer's runner,
with exit code, stdout and stderr checked. (``diff --exit-code`` and the ``check`` habits are
in test_check.py, beside the rest of those commands.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rfcalc.cli import app
from rfcalc.foreign import ARGS, TYPES
from rfcalc.layers import REGISTRY
from tests.helpers import EXAMPLES

runner = CliRunner()
TEXTBOOK = str(EXAMPLES / "textbook.yaml")


def model(tmp_path: Path, text: str) -> str:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------ a batch dimension


def test_batch_dimension_in_the_input_option() -> None:
    result = runner.invoke(app, ["describe", TEXTBOOK, "--input", "1,1,28,28"])
    assert (result.exit_code, result.stdout) == (2, "")
    # named at the option (no file position), not at the first conv
    assert result.stderr == (
        "rfcalc: error: --input 1,1,28,28 looks like it starts with a batch dimension, which"
        " rfcalc's shapes leave out: layer 'conv2d_0' (conv2d): needs a (C, H, W) input, got"
        " shape (1, 1, 28, 28)\n"
        "hint: drop the batch dimension: --input 1,28,28\n"
    )


def test_batch_dimension_on_resnet50() -> None:
    result = runner.invoke(
        app, ["describe", str(EXAMPLES / "resnet50.yaml"), "--input", "1,3,224,224"]
    )
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("rfcalc: error: --input 1,3,224,224 looks like it starts")
    assert result.stderr.endswith("\nhint: drop the batch dimension: --input 3,224,224\n")


def test_batch_dimension_in_the_input_key(tmp_path: Path) -> None:
    path = model(
        tmp_path,
        "name: net\ninput: [1, 3, 224, 224]\nlayers:\n"
        "  - {type: conv2d, out_channels: 8, kernel_size: 3}\n",
    )
    result = runner.invoke(app, ["describe", path])
    assert (result.exit_code, result.stdout) == (2, "")
    # line 2, column 8: the value of 'input:'
    assert result.stderr == (
        f"{path}:2:8: error: input: [1, 3, 224, 224] looks like it starts with a batch"
        " dimension, which rfcalc's shapes leave out: layer 'conv2d_0' (conv2d): needs a"
        " (C, H, W) input, got shape (1, 3, 224, 224)\n"
        "hint: drop the batch dimension: input: [3, 224, 224]\n"
    )


def test_batch_dimension_found_while_an_expression_reads_a_shape(tmp_path: Path) -> None:
    # the second conv's ${in_channels} makes the builder compute the first conv's shape
    path = model(
        tmp_path,
        "input: [1, 3, 32, 32]\nlayers:\n"
        "  - {type: conv2d, out_channels: 8, kernel_size: 3}\n"
        "  - {type: conv2d, out_channels: '${in_channels * 2}', kernel_size: 3}\n",
    )
    result = runner.invoke(app, ["describe", path])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"{path}:1:8: error: input: [1, 3, 32, 32] looks like it")
    assert result.stderr.endswith("hint: drop the batch dimension: input: [3, 32, 32]\n")


def test_batch_dimension_beyond_the_largest_rank() -> None:
    # five sizes: no layer is even tried, the input itself is too long
    result = runner.invoke(app, ["describe", TEXTBOOK, "--input", "1,3,16,112,112"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "rfcalc: error: --input must be a list of 1 to 4 positive integers (channels first,"
        " no batch), got 5 sizes\n"
        "hint: drop the batch dimension: --input 3,16,112,112\n"
    )
    # a leading size above 1 is a batch size: the hint gives it to --batch
    batch = runner.invoke(app, ["describe", TEXTBOOK, "--input", "8,3,16,112,112"])
    assert batch.stderr.endswith(
        "hint: drop the batch dimension: --input 3,16,112,112"
        " (and give --batch 8 for the memory figures)\n"
    )


def test_a_leading_size_above_one_is_a_plain_rank_error(tmp_path: Path) -> None:
    # [3, 28, 28] before a conv1d is no batch of 3: the error stays at the layer
    path = model(
        tmp_path,
        "input: [3, 28, 28]\nlayers:\n  - {type: conv1d, out_channels: 4, kernel_size: 3}\n",
    )
    result = runner.invoke(app, ["describe", path])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"{path}:3:5: error: layer 'conv1d_0' (conv1d): needs a (C, L) input, got shape"
        " (3, 28, 28)\n"
    )


def test_a_valid_leading_one_is_left_alone() -> None:
    # textbook's own input is [1, 28, 28]: one channel, no batch; it describes as ever
    result = runner.invoke(app, ["describe", TEXTBOOK, "-f", "json"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert _habit_warnings(result.stdout) == []


# ------------------------------------------------------------------ channels last


def _habit_warnings(stdout: str) -> list[dict[str, str]]:
    """The JSON's channels-last warnings (the lint's warnings are test_lint.py's)."""
    warnings: list[dict[str, str]] = json.loads(stdout)["warnings"]
    return [w for w in warnings if w["code"] == "channels-last-input"]


CONV = "  - {type: conv2d, out_channels: 8, kernel_size: 3}\n"


def test_channels_last_input_warns(tmp_path: Path) -> None:
    path = model(tmp_path, f"input: [128, 128, 3]\nlayers:\n{CONV}")
    result = runner.invoke(app, ["describe", path, "-f", "json"])
    assert (result.exit_code, result.stderr) == (0, "")
    data = json.loads(result.stdout)
    message = (
        "the input [128, 128, 3] looks channels-last; rfcalc reads it channels first, so this"
        " layer sees 128 channels: if it has 3, write input: [3, 128, 128]"
    )
    assert _habit_warnings(result.stdout) == [
        {"layer": "conv2d_0", "code": "channels-last-input", "message": message}
    ]
    # read as (C=128, H=128, W=3): 3 − 3 + 1 = 1 column; 8·128·9 + 8 = 9,224 params
    assert data["layers"][0]["output_shape"] == [8, 126, 1]
    assert data["layers"][0]["params"] == 9224
    table = runner.invoke(app, ["describe", path])
    assert (table.exit_code, table.stderr) == (0, "")
    assert f"warning: conv2d_0: {message}\n" in table.stdout


def test_channels_last_input_option_warns() -> None:
    # resnet50's conv1 leaves in_channels to rfcalc: 224,224,3 is read as 224 channels
    result = runner.invoke(
        app, ["describe", str(EXAMPLES / "resnet50.yaml"), "--input", "224,224,3", "-f", "json"]
    )
    assert (result.exit_code, result.stderr) == (0, "")
    (warning,) = _habit_warnings(result.stdout)
    assert warning == {
        "layer": "conv1",
        "code": "channels-last-input",
        "message": "the input [224, 224, 3] looks channels-last; rfcalc reads it channels"
        " first, so this layer sees 224 channels: if it has 3, write --input 3,224,224",
    }


def test_channels_last_input_with_in_channels_is_the_inputs_error(tmp_path: Path) -> None:
    # in_channels: 3 against the 128 "channels" of [128, 128, 3]: the input is at fault
    path = model(
        tmp_path,
        "input: [128, 128, 3]\nlayers:\n"
        "  - {type: conv2d, in_channels: 3, out_channels: 8, kernel_size: 3}\n",
    )
    result = runner.invoke(app, ["describe", path])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"{path}:1:8: error: input: [128, 128, 3] looks channels-last, and rfcalc reads the"
        " first size as the channels: layer 'conv2d_0' (conv2d): in_channels is 3 but the"
        " input has 128\n"
        "hint: write it channels first: input: [3, 128, 128]\n"
    )


@pytest.mark.parametrize(
    ("shape", "layer"),
    [
        ("[3, 128, 128]", CONV),  # channels first
        ("[128, 128, 3]", CONV.replace("{type", "{in_channels: 128, type")),  # said so
        ("[64, 64, 5]", CONV),  # 5 is no image's channel count
        ("[256, 8, 4]", CONV),  # a small feature map, not an image
        ("[128, 3]", "  - {type: conv1d, out_channels: 8, kernel_size: 3}\n"),  # 1-D
        ("[128, 128, 3]", "  - {type: linear, out_features: 8}\n"),  # reads no channels
    ],
)
def test_no_channels_last_warning(tmp_path: Path, shape: str, layer: str) -> None:
    path = model(tmp_path, f"input: {shape}\nlayers:\n{layer}")
    result = runner.invoke(app, ["describe", path, "-f", "json"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert _habit_warnings(result.stdout) == []


# ------------------------------------------------------------------ Keras names


@pytest.mark.parametrize(
    ("shape", "layer", "error"),
    [
        (
            "[3, 32, 32]",
            "{type: dense, out_features: 10}",
            "3:12: error: unknown layer type 'dense'\n"
            "hint: rfcalc uses PyTorch's names: write 'linear'; out_features for Keras' units",
        ),
        (
            "[3, 32, 32]",
            "{type: conv2d, filters: 8, kernel_size: 3}",
            "3:20: error: layer 'conv2d_0' (conv2d): unknown argument 'filters'\n"
            "hint: rfcalc uses PyTorch's names: write 'out_channels'",
        ),
        (
            "[3, 32, 32]",
            "{type: Conv2DTranspose, out_channels: 8, kernel_size: 3}",
            "3:12: error: unknown layer type 'Conv2DTranspose'\n"
            "hint: rfcalc uses PyTorch's names: write 'convtranspose2d' (for its (C, H, W)"
            " input); out_channels for Keras' filters",
        ),
        (
            "[3, 32, 32]",
            "{type: conv2d, out_channels: 8, kernel_size: (3, 3)}",
            "3:50: error: kernel_size: (3, 3) is not a list: inside {…} YAML splits it at its"
            " commas\nhint: write a list: kernel_size: [3, 3]",
        ),
        (
            "[3, 32, 32]",
            "{type: linear, units: 10}",
            "3:20: error: layer 'linear_0' (linear): unknown argument 'units'\n"
            "hint: rfcalc uses PyTorch's names: write 'out_features'",
        ),
        (
            "[3, 32, 32]",
            "{type: conv2d, out_channels: 8, kernel_size: 3, strides: 2}",
            "3:53: error: layer 'conv2d_0' (conv2d): unknown argument 'strides'\n"
            "hint: rfcalc uses PyTorch's names: write 'stride'",
        ),
        (
            "[3, 32, 32]",
            "{type: MaxPooling2D, kernel_size: 2}",
            "3:12: error: unknown layer type 'MaxPooling2D'\n"
            "hint: rfcalc uses PyTorch's names: write 'maxpool2d' (for its (C, H, W) input);"
            " kernel_size for Keras' pool_size",
        ),
        (
            "[3, 32, 32]",
            "GlobalAveragePooling2D",
            "3:5: error: unknown layer type 'GlobalAveragePooling2D'\n"
            "hint: rfcalc uses PyTorch's names: write 'globalavgpool2d' (for its (C, H, W)"
            " input); Keras' (C) output; PyTorch's adaptiveavgpool2d with output_size 1 keeps"
            " size-1 axes",
        ),
        # a type's rank fits its input: BatchNormalization on (C, H, W) is batchnorm2d, on
        # (C, D, H, W) batchnorm3d, on features (F) batchnorm1d
        (
            "[3, 32, 32]",
            "BatchNormalization",
            "3:5: error: unknown layer type 'BatchNormalization'\n"
            "hint: rfcalc uses PyTorch's names: write 'batchnorm2d' (for its (C, H, W) input)",
        ),
        (
            "[3, 8, 32, 32]",
            "BatchNormalization",
            "3:5: error: unknown layer type 'BatchNormalization'\n"
            "hint: rfcalc uses PyTorch's names: write 'batchnorm3d' (for its (C, D, H, W)"
            " input)",
        ),
        (
            "[64]",
            "BatchNormalization",
            "3:5: error: unknown layer type 'BatchNormalization'\n"
            "hint: rfcalc uses PyTorch's names: write 'batchnorm1d' (for its (F) input)",
        ),
        # Keras' rank digit is moved to the input's: MaxPooling1D on an image is maxpool2d
        (
            "[3, 32, 32]",
            "MaxPooling1D",
            "3:5: error: unknown layer type 'MaxPooling1D'\n"
            "hint: rfcalc uses PyTorch's names: write 'maxpool2d' (for its (C, H, W) input);"
            " kernel_size for Keras' pool_size",
        ),
        # shorthands without a rank, and misspellings, get the rank that fits
        (
            "[3, 32, 32]",
            "{type: conv, out_channels: 8, kernel_size: 3}",
            "3:12: error: unknown layer type 'conv'\n"
            "hint: did you mean 'conv2d'? (for its (C, H, W) input)",
        ),
        (
            "[3, 32]",
            "batchnorm",
            "3:5: error: unknown layer type 'batchnorm'\n"
            "hint: did you mean 'batchnorm1d'? (for its (C, L) input)",
        ),
        (
            "[3, 32, 32]",
            "batchnrom1d",
            "3:5: error: unknown layer type 'batchnrom1d'\n"
            "hint: did you mean 'batchnorm2d'? (for its (C, H, W) input)",
        ),
        (
            "[3, 32, 32]",
            "rleu",
            "3:5: error: unknown layer type 'rleu'\nhint: did you mean 'relu'?",
        ),
        (
            "[3, 32, 32]",
            "{type: conv2d, out_channels: 8, kernel_size: 3, activation: relu}",
            "3:53: error: layer 'conv2d_0' (conv2d): unknown argument 'activation'\n"
            "hint: rfcalc layers take no activation: add it as the next layer (e.g. '- relu')",
        ),
        (
            "[3, 32, 32]",
            "Activation",
            "3:5: error: unknown layer type 'Activation'\n"
            "hint: write the activation itself as the layer: relu, sigmoid, …",
        ),
        (
            "[3, 32, 32]",
            "{type: dropout, rate: 0.5}",
            "3:21: error: layer 'dropout_0' (dropout): unknown argument 'rate'\n"
            "hint: rfcalc uses PyTorch's names: write 'p'",
        ),
    ],
)
def test_foreign_names_get_hints(tmp_path: Path, shape: str, layer: str, error: str) -> None:
    """Positions: the layer is on line 3 after '  - ' (columns 1–4), so '{' is column 5 and
    a key's column is 5 plus the characters before it ('{type: conv2d, ' is 15)."""
    path = model(tmp_path, f"input: {shape}\nlayers:\n  - {layer}\n")
    result = runner.invoke(app, ["describe", path])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"{path}:{error}\n"


def test_a_tuple_in_block_style_yaml(tmp_path: Path) -> None:
    # outside {…}, (3, 3) is one string
    path = model(
        tmp_path,
        "input: [3, 32, 32]\nlayers:\n  - type: conv2d\n    out_channels: 8\n"
        "    kernel_size: (3, 3)\n",
    )
    result = runner.invoke(app, ["describe", path])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"{path}:5:18: error: layer 'conv2d_0' (conv2d): kernel_size must be an integer or a"
        " non-empty list of integers, got '(3, 3)' (a string)\n"
        "hint: write a list: kernel_size: [3, 3]\n"
    )


def test_a_tuple_as_the_input(tmp_path: Path) -> None:
    path = model(tmp_path, f"input: (3, 32, 32)\nlayers:\n{CONV}")
    result = runner.invoke(app, ["describe", path])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"{path}:1:8: error: input must be a list of 1 to 4 positive integers (channels"
        " first, no batch), got '(3, 32, 32)' (a string)\n"
        "hint: write a list: input: [3, 32, 32]\n"
    )


def test_foreign_table_points_at_real_names() -> None:
    """Every suggestion in the table is a layer type (at each rank) or an argument name."""
    for name, foreign in TYPES.items():
        assert foreign.use is not None or foreign.note, name
        if foreign.use is not None:
            for n in "123":
                assert foreign.use.replace("{n}", n) in REGISTRY, (name, n)
        assert name.replace("{n}", "2") not in REGISTRY, f"{name} is a real type"
    arguments = {arg.name for kind in REGISTRY.values() for arg in kind.args}
    for name, foreign in ARGS.items():
        assert foreign.use is None or foreign.use in arguments, name
        # a hint is looked up only for an argument the layer's type does not take, so a Keras
        # name may be real elsewhere: transformerencoderlayer takes PyTorch's 'activation'
        assert name not in arguments or name == "activation", f"{name} is a real argument"


# ------------------------------------------------------------------ -h and completion


@pytest.mark.parametrize("command", [[], ["describe"], ["check"], ["diff"], ["schema"], ["layers"]])
def test_short_help_everywhere(command: list[str]) -> None:
    short = runner.invoke(app, [*command, "-h"])
    long = runner.invoke(app, [*command, "--help"])
    assert (short.exit_code, short.stderr) == (0, "")
    assert short.stdout == long.stdout
    assert short.stdout.startswith(f"Usage: rfcalc {' '.join(command)}".rstrip())
    assert "-h, --help" in short.stdout


def test_shell_completion_offered() -> None:
    help_text = runner.invoke(app, ["-h"]).stdout
    assert "--install-completion" in help_text
    assert "--show-completion" in help_text
    # in a process of its own: click's completion reads process-wide state that other tests'
    # runs in this process may have left behind
    done = subprocess.run(
        [sys.executable, "-m", "rfcalc", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert "_RFCALC_COMPLETE=complete_bash" in done.stdout


def test_shell_completion_completes_commands_and_choices() -> None:
    env = {"_RFCALC_COMPLETE": "complete_bash", "COMP_WORDS": "rfcalc de", "COMP_CWORD": "1"}
    result = runner.invoke(app, [], env=env, prog_name="rfcalc")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "describe\n", "")
    env |= {"COMP_WORDS": "rfcalc describe --format ", "COMP_CWORD": "3"}
    result = runner.invoke(app, [], env=env, prog_name="rfcalc")
    assert result.stdout.split() == ["table", "tree", "json", "markdown", "csv", "html"]
