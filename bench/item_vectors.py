"""Item vectors on MovieLens: neighbour quality and fit time by Word2Vec partitions and iterations.

    python -m bench.item_vectors        (~5 minutes; docs/item-vectors.md holds the figures)

The genre-overlap ratio (each item's ten nearest neighbours against ten random items, the figure the
manifest records) at 1, 2, 4 and 8 partitions (5 iterations, seed 42), each fitted twice to see whether
the same input gives the same vectors; then 5 and 10 iterations over four seeds on one partition.
Every fit goes through `training.items.corpus` (one ordered input partition), as training does.

Keys (flat, test-output/bench.json): `w2v_movielens_ratio_p<P>_it5`, `w2v_movielens_fit_s_p<P>_it5`,
`w2v_movielens_reproducible_p<P>`, `w2v_movielens_ratio_it<N>_seed<S>`, `w2v_movielens_ratio_it<N>_mean`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np
from pyspark.sql import SparkSession

from training import events as ev
from training import items

SEEDS = (1, 2, 3, 42)


def _measure(
    spark: SparkSession, source: ev.EventSource, settings: items.Word2VecParams, seed: int = 42
) -> tuple[float, float, dict]:
    """(quality ratio, fit seconds, corpus facts) of one fit on `source`'s events."""
    events, item_table = source.load(spark)
    events = events.cache()
    vectors = items.train_vectors(events, item_table, dataclasses.replace(settings, map_points=0), seed)
    events.unpersist()
    return float(vectors.quality["ratio"] or np.nan), vectors.fit_seconds, vectors.corpus


def _movielens(spark: SparkSession) -> dict:
    from training.datasets.movielens import SOURCE

    found: dict = {}
    base = items.Word2VecParams()
    for partitions in (1, 2, 4, 8):
        settings = dataclasses.replace(base, numPartitions=partitions, maxIter=5)
        runs = [_measure(spark, SOURCE, settings) for _ in range(2)]
        (ratio, seconds, _), (again, _, _) = runs
        found |= {
            f"w2v_movielens_ratio_p{partitions}_it5": ratio,
            f"w2v_movielens_fit_s_p{partitions}_it5": round(seconds, 1),
            f"w2v_movielens_reproducible_p{partitions}": ratio == again,
        }
        print(f"MovieLens, {partitions} partition(s): ratio {ratio:.3f} (again: {again:.3f}), fit {seconds:.1f} s")
    for iterations in (5, 10):
        ratios = [_measure(spark, SOURCE, dataclasses.replace(base, maxIter=iterations), seed)[0] for seed in SEEDS]
        found |= {f"w2v_movielens_ratio_it{iterations}_seed{s}": r for s, r in zip(SEEDS, ratios)}
        found[f"w2v_movielens_ratio_it{iterations}_mean"] = round(float(np.mean(ratios)), 3)
        print(f"MovieLens, {iterations} iterations, seeds {SEEDS}: {ratios}", flush=True)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.item_vectors", description=__doc__)
    parser.parse_args(argv)
    from bench.report import record_and_print
    from training.spark import get_spark

    spark = get_spark("churnlens-bench-item-vectors", master="local[2]")
    record_and_print(_movielens(spark))
    return 0


if __name__ == "__main__":
    sys.exit(main())
