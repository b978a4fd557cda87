"""Global explanations page data: what drives the model across all customers, or a cohort of them.

Everything is recomputed from stored per-customer tables (raw features, SHAP
values, probabilities) and the precomputed PDP/ICE and permutation-importance
tables; no model runs here, so a cohort filter costs array masking only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from analytics.cohort import Condition, cohort_mask
from bundle import layout
from bundle.manifest import feature_names, model_names
from bundle.reader import Bundle
from dashboard.views.common import MISSING
from store.rows import read_rows, table_rows

# Above this many customers the page works on a fixed random sample of them (plus the ICE
# customers): mean |SHAP| of 100,000 customers is within ~1% of all of them, and the
# page's memory then stays ~150 MB per run whatever the bundle's size.
EXPLAIN_SAMPLE_ROWS = 100_000
BEESWARM_MAX_POINTS = 5000
DEPENDENCE_MAX_POINTS = 2000
INTERACTION_BINS = 10
SAMPLE_SEED = 0
PDP_TABLE = getattr(layout, "PDP", "explain/pdp.parquet")
ICE_TABLE = getattr(layout, "ICE", "explain/ice.parquet")
PERMUTATION_TABLE = getattr(layout, "PERMUTATION_IMPORTANCE", "evaluation/permutation_importance.parquet")


@dataclass(frozen=True)
class ExplainData:
    """Per-customer arrays of one bundle run, row-aligned with customers.parquet. Read-only."""

    features: list[dict]  # manifest feature entries, display order
    frame: pd.DataFrame  # customer_id, label, split, raw feature columns
    probability: dict[str, np.ndarray]
    shap: dict[str, np.ndarray]  # model -> (customers x features)
    # feature -> encoded values of every customer (see `encoded_values`), filled once at load.
    encoded: dict[str, np.ndarray] = field(default_factory=dict)
    total: int = 0  # customers in the bundle; more than len(frame) when the rows are a sample

    @property
    def sampled(self) -> bool:
        return self.total > len(self.frame)

    def values(self, name: str) -> np.ndarray:
        if name in self.encoded:
            return self.encoded[name]
        feature = next(f for f in self.features if f["name"] == name)
        return encoded_values(feature, self.frame[name])


def load_explain_data(bundle: Bundle, max_rows: int = EXPLAIN_SAMPLE_ROWS) -> ExplainData:
    """Every customer's rows, or above `max_rows` customers a fixed random sample of them
    (always including the customers that have ICE lines), read one row group at a time."""
    names = feature_names(bundle.manifest)
    total = table_rows(bundle, layout.CUSTOMERS)
    positions = None if total <= max_rows else _sample_positions(bundle, total, max_rows)
    frame = read_rows(bundle, layout.CUSTOMERS, positions).to_pandas()
    probability, shap = {}, {}
    for model in model_names(bundle.manifest):
        probability[model] = (
            read_rows(bundle, layout.predictions_path(model), positions, [layout.PROBABILITY_COLUMN])
            .column(0)
            .to_numpy()
        )
        table = read_rows(bundle, layout.shap_path(model), positions, names)
        shap[model] = np.column_stack([table.column(n).to_numpy() for n in names])
    features = list(bundle.manifest["features"])
    encoded = {f["name"]: encoded_values(f, frame[f["name"]]) for f in features}
    return ExplainData(features=features, frame=frame, probability=probability, shap=shap, encoded=encoded, total=total)


def _sample_positions(bundle: Bundle, total: int, size: int) -> np.ndarray:
    picked = np.random.default_rng(SAMPLE_SEED).choice(total, size=size, replace=False)
    if ICE_TABLE in bundle.manifest["files"]:
        ice_ids = pc.unique(bundle.read_table(ICE_TABLE, columns=[layout.ID_COLUMN]).column(0))
        ids = bundle.read_table(layout.CUSTOMERS, columns=[layout.ID_COLUMN]).column(0)
        found = pc.index_in(ids, value_set=ice_ids.cast(ids.type))
        picked = np.union1d(picked, np.flatnonzero(found.is_valid().to_numpy(zero_copy_only=False)))
    return np.sort(picked)


def encoded_values(feature: Mapping, column: pd.Series) -> np.ndarray:
    """A feature's values as numbers for colouring and correlation: numeric as is, binary 0/1,
    categories by their rank in the manifest's category list; missing -> NaN."""
    if feature["type"] == "categorical":
        categories = [str(c) for c in feature.get("categories") or []]
        codes = pd.Categorical(column.astype("string"), categories=categories).codes.astype(np.float64)
        return np.where(codes < 0, np.nan, codes)  # -1: missing or a category the model never saw
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)


def normalised(values: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1] (a constant column -> 0.5), NaN stays NaN."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return values
    low, high = finite.min(), finite.max()
    return np.full_like(values, 0.5) if high == low else (values - low) / (high - low)


def value_texts(feature: Mapping, values: np.ndarray) -> list[str]:
    """Values as the Customer page shows them (`common.display_value`), fast for thousands of points."""
    kind = feature["type"]
    if kind == "categorical":
        return pd.Series(values, dtype="string").fillna(MISSING).tolist()
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    if kind == "binary":
        return [MISSING if v != v else ("Yes" if v == 1 else "No" if v == 0 else f"{v:g}") for v in numbers]
    return [MISSING if v != v else (f"{int(v):,}" if v.is_integer() else f"{v:,.2f}") for v in numbers.tolist()]


def importance_table(data: ExplainData, model: str, mask: np.ndarray) -> pd.DataFrame:
    """Mean |SHAP| per feature over the cohort, largest first."""
    shap = data.shap[model][mask]
    mean_abs = np.abs(shap).mean(axis=0) if len(shap) else np.zeros(len(data.features))
    return (
        pd.DataFrame(
            {
                "feature": [f["name"] for f in data.features],
                "label": [f["label"] for f in data.features],
                "mean_abs_shap": mean_abs,
            }
        )
        .sort_values("mean_abs_shap", ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def sample_rows(mask: np.ndarray, limit: int, seed: int = SAMPLE_SEED) -> np.ndarray:
    """Row positions of at most `limit` cohort members: the same customers on every run (fixed seed)."""
    rows = np.flatnonzero(mask)
    if len(rows) <= limit:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))


def beeswarm_points(
    data: ExplainData, model: str, mask: np.ndarray, order: list[str], max_points: int = BEESWARM_MAX_POINTS
) -> pd.DataFrame:
    """One point per (sampled customer, feature): SHAP value, value text, colour in [0, 1].
    Customers are sampled so that points stay <= `max_points` in total."""
    index = {f["name"]: i for i, f in enumerate(data.features)}
    per_feature = max(max_points // max(len(order), 1), 1)
    rows = sample_rows(mask, per_feature)
    columns = [index[name] for name in order]
    n = len(rows)
    # Built column-wise into one frame: one small frame per feature costs more than the data.
    texts: list[str] = []
    for name in order:
        texts += value_texts(data.features[index[name]], data.frame[name].to_numpy()[rows])
    return pd.DataFrame(
        {
            "feature": np.repeat(np.asarray(order, dtype=object), n),
            "label": np.repeat(np.asarray([data.features[i]["label"] for i in columns], dtype=object), n),
            "rank": np.repeat(np.arange(len(order)), n),
            "shap": data.shap[model][np.ix_(rows, columns)].T.reshape(-1) if columns else np.array([]),
            # Colour by the value's place among all customers, so a cohort keeps the global colour scale.
            "colour": np.concatenate([normalised(data.values(name))[rows] for name in order]) if order else [],
            "value": texts,
        }
    )


def interaction_feature(data: ExplainData, model: str, feature: str, mask: np.ndarray) -> tuple[str | None, float]:
    """The feature that interacts most with `feature`, and its score.

    Within bins of `feature`'s own value (deciles for numeric features, one bin per
    category or Yes/No), the spread of `feature`'s SHAP values that is left is what
    other features explain. Each candidate's score is the size-weighted mean of
    |correlation| between `feature`'s SHAP values and the candidate's (encoded) values
    inside each bin; the highest score wins (the same idea as shap's
    `approximate_interactions`)."""
    index = {f["name"]: i for i, f in enumerate(data.features)}
    main = data.features[index[feature]]
    rows = np.flatnonzero(mask)
    if len(rows) < 3:
        return None, 0.0
    own = data.values(feature)[rows]
    if main["type"] == "numeric":
        edges = (
            np.unique(np.nanquantile(own, np.linspace(0, 1, INTERACTION_BINS + 1)))
            if np.isfinite(own).any()
            else np.array([0.0])
        )
        bins = np.searchsorted(edges[1:-1], own, side="right")
    else:
        bins = np.nan_to_num(own, nan=-1.0)
    shap = data.shap[model][rows, index[feature]]
    best, best_score = None, 0.0
    for other in data.features:
        if other["name"] == feature:
            continue
        values = data.values(other["name"])[rows]
        total, weight = 0.0, 0
        for b in np.unique(bins):
            in_bin = (bins == b) & np.isfinite(values)
            if in_bin.sum() < 3 or np.std(values[in_bin]) == 0 or np.std(shap[in_bin]) == 0:
                continue
            total += abs(float(np.corrcoef(shap[in_bin], values[in_bin])[0, 1])) * in_bin.sum()
            weight += int(in_bin.sum())
        score = total / weight if weight else 0.0
        if score > best_score:
            best, best_score = other["name"], score
    return best, best_score


def dependence_points(
    data: ExplainData,
    model: str,
    feature: str,
    colour_by: str | None,
    mask: np.ndarray,
    max_points: int = DEPENDENCE_MAX_POINTS,
) -> pd.DataFrame:
    """Sampled cohort customers: `feature`'s value (number or category), its SHAP value, the
    interacting feature's value as text and as a colour in [0, 1]."""
    index = {f["name"]: i for i, f in enumerate(data.features)}
    main = data.features[index[feature]]
    rows = sample_rows(mask, max_points)
    column = data.frame[feature].to_numpy()[rows]
    out = pd.DataFrame(
        {
            "x": data.values(feature)[rows] if main["type"] == "numeric" else value_texts(main, column),
            "value": value_texts(main, column),
            "shap": data.shap[model][rows, index[feature]],
        }
    )
    if colour_by is not None:
        other = data.features[index[colour_by]]
        out["colour"] = normalised(data.values(colour_by))[rows]
        out["colour_value"] = value_texts(other, data.frame[colour_by].to_numpy()[rows])
    return out


def pdp_ice(
    pdp: pd.DataFrame, ice: pd.DataFrame | None, model: str, feature: str, cohort_ids: np.ndarray | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(PDP line, ICE lines) of one model and feature from the precomputed grids. With a
    cohort, ICE lines are limited to its customers and a cohort average line is added."""
    line = pdp[(pdp["model"] == model) & (pdp["feature"] == feature)].sort_values("grid_index").copy()
    line["curve"] = "All customers (PDP)"
    lines = ice if ice is not None else pd.DataFrame(columns=["model", "feature", "grid_index", "customer_id"])
    lines = lines[(lines["model"] == model) & (lines["feature"] == feature)]
    if cohort_ids is not None:
        lines = lines[lines["customer_id"].isin(cohort_ids)]
        if len(lines):
            avg = lines.groupby("grid_index", as_index=False)["probability"].mean()
            avg = avg.merge(line[["grid_index", "value", "numeric_value"]], on="grid_index")
            avg = avg.rename(columns={"probability": "average_probability"})
            avg["curve"] = "Cohort (mean of its ICE lines)"
            line = pd.concat([line, avg], ignore_index=True)
    lines = lines.merge(
        line[line["curve"] == "All customers (PDP)"][["grid_index", "value", "numeric_value"]],
        on="grid_index",
        how="left",
    )
    return line.reset_index(drop=True), lines.reset_index(drop=True)


@dataclass(frozen=True)
class GlobalView:
    model: str
    cohort_size: int
    cohort_churn_rate: float
    cohort_mean_probability: float
    importance: pd.DataFrame  # feature, label, mean_abs_shap (+ permutation columns when known)
    beeswarm: pd.DataFrame
    feature: str
    interaction: str | None
    interaction_score: float
    dependence: pd.DataFrame
    pdp: pd.DataFrame | None
    ice: pd.DataFrame | None


def build_global_view(
    data: ExplainData,
    model: str,
    conditions: list[Condition],
    feature: str | None = None,
    permutation: pd.DataFrame | None = None,
    pdp: pd.DataFrame | None = None,
    ice: pd.DataFrame | None = None,
    max_points: int = BEESWARM_MAX_POINTS,
) -> GlobalView:
    """Every global view restricted to the cohort `conditions` describe ([]: all customers)."""
    mask = cohort_mask(data.frame, conditions)
    labels = data.frame[layout.LABEL_COLUMN].to_numpy()
    size = int(mask.sum())
    importance = importance_table(data, model, mask)
    if permutation is not None:
        perm = permutation[permutation["model"] == model][["feature", "mean_drop", "std_drop"]]
        importance = importance.merge(perm, on="feature", how="left")
    order = importance["feature"].tolist()
    feature = feature if feature is not None and feature in order else str(order[0])
    interaction, score = interaction_feature(data, model, feature, mask)
    cohort_ids = data.frame[layout.ID_COLUMN].to_numpy()[mask] if conditions else None
    curve, lines = pdp_ice(pdp, ice, model, feature, cohort_ids) if pdp is not None else (None, None)
    return GlobalView(
        model=model,
        cohort_size=size,
        cohort_churn_rate=float(labels[mask].mean()) if size else float("nan"),
        cohort_mean_probability=float(data.probability[model][mask].mean()) if size else float("nan"),
        importance=importance,
        beeswarm=beeswarm_points(data, model, mask, order, max_points),
        feature=feature,
        interaction=interaction,
        interaction_score=score,
        dependence=dependence_points(data, model, feature, interaction, mask),
        pdp=curve,
        ice=lines,
    )
