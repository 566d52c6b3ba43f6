"""The ``rfcalc`` console script (and ``python -m rfcalc``): the cyclic garbage collector is
paused before the command line's modules load, typer's among them, so that their import
makes no passes over the heap either (about 5 ms of a command's start); rfcalc.cli.main says
why it stays off."""

import gc


def main() -> None:
    gc.disable()
    from rfcalc.cli import main as run

    run()
