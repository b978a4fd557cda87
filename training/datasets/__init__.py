"""Dataset specs: where rows come from and what each column means.

Built-in datasets (telco, synthetic) and config files (`training/datasets/config.py`)
all produce a `DatasetSpec`; the pipeline never knows which one it got.
"""

from __future__ import annotations

from training.datasets.spec import DatasetSpec, FeatureSpec

__all__ = ["BUILTIN_DATASETS", "DatasetSpec", "FeatureSpec", "builtin"]

BUILTIN_DATASETS = ("telco", "movielens", "synthetic")


def builtin(name: str) -> DatasetSpec:
    if name == "telco":
        from training.datasets import telco

        return telco.SPEC
    if name == "movielens":
        from training.datasets import movielens

        return movielens.SPEC
    if name == "synthetic":
        from training.datasets import synthetic

        return synthetic.spec()
    raise KeyError(f"Unknown dataset '{name}'. Built-in datasets: {', '.join(sorted(BUILTIN_DATASETS))}.")
