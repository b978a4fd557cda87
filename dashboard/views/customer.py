"""Customer page data, computed without Streamlit so it can be tested and timed.

`build_customer_view` runs on every keystroke-commit of every user, so it does
one store lookup and builds two tiny frames; nothing here scans all customers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from bundle.customers import CustomerStore
from bundle.reader import Bundle
from dashboard.views.common import display_value, sigmoid

DEFAULT_TOP_N = 10
OTHER = "__other__"
INCREASES = "increases risk"
DECREASES = "decreases risk"

WATERFALL_COLUMNS = ["feature", "label", "value", "reason", "shap", "start", "end", "direction", "rank"]


@dataclass(frozen=True)
class CustomerView:
    customer_id: int | str
    model: str
    model_name: str
    probability: float
    percentile: float  # % of customers scored lower than this one
    margin: float  # log-odds
    base_value: float  # log-odds of the average customer (SHAP base value)
    base_probability: float
    threshold: float
    label: int
    split: str
    outcome: str  # "Churned" | "Stayed"
    outcome_detail: str
    features: pd.DataFrame  # Feature, Value, Effect (log-odds), in manifest order
    waterfall: pd.DataFrame  # WATERFALL_COLUMNS, rank 0 = strongest reason
    caption: str


def build_customer_view(
    bundle: Bundle, store: CustomerStore, raw_id: object, top_n: int = DEFAULT_TOP_N
) -> CustomerView:
    """Everything the Customer page shows for one ID, for the champion model.

    Raises `MalformedCustomerId` / `UnknownCustomer` (both `CustomerLookupError`)
    with a message meant for the user.
    """
    manifest = bundle.manifest
    model = manifest["champion"]
    entry = manifest["models"][model]
    record = store.lookup(raw_id)
    specs = manifest["features"]

    shap = record.shap[model]
    shown = {f["name"]: display_value(f, record.features.get(f["name"])) for f in specs}
    labels = {f["name"]: f.get("label") or f["name"] for f in specs}
    features = pd.DataFrame(
        {
            "Feature": [labels[f["name"]] for f in specs],
            "Value": [shown[f["name"]] for f in specs],
            "Effect (log-odds)": [shap[f["name"]] for f in specs],
        }
    )

    base_value = float(entry["shap"]["base_value"])
    waterfall = _waterfall_rows(shap, labels, shown, base_value, top_n)
    probability = record.probability[model]
    percentile = float(record.percentile[model])
    churned = record.label == 1
    in_test = record.split == "test"
    outcome_detail = (
        "test set: the model never saw this customer while training"
        if in_test
        else "training set: the model learned from this customer"
    )
    view_caption = _caption(
        record.customer_id, entry.get("display_name", model), probability, percentile, waterfall
    )
    return CustomerView(
        customer_id=record.customer_id,
        model=model,
        model_name=entry.get("display_name", model),
        probability=probability,
        percentile=percentile,
        margin=record.margin[model],
        base_value=base_value,
        base_probability=sigmoid(base_value),
        threshold=float(entry.get("threshold", 0.5)),
        label=record.label,
        split=record.split,
        outcome="Churned" if churned else "Stayed",
        outcome_detail=outcome_detail,
        features=features,
        waterfall=waterfall,
        caption=view_caption,
    )


def _waterfall_rows(
    shap: Mapping[str, float],
    labels: Mapping[str, str],
    shown: Mapping[str, str],
    base_value: float,
    top_n: int,
) -> pd.DataFrame:
    ranked = sorted(shap, key=lambda name: abs(shap[name]), reverse=True)
    top, rest = ranked[:top_n], ranked[top_n:]
    rows = [
        {
            "feature": name,
            "label": labels[name],
            "value": shown[name],
            "reason": f"{labels[name]} = {shown[name]}",
            "shap": float(shap[name]),
        }
        for name in top
    ]
    if rest:
        rows.append(
            {
                "feature": OTHER,
                "label": f"{len(rest)} other features",
                "value": "",
                "reason": f"{len(rest)} other features",
                "shap": float(sum(shap[name] for name in rest)),
            }
        )
    # SHAP's waterfall convention: the small stuff is applied first, so walking the
    # bars bottom-up from the base value, the strongest reason ends at the prediction.
    level = base_value
    for row in reversed(rows):
        row["start"] = level
        level += row["shap"]
        row["end"] = level
    for rank, row in enumerate(rows):
        row["direction"] = INCREASES if row["shap"] >= 0 else DECREASES
        row["rank"] = rank
    return pd.DataFrame(rows, columns=WATERFALL_COLUMNS)


def _caption(
    customer_id: object, model_name: str, probability: float, percentile: float, waterfall: pd.DataFrame
) -> str:
    reasons = waterfall[waterfall["feature"] != OTHER]
    up = reasons[reasons["shap"] > 0]
    down = reasons[reasons["shap"] < 0]
    text = (
        f"{model_name} gives customer {customer_id} a {probability:.0%} chance of churning, "
        f"riskier than {percentile:.0f}% of all customers."
    )
    if len(up):
        text += f" The main reason for concern is {up.iloc[0]['reason']}"
        text += f"; the main reassurance is {down.iloc[0]['reason']}." if len(down) else "."
    elif len(down):
        text += f" The main reassurance is {down.iloc[0]['reason']}."
    return text
