"""The kernel protocol and the registry of runtime kinds.

A *runtime kind* says how to turn a model's portable files into a kernel with
two methods on encoded input slots (see `runtime/encoding.py`):

- `margin(x)`: the model's log-odds for each row;
- `contributions(x)`: per-slot SHAP values in log-odds and each row's base value
  (base + sum of the row's values = its margin).

Each kind lives in its own module (`runtime/linear.py`, `tree.py`, `xgb.py`,
`sklearn_hgb.py`) and registers itself with `@register("kind")` when the
`runtime` package is imported. A new model family whose portable form fits an
existing kind needs no change here; a genuinely new form is one more module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Protocol

import numpy as np

from runtime.errors import ModelFileError


class Kernel(Protocol):
    # Kernels built from files also say how many encoded columns the model was trained on
    # (`input_width`, None when the file does not say; `min_width` as a lower bound), which
    # `runtime.model.check_width` reads: optional, so stand-in kernels in tests need neither.
    def margin(self, x: np.ndarray) -> np.ndarray: ...

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


Factory = Callable[[Mapping[str, bytes]], Kernel]
KINDS: dict[str, Factory] = {}


def register(kind: str) -> Callable[[Factory], Factory]:
    def add(factory: Factory) -> Factory:
        KINDS[kind] = factory
        return factory

    return add


def build_kernel(kind: str, files: Mapping[str, bytes]) -> Kernel:
    """A kernel from a model's portable files ({file name: bytes}); `ModelFileError` if it cannot be built."""
    if kind not in KINDS:
        raise ModelFileError(f"Unknown model runtime kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}.")
    try:
        return KINDS[kind](files)
    except ModelFileError:
        raise
    except Exception as exc:  # a malformed model file must become a readable refusal
        raise ModelFileError(f"The {kind} model files cannot be loaded: {type(exc).__name__}: {exc}") from exc


def required(files: Mapping[str, bytes], name: str) -> bytes:
    if name not in files:
        raise ModelFileError(f"model file {name} is missing")
    return files[name]


def model_json(files: Mapping[str, bytes], name: str) -> dict:
    return json.loads(required(files, name).decode("utf-8"))
