"""A three-customer bundle written through the real writer, for contract tests
that need no Spark. Its model is a real linear runtime model (linear.json) and
its numbers are consistent with it: probability = sigmoid(margin), base value +
sum(SHAP) = margin, and the runtime reproduces both.

Slots: tenure (fill 10), contract=Monthly, contract=Yearly; weights 0.05, -1, 1;
means 10, 0.5, 0.5; intercept -1.5, so the base value is -1.0.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from bundle import layout
from bundle.reader import Bundle
from bundle.writer import stage_bundle

FEATURES = [
    {"name": "tenure", "type": "numeric", "label": "Tenure (months)"},
    {"name": "contract", "type": "categorical", "label": "Contract", "categories": ["Monthly", "Yearly"]},
]


LINEAR = {"coefficients": [0.05, -1.0, 1.0], "intercept": -1.5, "feature_means": [10.0, 0.5, 0.5]}


def tiny_manifest(id_type: str = "int") -> dict:
    return {
        "created_at": "2026-11-22T00:00:00+00:00",
        "dataset": {
            "name": "tiny",
            "source": "tests",
            "fingerprint": "x",
            "rows": 3,
            "label_rate": 1 / 3,
            "label_name": "churn",
            "positive_label": "Yes",
            "id_type": id_type,
        },
        "split": {"method": "fixed", "seed": 0, "test_fraction": 0.34, "train_rows": 2, "test_rows": 1},
        "features": FEATURES,
        "encoding": [
            {"feature": "tenure", "kind": "numeric", "fill": 10.0},
            {"feature": "contract", "kind": "onehot", "category": "Monthly"},
            {"feature": "contract", "kind": "onehot", "category": "Yearly"},
        ],
        "models": {
            "lin": {
                "family": "test",
                "display_name": "Linear",
                "params": {},
                "metrics": {"roc_auc": 1.0},
                "threshold": 0.5,
                "training_seconds": 0.0,
                "shap": {"base_value": -1.0, "output": "log_odds", "method": "exact"},
                "files": {"linear": "models/lin/linear.json"},
                "runtime": {"kind": "linear", "files": {"linear.json": "models/lin/linear.json"}},
                # The stored margins are computed from the same weights the runtime loads.
                "parity": {"reference": "tests/bundle/tiny.py's own margins", "max_abs_margin": 0.0, "rows": 3},
                "calibration": {
                    "method": "none",
                    "slope": 1.0,
                    "intercept": 0.0,
                    "rows": 0,
                    "fitted_on": "tests/bundle/tiny.py: not calibrated",
                },
            }
        },
        "champion": "lin",
        "champion_metric": "roc_auc",
        "audit": {"measured": False, "note": "tests/bundle/tiny.py: three customers, nothing to audit"},
        "versions": {},
        "timings": {},
    }


def write_tiny_bundle(
    root: Path,
    name: str = "tiny",
    run_id: str = "run1",
    shap_offset: float = 0.0,
    probability_of_first: float | None = None,
    ids: list | None = None,
    recent_items: pd.DataFrame | None = None,
) -> Bundle:
    """Three customers (IDs 3, 7, 11 unless `ids` gives three sorted others, e.g. strings);
    with `recent_items` (CUSTOMER_ITEMS rows) also item vectors (`write_tiny_item_tables`)."""
    ids_array = np.array(ids if ids is not None else [3, 7, 11])
    # tenure 1, 30, missing (→ 10); contract Monthly, Yearly, Monthly
    shap = pd.DataFrame({layout.ID_COLUMN: ids_array, "tenure": [-0.45, 1.0, 0.0], "contract": [-1.0, 1.0, -1.0]})
    margin = -1.0 + shap["tenure"] + shap["contract"]
    with stage_bundle(root, name, run_id) as staged:
        staged.write_table(
            layout.CUSTOMERS,
            pd.DataFrame(
                {
                    layout.ID_COLUMN: ids_array,
                    layout.LABEL_COLUMN: [1, 0, 0],
                    layout.SPLIT_COLUMN: ["train", "train", "test"],
                    "tenure": [1.0, 30.0, np.nan],
                    "contract": ["Monthly", "Yearly", "Monthly"],
                }
            ),
        )
        probability = 1 / (1 + np.exp(-margin))
        if probability_of_first is not None:
            probability[0] = probability_of_first
        staged.write_table(
            layout.predictions_path("lin"),
            pd.DataFrame(
                {layout.ID_COLUMN: ids_array, layout.PROBABILITY_COLUMN: probability, layout.MARGIN_COLUMN: margin}
            ),
        )
        staged.write_table(layout.shap_path("lin"), shap.assign(tenure=shap["tenure"] + shap_offset))
        staged.write_table(
            layout.BACKGROUND,
            pd.DataFrame({layout.ID_COLUMN: ids_array[:2], "tenure": [1.0, 30.0], "contract": ["Monthly", "Yearly"]}),
        )
        staged.target("models/lin/linear.json").write_text(json.dumps(LINEAR))
        staged.write_table(
            layout.CURVES,
            pd.DataFrame({"model": ["lin"], "curve": ["roc"], "x": [0.0], "y": [1.0], "threshold": [0.5]}),
        )
        write_tiny_model_tables(staged, ids_array)
        manifest = tiny_manifest("int" if ids_array.dtype.kind in "iu" else "string")
        if recent_items is not None:
            manifest["items"] = write_tiny_item_tables(staged, recent_items)
        return staged.publish(manifest)


TINY_ITEMS = ["a", "b", "c", "d"]


def write_tiny_item_tables(staged, recent_items: pd.DataFrame, rows_per_group: int | None = None) -> dict:
    """Four items with 2-d vectors, their map, a stand-in Word2Vec folder and `recent_items` as
    CUSTOMER_ITEMS (in `rows_per_group`-row groups if given); returns the manifest's items entry."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], dtype=np.float32)
    staged.write_table(
        layout.ITEMS,
        pd.DataFrame(
            {
                layout.ITEM_ID_COLUMN: TINY_ITEMS,
                "title": ["A", "B", "C", "D"],
                "year": [2001.0, np.nan, 2003.0, 2004.0],
                "genres": ["X", "X|Y", "Y", ""],
                "users": [3, 2, 2, 1],
            }
        ),
    )
    staged.write_table(
        layout.ITEM_VECTORS,
        pa.table(
            {
                layout.ITEM_ID_COLUMN: TINY_ITEMS,
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), 2),
            }
        ),
    )
    staged.write_table(
        layout.ITEM_MAP,
        pd.DataFrame(
            {
                layout.ITEM_ID_COLUMN: TINY_ITEMS,
                "pca_x": vectors[:, 0].astype(float),
                "pca_y": vectors[:, 1].astype(float),
                "tsne_x": np.nan,
                "tsne_y": np.nan,
            }
        ),
    )
    staged.target(f"{layout.WORD2VEC_DIR}/data/part-0.parquet").write_bytes(b"stand-in: the checks only need it listed")
    table = pa.Table.from_pandas(recent_items, preserve_index=False)
    pq.write_table(table, staged.target(layout.CUSTOMER_ITEMS), row_group_size=rows_per_group or max(1, len(table)))
    return {"method": "word2vec", "items": len(TINY_ITEMS), "dimensions": 2, "params": {"history_items": 3}}


def _tiny_evaluation_tables() -> dict[str, pd.DataFrame]:
    edges = np.linspace(0, 1, 21)
    calibration: dict[str, object] = {"model": ["lin"], "bin": [1], "lower": [0.1], "upper": [0.2]}
    calibration |= {"mean_predicted": [0.15], "observed_rate": [0.0], "count": [1]}
    scores: dict[str, object] = {"model": "lin", "label": np.repeat([0, 1], 20), "lower": np.tile(edges[:-1], 2)}
    scores |= {"upper": np.tile(edges[1:], 2), "count": np.zeros(40, dtype=int)}
    return {layout.CALIBRATION: pd.DataFrame(calibration), layout.SCORE_DISTRIBUTION: pd.DataFrame(scores)}


def _tiny_explanation_tables(ids: np.ndarray) -> dict[str, pd.DataFrame]:
    importance: dict[str, object] = {"model": "lin", "feature": ["tenure", "contract"], "mean_drop": [0.0, 0.5]}
    importance |= {"std_drop": [0.0, 0.1], "repeats": 5}
    pdp: dict[str, object] = {
        "model": "lin",
        "feature": ["tenure", "tenure", "contract", "contract"],
        "grid_index": [0, 1, 0, 1],
    }
    pdp |= {"value": ["1", "30", "Monthly", "Yearly"], "numeric_value": [1.0, 30.0, None, None]}
    pdp |= {"average_probability": [0.2, 0.5, 0.1, 0.6], "customers": 3}
    ice: dict[str, object] = {"model": "lin", "feature": "tenure", "grid_index": [0, 1], layout.ID_COLUMN: ids[0]}
    ice |= {"probability": [0.2, 0.4]}
    return {
        layout.PERMUTATION_IMPORTANCE: pd.DataFrame(importance),
        layout.PDP: pd.DataFrame(pdp),
        layout.ICE: pd.DataFrame(ice),
    }


def write_tiny_model_tables(staged, ids: np.ndarray) -> None:
    """Calibration, score distribution, permutation importance, PDP and ICE for model `lin`."""
    for path, table in (_tiny_evaluation_tables() | _tiny_explanation_tables(ids)).items():
        staged.write_table(path, table)
