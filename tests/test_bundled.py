"""``rfcalc describe --example NAME`` and ``rfcalc examples``: the models shipped with rfcalc.

(That the wheel carries them is tests/test_packaging.py's part.)
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rfcalc.cli import app
from tests.helpers import EXAMPLES

runner = CliRunner()


def test_example_is_the_file_of_that_name() -> None:
    by_name = runner.invoke(app, ["describe", "--example", "textbook"])
    by_path = runner.invoke(app, ["describe", str(EXAMPLES / "textbook.yaml")])
    assert (by_name.exit_code, by_name.stderr) == (0, "")
    assert by_name.stdout == by_path.stdout
    # the README's textbook network: three unpadded 3×3 convolutions on 1×28×28,
    # params 1·32·9+32 + 32·64·9+64 + 64·64·9+64 = 320 + 18,496 + 36,928 = 55,744
    assert "Params    55,744 " in by_name.stdout


def test_example_takes_the_other_options() -> None:
    result = runner.invoke(app, ["describe", "--example", "textbook", "--input", "1,30,30"])
    assert (result.exit_code, result.stderr) == (0, "")
    # 30 − 2 − 2 − 2 = 24 positions after three unpadded 3×3 convolutions
    assert "Input     1×30×30 → output 64×24×24" in result.stdout


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("resnet5", "hint: did you mean 'resnet50'? ('rfcalc examples' lists them)\n"),
        ("xyz", "hint: the examples are: alexnet, convnext_tiny, "),
        ("../examples/textbook", "hint: the examples are: "),  # a name, never a path
    ],
)
def test_unknown_example(name: str, hint: str) -> None:
    result = runner.invoke(app, ["describe", "--example", name])
    assert result.exit_code == 2
    assert result.stdout == ""
    first, second = result.stderr.splitlines(keepends=True)
    assert first == f"rfcalc: error: --example: no bundled example '{name}'\n"
    assert second.startswith(hint)


def test_model_and_example_exclude_each_other() -> None:
    result = runner.invoke(app, ["describe", "m.yaml", "--example", "textbook"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "rfcalc: error: --example textbook: give MODEL or --example, not both (got 'm.yaml')\n"
    )


def test_neither_model_nor_example() -> None:
    result = runner.invoke(app, ["describe"])
    assert result.exit_code == 2
    assert result.stdout == ""
    # a usage error, as for any missing argument
    assert result.stderr.startswith("Usage: rfcalc describe [OPTIONS] [MODEL]\n")
    assert result.stderr.endswith(
        "Error: Invalid value for 'MODEL': missing: give a model file, - for standard input,"
        " or --example NAME\n"
    )


def test_examples_lists_every_example_with_its_file() -> None:
    result = runner.invoke(app, ["examples"])
    assert (result.exit_code, result.stderr) == (0, "")
    files = sorted(EXAMPLES.glob("*.yaml"))
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [f.stem for f in files]
    assert [line.split()[1] for line in lines] == [str(f) for f in files]


def test_help_names_the_option() -> None:
    result = runner.invoke(app, ["describe", "--help"])
    assert result.exit_code == 0
    assert "--example" in result.stdout
    assert "rfcalc examples" in result.stdout
