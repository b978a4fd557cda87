"""`make bench-train`'s plumbing at small size: the generated table, the init-config timing (a real
run of the command, no JVM), the four-model config edit and the key names. The 10,000-row
figures and `make_train_s` come from `make bench-train` on an idle machine."""

from __future__ import annotations

import tomllib

import pandas as pd

from bench.own_table import FOUR_MODELS, generate_csv, own_table, size_label, use_four_models
from training.datasets.config import load_config


def test_size_labels():
    assert [size_label(n) for n in (10_000, 100_000, 250)] == ["10k", "100k", "250"]


def test_init_config_timing_and_the_four_model_config(tmp_path):
    found = own_table(300, tmp_path, train=False)
    assert list(found) == ["init_config_s_300"] and found["init_config_s_300"] > 0
    config = tmp_path / "customers-300.toml"
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    assert (data["customers"]["id"], data["customers"]["label"], data["customers"]["positive"]) == (
        "customer_id",
        "Churn",
        "Yes",
    )
    assert data["features"]["columns"]["email"] == {"ignore": True}
    use_four_models(config)
    assert FOUR_MODELS in config.read_text(encoding="utf-8")
    assert load_config(config).models == ("logistic", "gbt", "xgboost", "sklearn")


def test_generated_table_has_blanks_and_both_classes(tmp_path):
    frame = pd.read_csv(generate_csv(tmp_path / "t.csv", 500), keep_default_na=False)
    assert len(frame) == 500 and set(frame["Churn"]) == {"Yes", "No"}
    assert (frame["total_charges"] == "").any() and frame["customer_id"].is_unique
