"""This project's side of `bench.vs_explainerdashboard`: the pipeline's own stages on Spark.

    python -m bench.ed_ours --bundle artifacts/telco --customers RAW.parquet --out RESULT.json

Starts from the tiled customers' raw features (what the pipeline has after validate) and runs,
on `local[2]` with the bundle's own XGBoost booster and fitted Spark feature pipeline:
encoding (`training.features.encode`), the score + SHAP pass written as sorted Parquet
(`training.explain.write_explained`, as the pipeline's "score + SHAP" stage: on the driver up
to `DRIVER_WORK` customer-model pairs, in `mapInArrow` workers beyond), mean |SHAP| per feature streamed
from those part files (what the Global explanations page shows), partial dependence + ICE
(`training.partial_dependence`) and permutation importance (`training.importance`). The table
is cached as the pipeline caches it.
Spark start-up is timed on its own.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def _no_table(spark):
    """The PDP stage reads the customers it is given, never the spec's source table."""
    raise RuntimeError("bench.ed_ours passes its customers table to each stage; the spec loads none")


def _spec(manifest: dict):
    """The DatasetSpec the PDP stage needs (feature names and types), from the bundle's manifest."""
    from training.datasets import DatasetSpec, FeatureSpec

    features = tuple(FeatureSpec(name=f["name"], type=f["type"], label=f["name"]) for f in manifest["features"])
    return DatasetSpec(
        name=manifest["dataset"]["name"],
        source="bench",
        id_column=None,
        label_column="label",
        positive_label="1",
        features=features,
        load=_no_table,
    )


def mean_abs_shap(files: list[Path], columns: list[str]) -> np.ndarray:
    """Mean |SHAP| of each column over every row of the sorted part files (one batch in memory)."""
    from training.publish import iter_batches

    total, rows = np.zeros(len(columns)), 0
    for batch in iter_batches(files, columns):
        total += np.abs(np.column_stack([batch.column(i).to_numpy() for i in range(len(columns))])).sum(axis=0)
        rows += batch.num_rows
    return total / max(rows, 1)


class Stopwatch:
    """Seconds per named part of the run, printed as each part ends."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.seconds: dict[str, float] = {"imports": time.perf_counter() - started}

    def __call__(self, part: str, work):
        begun = time.perf_counter()
        result = work()
        self.seconds[part] = time.perf_counter() - begun
        print(f"  ours: {part} {self.seconds[part]:.1f} s", flush=True)
        return result


def _explain(
    timed: Stopwatch, encoded, model, slots: list[dict], names: list[str], rows: int
) -> tuple[int, np.ndarray]:
    """Score + SHAP every row through the pipeline's own stage, then mean |SHAP| per feature."""
    from bundle import layout
    from training import explain, publish

    with tempfile.TemporaryDirectory(prefix="ed-bench-ours-") as scratch:
        keep = [layout.ID_COLUMN, layout.LABEL_COLUMN, layout.SPLIT_COLUMN, *names]

        def score_and_shap():
            target = Path(scratch) / publish.SCORED_DIR
            return explain.write_explained(encoded, [model], slots, names, keep, target, rows)

        scored = timed("shap", score_and_shap)
        columns = [explain.shap_column("xgboost", f) for f in names]
        return len(scored), timed("mean_abs_shap", lambda: mean_abs_shap(scored, columns))


def _permutation(table, model, slots: list[dict], names: list[str], seed: int):
    from pyspark.sql import functions as F

    from bundle import layout
    from runtime import build_kernel
    from training import importance

    test_rows = int(table.where(F.col(layout.SPLIT_COLUMN) == "test").count())
    sample = importance.test_sample(table, names, test_rows, seed)
    kernels = {"xgboost": build_kernel(model.runtime, model.portable)}
    labels = sample[layout.LABEL_COLUMN].to_numpy()
    return importance.permutation_importance(kernels, sample[names], labels, slots, names, seed)


def run(bundle_path: Path, customers: Path, master: str, seed: int) -> dict:
    timed = Stopwatch(time.perf_counter())
    from pyspark.ml import PipelineModel

    from bundle.manifest import feature_names
    from bundle.reader import open_bundle
    from training import features, partial_dependence
    from training.scoring import model_from_bundle
    from training.spark import get_spark, local_input_rows

    bundle = open_bundle(bundle_path)
    manifest = bundle.manifest
    names, slots = feature_names(manifest), manifest["encoding"]
    model = model_from_bundle(bundle, "xgboost")  # scored and explained by runtime
    size = local_input_rows([str(customers)])  # sizes the driver JVM as `python -m training` does
    spark = timed("spark_start", lambda: get_spark("churnlens-bench-ed", master, size))

    def read():
        table = spark.read.parquet(customers.resolve().as_uri()).cache()
        return table, table.count()

    table, rows = timed("read", read)
    # The fitted feature pipeline as the bundle stores it (the pipeline's features stage fits it instead).
    pipeline_model = timed(
        "pipeline_load", lambda: PipelineModel.load(str(bundle.path / "features" / "spark_pipeline"))
    )

    def encode():
        encoded = features.encode(pipeline_model, table).cache()
        encoded.count()
        return encoded

    encoded = timed("encode", encode)
    shap_files, importances = _explain(timed, encoded, model, slots, names, rows)
    spec = _spec(manifest)

    def pdp():
        grid_source = partial_dependence.grid_rows(table, names, rows, seed)
        return partial_dependence.compute(table, grid_source, spec, slots, [model], seed)

    pdp_table, ice_table = timed("pdp", pdp)
    permutation_table = timed("permutation", lambda: _permutation(table, model, slots, names, seed))
    for cached in (encoded, table):
        cached.unpersist()
    spark.stop()
    return {
        "rows": rows,
        "features": len(names),
        "shap_files": shap_files,
        "mean_abs_shap_max": float(importances.max()),
        "pdp_rows": len(pdp_table),
        "ice_rows": len(ice_table),
        "permutation_rows": len(permutation_table),
        "seconds": timed.seconds,
        "total_s": time.perf_counter() - timed.started,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ed_ours", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--customers", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    args.out.write_text(json.dumps(run(args.bundle, args.customers, args.master, args.seed), indent=2))


if __name__ == "__main__":
    main()
