"""The runtime package on its own: registry, refusals, and the bundle glue around it (no Spark)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import runtime
from bundle.models import load_runtime
from bundle.reader import BundleError, open_bundle
from runtime import KINDS, ModelFileError, build_kernel, register, sigmoid
from tests.bundle.tiny import write_tiny_bundle

REPO = Path(__file__).resolve().parents[2]


def test_every_kind_registers_itself_when_the_package_is_imported():
    assert {"linear", "tree", "xgboost", "sklearn_hgb"} <= set(KINDS)
    assert set(runtime.__all__) >= {"KINDS", "Kernel", "ModelRuntime", "build_kernel", "encode_rows", "sigmoid"}


def test_runtime_imports_nothing_of_ours():
    ours = "{'bundle', 'training', 'dashboard', 'store', 'analytics'}"
    code = f"import sys, runtime; print(sorted({{m.split('.')[0] for m in sys.modules}} & {ours}))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_refusals_are_model_file_errors_with_readable_messages():
    with pytest.raises(ModelFileError, match="Unknown model runtime kind 'forest'; known kinds: .*linear"):
        build_kernel("forest", {})
    with pytest.raises(ModelFileError, match="^model file linear.json is missing$"):
        build_kernel("linear", {})
    with pytest.raises(ModelFileError, match="^The linear model files cannot be loaded: JSONDecodeError"):
        build_kernel("linear", {"linear.json": b"{not json"})
    with pytest.raises(ModelFileError, match="model file model.ubj is missing"):
        build_kernel("xgboost", {"model.skops": b""})
    assert issubclass(ModelFileError, ValueError)


def test_a_new_kind_is_one_registered_factory():
    @register("constant-test")
    class Constant:
        def __init__(self, files):
            self.value = float(json.loads(files["c.json"])["value"])

        def margin(self, x):
            return np.full(len(x), self.value)

        def contributions(self, x):
            return np.zeros_like(x), np.full(len(x), self.value)

    try:
        kernel = build_kernel("constant-test", {"c.json": b'{"value": 2.0}'})
        assert kernel.margin(np.zeros((3, 2))).tolist() == [2.0, 2.0, 2.0]
    finally:
        del KINDS["constant-test"]


def test_the_one_sigmoid_is_safe_at_the_extremes():
    values = sigmoid(np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0]))
    assert np.all(np.isfinite(values)) and values[2] == 0.5
    assert values[0] == 0.0 and values[-1] == 1.0
    assert values[1] == pytest.approx(1 - values[3])


def test_bundle_glue_runs_the_model_and_turns_file_errors_into_bundle_errors(tmp_path):
    write_tiny_bundle(tmp_path)
    bundle = open_bundle(tmp_path / "tiny")
    model = load_runtime(bundle, "lin")
    assert model.base_value == pytest.approx(-1.5 + 0.05 * 10 - 0.5 + 0.5)  # intercept + w · means
    with pytest.raises(BundleError, match="^Bundle 'tiny' has no model 'nope'.$"):
        load_runtime(bundle, "nope")
    bundle.file("models/lin/linear.json").write_text("{broken")
    with pytest.raises(BundleError, match="^Model 'lin' of bundle 'tiny' cannot run: The linear model files cannot"):
        load_runtime(bundle, "lin")
