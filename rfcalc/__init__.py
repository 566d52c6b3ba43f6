"""rfcalc: shapes, parameters, MACs and receptive fields of neural networks from YAML.

In Python and in notebooks (docs/python.md)::

    import rfcalc

    report = rfcalc.describe("examples/textbook.yaml")    # a path, YAML text or a dict
    report                         # one line; a notebook shows the table
    report.totals.params           # 55744
    report.final.rf.size           # (7, 7): the final receptive field
    report.to_dict()               # the JSON document of `rfcalc describe --format json`
    report.to_pandas()             # one row per layer (needs pandas)
    rfcalc.check("examples/resnet50.yaml", max_params="30M").passed

- describe(model, vars=None, input_shape=None, batch=1, dtype="float32", depth=None) -> Report
- load(model, vars=None, input_shape=None) -> Graph, then analyze(graph, batch, dtype, depth)
- check(model, vars=None, input_shape=None, **limits) -> CheckResult
- RfcalcError: every mistake in a model; str(error) is the positioned message.

``import rfcalc`` is cheap: the functions are imported from :mod:`rfcalc.api` on first use.
"""

from __future__ import annotations

TYPE_CHECKING = False  # as typing's, without importing typing (mypy reads the name)
__version__ = "0.1.0"
__all__ = [
    "CheckResult",
    "Graph",
    "Report",
    "RfcalcError",
    "__version__",
    "analyze",
    "check",
    "describe",
    "load",
]

if TYPE_CHECKING:
    from rfcalc.api import CheckResult, Graph, Report, analyze, check, describe, load
    from rfcalc.errors import RfcalcError

_HOMES = {name: "rfcalc.api" for name in __all__ if name not in ("RfcalcError", "__version__")}
_HOMES["RfcalcError"] = "rfcalc.errors"


def __getattr__(name: str) -> object:
    """The public names, imported when first used (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rfcalc' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
