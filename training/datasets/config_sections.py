"""The sections of a config file ([customers], [features], [events], [items], [models],
[training]), each read by one function that records every mistake on the shared `Reader`."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from bundle import layout
from training.datasets import reasons as reason_rules
from training.datasets.config_reader import Reader, join, shown, text
from training.datasets.reasons import Reason

MODELS = ("logistic", "gbt", "xgboost", "sklearn")  # training.models.registry(), without importing Spark
TYPES = layout.FEATURE_TYPES
FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class TableSource:
    path: str  # local path (made absolute against the config's folder) or a URI Spark reads
    format: str
    header: bool = True
    delimiter: str = ","
    null_values: tuple[str, ...] = ("",)
    encoding: str = "utf-8"  # a charset Spark's CSV reader takes (config_sections.SPARK_CHARSETS)


@dataclass(frozen=True)
class ColumnOverride:
    type: str | None = None
    label: str | None = None
    categories: dict[str, str] = field(default_factory=dict)
    ignore: bool = False
    actionable: bool = False
    positive: str | None = None
    reasons: tuple[Reason, ...] = ()


def table_source(reader: Reader, data: dict, where: str, base: Path, extra: tuple[str, ...]) -> TableSource | None:
    path = reader.get(data, where, "path", "str", required=True, expected="a file path or a URI Spark can read")
    fmt = reader.get(data, where, "format", "str", choices=FORMATS)
    if path is None:
        return None
    if fmt is None:
        suffix = Path(path.rstrip("/")).suffix.lower().lstrip(".")
        fmt = {"csv": "csv", "txt": "csv", "tsv": "csv", "parquet": "parquet", "pq": "parquet"}.get(suffix)
        if fmt is None:
            reader.problems.append(
                f"{join(where, 'format')}: required when the path does not end in .csv or .parquet "
                "(expected one of 'csv', 'parquet')"
            )
            return None
    csv = reader.get(data, where, "csv", "table", default={})
    reader.table(csv, join(where, "csv"), ("header", "delimiter", "null_values", "encoding"))
    header = reader.get(csv, join(where, "csv"), "header", "bool", default=True)
    delimiter = reader.get(
        csv,
        join(where, "csv"),
        "delimiter",
        "str",
        default=",",
        check=lambda v: len(v) == 1,
        expected="a single character",
    )
    nulls = reader.get(csv, join(where, "csv"), "null_values", "list[str]", default=[""])
    encoding = reader.get(
        csv,
        join(where, "csv"),
        "encoding",
        "str",
        default="utf-8",
        check=lambda v: codec_name(v) is not None,
        expected=f"one of the encodings Spark's CSV reader knows ({', '.join(sorted(set(SPARK_CHARSETS.values())))}); "
        "convert other files to UTF-8 first (iconv -f cp1252 -t utf-8)",
    )
    return TableSource(
        path=resolve_path(path, base),
        format=fmt,
        header=header,
        delimiter=delimiter,
        null_values=tuple(nulls),
        encoding=codec_name(encoding or "utf-8") or "utf-8",
    )


# Spark 4's CSV reader takes only these charsets (INVALID_PARAMETER_VALUE.CHARSET otherwise),
# keyed by Python's canonical codec name so that 'latin-1', 'latin1' and 'ISO-8859-1' all work.
SPARK_CHARSETS = {
    "utf-8": "utf-8",
    "iso8859-1": "iso-8859-1",
    "ascii": "us-ascii",
    "utf-16": "utf-16",
    "utf-16-be": "utf-16be",
    "utf-16-le": "utf-16le",
    "utf-32": "utf-32",
}


def codec_name(name: str) -> str | None:
    """The charset name Spark takes for a text encoding ('latin-1' → 'iso-8859-1'); None when
    Python does not know it or Spark's CSV reader cannot read it."""
    try:
        return SPARK_CHARSETS.get(codecs.lookup(name).name)
    except LookupError:
        return None


def resolve_path(path: str, base: Path) -> str:
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", path):  # hdfs://, s3a://, file://, …
        return path
    candidate = Path(path).expanduser()
    return str(candidate if candidate.is_absolute() else (base / candidate).resolve())


def events(r: Reader, data: object, base: Path) -> dict | None:
    if not isinstance(data, dict):
        r.problems.append("events: expected a table")
        return None
    r.table(data, "events", ("path", "format", "csv", "user", "item", "timestamp", "value", "churn_after_days"))
    source = table_source(r, data, "events", base, ())
    entry = {"source": source}
    for key in ("user", "item", "timestamp"):
        entry[key] = r.get(
            data, "events", key, "str", required=True, expected="the name of a column in the events table"
        )
    entry["value"] = r.get(data, "events", "value", "str")
    entry["churn_after_days"] = r.get(
        data, "events", "churn_after_days", "int", check=lambda v: v > 0, expected="a positive whole number of days"
    )
    return entry


def items(r: Reader, data: object, base: Path) -> dict | None:
    if not isinstance(data, dict):
        r.problems.append("items: expected a table")
        return None
    r.table(data, "items", ("path", "format", "csv", "id", "name", "attributes"))
    source = table_source(r, data, "items", base, ())
    return {
        "source": source,
        "id": r.get(data, "items", "id", "str", required=True, expected="the name of the item ID column"),
        "name": r.get(data, "items", "name", "str"),
        "attributes": tuple(r.get(data, "items", "attributes", "list[str]", default=[])),
    }


@dataclass(frozen=True)
class Customers:
    present: bool  # a [customers] table was given
    source: TableSource | None
    id_column: str | None
    label_column: str | None
    positive: object
    hash_ids: bool


def customers(r: Reader, data: dict, base: Path) -> Customers:
    # A behavioural label (events.churn_after_days) builds the customer table from events.
    behavioural = isinstance(data.get("events"), dict) and "churn_after_days" in data["events"]
    table = r.get(data, "", "customers", "table", required=not behavioural, default={})
    r.table(table, "customers", ("path", "format", "csv", "id", "label", "positive", "hash_ids"))
    return Customers(
        present=bool(table),
        source=table_source(r, table, "customers", base, ()) if table or not behavioural else None,
        id_column=r.get(table, "customers", "id", "str"),
        label_column=r.get(table, "customers", "label", "str"),
        positive=r.get(table, "customers", "positive", "scalar"),
        hash_ids=r.get(table, "customers", "hash_ids", "bool", default=False),
    )


def features(r: Reader, data: dict, people: Customers) -> tuple[int, bool, dict[str, ColumnOverride]]:
    """(max_categories, infer, per-column overrides) of [features]."""
    table = r.get(data, "", "features", "table", default={})
    r.table(table, "features", ("max_categories", "infer", "columns"))
    max_categories = r.get(
        table,
        "features",
        "max_categories",
        "int",
        default=50,
        check=lambda v: 2 <= v <= 10_000,
        expected="a whole number from 2 to 10000",
    )
    infer = r.get(table, "features", "infer", "bool", default=True)
    columns = {}
    for column, entry in r.get(table, "features", "columns", "table", default={}).items():
        override = _column(r, join("features.columns", column), entry)
        if override is not None:
            columns[column] = override
    for key, role in (
        (people.id_column, "the ID column (customers.id)"),
        (people.label_column, "the label column (customers.label)"),
    ):
        if key is not None and key in columns:
            r.problems.append(f"{join('features.columns', key)}: {role} cannot be a feature")
    return max_categories, infer, columns


def _column(r: Reader, where: str, entry: object) -> ColumnOverride | None:
    if not isinstance(entry, dict):
        r.problems.append(
            f"{where}: expected a table of overrides (type, label, categories, ignore, actionable, positive, reasons)"
        )
        return None
    r.table(entry, where, ("type", "label", "categories", "ignore", "actionable", "positive", "reasons"))
    categories = r.get(entry, where, "categories", "table", default={})
    if any(not isinstance(v, str) for v in categories.values()):
        r.problems.append(f'{join(where, "categories")}: expected a table of category = "display label" strings')
        categories = {}
    override = ColumnOverride(
        type=r.get(entry, where, "type", "str", choices=TYPES),
        label=r.get(entry, where, "label", "str"),
        categories={str(k): v for k, v in categories.items()},
        ignore=r.get(entry, where, "ignore", "bool", default=False),
        actionable=r.get(entry, where, "actionable", "bool", default=False),
        positive=text(r.get(entry, where, "positive", "scalar")),
        reasons=_reasons(r, join(where, "reasons"), entry.get("reasons", [])),
    )
    if override.positive is not None and override.type not in (None, "binary"):
        r.problems.append(f"{join(where, 'positive')}: only a binary column has a positive value")
    if override.type is not None and override.type != "binary":  # binary values are read once the column is
        r.problems += reason_rules.type_problems(override.type, override.reasons, join(where, "reasons"))
    return override


REASON_KEYS = ("phrase", "code", "from", "below", "values", "missing")


def _reasons(r: Reader, where: str, data: object) -> tuple[Reason, ...]:
    """`reasons = [{below = 12, phrase = "Tenure under 12 months"}, {values = ["Month-to-month"], …}, …]`."""
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        r.problems.append(
            f'{where}: expected a list of tables like {{from = 12, below = 24, phrase = "…"}}, got {shown(data)}'
        )
        return ()
    reasons = []
    for i, entry in enumerate(data):
        at = f"{where}[{i}]"
        r.table(entry, at, REASON_KEYS)
        values = r.get(entry, at, "values", "list", default=[])
        if any(not isinstance(v, (str, int, bool)) for v in values):
            r.problems.append(f"{at}.values: expected a list of values (text, whole numbers or true/false)")
            values = []
        phrase = r.get(
            entry, at, "phrase", "str", required=True, check=lambda v: v.strip() != "",
            expected='the text shown, e.g. "Tenure under 12 months"',
        )  # fmt: skip
        reasons.append(
            Reason(
                phrase=phrase or "",
                code=r.get(entry, at, "code", "str"),
                lower=_float(r.get(entry, at, "from", "number")),
                upper=_float(r.get(entry, at, "below", "number")),
                values=tuple(text(v) or "" for v in values),
                missing=r.get(entry, at, "missing", "bool", default=False),
            )
        )
    r.problems += reason_rules.shape_problems(reasons, where, phrases=False)
    return tuple(reasons)


def _float(value: int | float | None) -> float | None:
    return None if value is None else float(value)


def label_rules(r: Reader, people: Customers, events: dict | None, items: dict | None) -> None:
    """The rules that tie [customers], [events] and [items] together."""
    if items is not None and events is None:
        r.problems.append("items: needs an [events] section (items describe what events refer to)")
    behavioural = events is not None and events.get("churn_after_days") is not None
    label = people.label_column
    if behavioural and people.present and label is None:
        # Joining a customer table onto the behavioural one is not built yet; say so before Spark starts.
        r.problems.append(
            "customers: with a behavioural label (events.churn_after_days) the features come from "
            "events only; leave out [customers], or drop churn_after_days and give customers.label"
        )
    if people.hash_ids and events is not None:
        r.problems.append(
            "customers.hash_ids: not supported together with [events] yet (event user IDs would not "
            "match the hashed customer IDs)"
        )
    if label is None and not behavioural:
        r.problems.append(
            "customers.label: required (the column saying whether a customer churned), "
            "unless events.churn_after_days derives the label from events"
        )
    if label is not None and people.positive is None:
        r.problems.append(
            "customers.positive: required with customers.label (the label value meaning 'churned', e.g. \"Yes\" or 1)"
        )
    if label is not None and behavioural:
        r.problems.append(
            "events.churn_after_days: give either customers.label or a behavioural label from events, not both"
        )
    if people.id_column is not None and people.id_column == label:
        r.problems.append("customers.label: must differ from customers.id")


def models(r: Reader, data: dict) -> tuple[list[str], dict[str, dict]]:
    """(models to train, fixed parameters per model) of [models]."""
    table = r.get(data, "", "models", "table", default={})
    r.table(table, "models", ("use", "params"))
    use = r.get(table, "models", "use", "list[str]", default=list(MODELS))
    for model in use or []:
        if model not in MODELS:
            r.problems.append(f"models.use: unknown model {model!r} (expected some of {', '.join(MODELS)})")
    if use is not None and not use:
        r.problems.append("models.use: expected at least one model")
    params = {}
    for model, entry in r.get(table, "models", "params", "table", default={}).items():
        where = join("models.params", model)
        if model not in MODELS:
            r.problems.append(f"{where}: unknown model (expected one of {', '.join(MODELS)})")
        elif not isinstance(entry, dict) or not all(isinstance(v, (str, int, float, bool)) for v in entry.values()):
            r.problems.append(f"{where}: expected a table of parameter = number, string or boolean")
        else:
            params[model] = dict(entry)
    return use, params


def training(r: Reader, data: dict) -> tuple[int, float, int | None, float]:
    """(seed, test_fraction, sample, threshold) of [training]."""
    table = r.get(data, "", "training", "table", default={})
    r.table(table, "training", ("seed", "test_fraction", "sample", "threshold"))
    between = "a number between 0 and 1 (exclusive)"
    seed = r.get(
        table, "training", "seed", "int", default=42, check=lambda v: 0 <= v < 2**31,
        expected="a whole number from 0 to 2147483647",
    )  # fmt: skip
    fraction = r.get(
        table, "training", "test_fraction", "number", default=0.2, check=lambda v: 0 < v < 1, expected=between
    )
    sample = r.get(
        table, "training", "sample", "int", check=lambda v: v >= 10, expected="a whole number of at least 10"
    )
    threshold = r.get(
        table, "training", "threshold", "number", default=0.5, check=lambda v: 0 < v < 1, expected=between
    )
    return seed, fraction, sample, threshold


MAX_AUDIT_COLUMNS = 20


def audit(r: Reader, data: dict, people: Customers) -> tuple[str, ...]:
    """[audit] columns: customer-table columns kept for group metrics (features or not)."""
    table = r.get(data, "", "audit", "table", default={})
    r.table(table, "audit", ("columns",))
    columns = r.get(table, "audit", "columns", "list[str]", default=[])
    if columns is None:
        return ()
    for column in columns:
        if not column.strip():
            r.problems.append("audit.columns: expected column names, got an empty string")
        elif column in (people.id_column, people.label_column):
            r.problems.append(f"audit.columns: {column!r} is the customer ID or the label, not something to group by")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        r.problems.append(f"audit.columns: {', '.join(repr(c) for c in repeated)} listed more than once")
    if len(columns) > MAX_AUDIT_COLUMNS:
        r.problems.append(f"audit.columns: expected at most {MAX_AUDIT_COLUMNS} columns, got {len(columns)}")
    return tuple(columns)
