"""The JVM-free half of the feature types (`training/feature_types.py` has the Spark half).

Names: every feature has a *safe name* — letters, digits and underscores, not
one of the bundle's or the pipeline's own column names — used inside Spark and
as the feature's name in the bundle (Parquet columns, manifest, Altair fields).
The user's original column name is kept in the manifest as `source`, and is the
default display label. Built-in datasets already use safe names.
"""

from __future__ import annotations

import re
import unicodedata

from bundle import layout

FEATURE_TYPES = layout.FEATURE_TYPES

# Columns the bundle and the training pipeline use themselves; a feature may not take these names.
RESERVED_NAMES = frozenset(
    {
        layout.ID_COLUMN,
        layout.LABEL_COLUMN,
        layout.SPLIT_COLUMN,
        layout.PROBABILITY_COLUMN,
        layout.MARGIN_COLUMN,
        "features",
        "prediction",
        "rawPrediction",
        "rawprediction",
        "risk_band",
    }
)
_INTERNAL_SUFFIXES = ("__imputed", "__index", "__onehot", "__probability", "__margin")
_INTERNAL_MARKERS = ("__shap__",)
_INTERNAL_PREFIXES = ("_slot", "_split", "_row")
_SAFE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,59}$")


def imputed_column(name: str) -> str:
    return f"{name}__imputed"


def index_column(name: str) -> str:
    return f"{name}__index"


def onehot_column(name: str) -> str:
    return f"{name}__onehot"


def is_safe_name(name: str) -> bool:
    return (
        bool(_SAFE.fullmatch(name))
        and name.lower() not in {r.lower() for r in RESERVED_NAMES}
        and not name.endswith(_INTERNAL_SUFFIXES)
        and not any(m in name for m in _INTERNAL_MARKERS)
        and not name.startswith(_INTERNAL_PREFIXES)
        and "__" not in name
    )


def safe_name(source: str, taken: set[str]) -> str:
    """A safe, unused name for the column `source` ("Monthly charges ($)" → "monthly_charges")."""
    if is_safe_name(source) and source not in taken:
        return source
    spelled = source.replace("ß", "ss").replace("€", " eur ").replace("$", " usd ").replace("%", " pct ")
    ascii_text = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode()
    base = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]+", "_", ascii_text)).strip("_").lower()[:48] or "column"
    if not base[0].isalpha():
        base = "c_" + base
    candidate = base
    if not is_safe_name(candidate):
        candidate = f"{base}_feature"
    counter = 2
    while candidate in taken or not is_safe_name(candidate):
        candidate = f"{base}_{counter}"
        counter += 1
    return candidate


def display_value(feature: dict, value: object) -> str:
    """A raw feature value as a business user reads it (used by exports and reports)."""
    if value is None or (isinstance(value, float) and value != value):
        return "missing"
    kind = feature.get("type")
    if kind == "binary":
        if value in (1, True):
            return "Yes"
        if value in (0, False):
            return "No"
    if kind == "categorical":
        return str((feature.get("category_labels") or {}).get(str(value), value))
    if kind == "numeric" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"
    return str(value)
