"""Import XGBoost in a serving process without the scikit-learn it pulls in.

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

_BLOCKED = "sklearn"
_lock = threading.Lock()


class _NoSklearnHere(importlib.abc.MetaPathFinder):
    """Refuses `sklearn` to one thread; every other import and thread goes on as usual."""

    def __init__(self, thread: int) -> None:
        self.thread = thread

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001, ARG002 - the finder protocol
        if threading.get_ident() == self.thread and (name == _BLOCKED or name.startswith(_BLOCKED + ".")):
            raise ModuleNotFoundError(f"{name} is not imported while xgboost loads for serving", name=name)
        return None


def import_xgboost_without_sklearn() -> ModuleType:
    """`xgboost`, imported without scikit-learn unless it or scikit-learn is already imported."""
    with _lock:
        if "xgboost" in sys.modules or _BLOCKED in sys.modules:
            import xgboost

            return xgboost
        finder = _NoSklearnHere(threading.get_ident())
        sys.meta_path.insert(0, finder)
        try:
            return importlib.import_module("xgboost")
        except ImportError:
            # A future XGBoost that needs scikit-learn: drop the half-imported package, import as usual.
            # tests/runtime/test_xgboost_import.py fails loudly when this happens.
            for name in [n for n in sys.modules if n == "xgboost" or n.startswith("xgboost.")]:
                del sys.modules[name]
        finally:
            sys.meta_path.remove(finder)
        return importlib.import_module("xgboost")
