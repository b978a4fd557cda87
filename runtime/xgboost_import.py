"""Import XGBoost (and shap) in a serving process without the scikit-learn (PySpark) they pull in.

`import xgboost` imports scikit-learn (and with it SciPy's stats package) only to
subclass scikit-learn's base classes for `XGBClassifier` and its siblings. The
runtime uses `Booster` and `DMatrix` alone, and XGBoost supports running where
scikit-learn is not installed. On this 2-core machine that import is 2.3 s with
scikit-learn and 0.6 s without: most of the dashboard's first page after a start
when the champion is an XGBoost model.

Only processes that never fit models call this (the dashboard): in them,
`xgboost.XGBClassifier` is XGBoost's no-scikit-learn variant. Training and
Spark's Python workers import XGBoost the usual way. scikit-learn itself stays
importable: the block applies only to the thread importing XGBoost and only
while it does, so another session loading a scikit-learn model meanwhile is
unaffected.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
import threading
from types import ModuleType

_lock = threading.Lock()


class _Refused(importlib.abc.MetaPathFinder):
    """Refuses one package to one thread; every other import and thread goes on as usual."""

    def __init__(self, blocked: str, thread: int, why: str) -> None:
        self.blocked, self.thread, self.why = blocked, thread, why

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001, ARG002 - the finder protocol
        if threading.get_ident() == self.thread and (name == self.blocked or name.startswith(self.blocked + ".")):
            raise ModuleNotFoundError(f"{name} is not imported while {self.why}", name=name)
        return None


def import_without(module: str, blocked: str) -> ModuleType:
    """`module`, imported without `blocked` unless either is already imported; `module` as usual
    when it turns out to need `blocked`."""
    with _lock:
        if module in sys.modules or blocked in sys.modules:
            return importlib.import_module(module)
        finder = _Refused(blocked, threading.get_ident(), f"{module} loads for serving")
        sys.meta_path.insert(0, finder)
        try:
            return importlib.import_module(module)
        except ImportError:
            # A future version that needs the blocked package: drop the half-imported package, import as
            # usual. tests/runtime/test_xgboost_import.py fails loudly when this happens.
            for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
                del sys.modules[name]
        finally:
            sys.meta_path.remove(finder)
        return importlib.import_module(module)


def import_xgboost_without_sklearn() -> ModuleType:
    """`xgboost`, imported without scikit-learn unless it or scikit-learn is already imported."""
    return import_without("xgboost", "sklearn")


def import_shap_without_pyspark() -> ModuleType:
    """`shap`, imported without PySpark unless it or PySpark is already imported.

    shap imports PySpark at import time when it is installed (shap/explainers/_tree.py, to
    recognise Spark models), ~90 modules and 70 ms that a JVM-free process never uses: the
    runtime hands shap plain arrays (`trees.json`) or a scikit-learn model. Training processes
    have PySpark imported already and get shap as usual."""
    return import_without("shap", "pyspark")
