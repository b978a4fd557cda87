"""TOML config files: any customer table (CSV or Parquet, any URI Spark reads) → a `DatasetSpec`.

    python -m training run --config my.toml [--bundle NAME]
    python -m training init-config my.toml --customers customers.csv

`load_config` checks the file without Spark and reports *every* mistake with
its key and what was expected; `build_spec` then reads the table's schema,
infers features (`training/datasets/infer.py`) and applies per-column overrides.
Validated by hand with `tomllib` rather than pydantic: the schema is small, and
pydantic's messages ("Input should be a valid integer") would need rewriting
anyway to say what this key expects.

Keys (see examples/*.toml for commented files)::

    name = "acme"                      # bundle name unless --bundle
    [customers]   path, format = csv|parquet, id, label, positive, hash_ids  (left out with events.churn_after_days)
    [customers.csv]  header, delimiter, null_values
    [features]    max_categories, infer
    [features.columns."Column name"]  type, label, categories = {value = label}, ignore, actionable, positive
    [events]      path, format, user, item, timestamp, value, churn_after_days
    [items]       path, format, id, name, attributes
    [models]      use = [...], [models.params.<model>] ...
    [training]    seed, test_fraction, sample, threshold
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundle import layout

MODELS = ("logistic", "gbt", "xgboost", "sklearn")  # training.models.families(), without importing Spark
TYPES = layout.FEATURE_TYPES
FORMATS = ("csv", "parquet")


class ConfigError(Exception):
    """A config file with mistakes; one line per mistake, each naming its key."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


@dataclass(frozen=True)
class TableSource:
    path: str  # local path (made absolute against the config's folder) or a URI Spark reads
    format: str
    header: bool = True
    delimiter: str = ","
    null_values: tuple[str, ...] = ("",)


@dataclass(frozen=True)
class ColumnOverride:
    type: str | None = None
    label: str | None = None
    categories: dict[str, str] = field(default_factory=dict)
    ignore: bool = False
    actionable: bool = False
    positive: str | None = None


@dataclass(frozen=True)
class Config:
    path: str
    name: str
    customers: TableSource | None  # None: a behavioural label builds the customer table from [events]
    id_column: str | None
    label_column: str | None
    positive_label: str | None
    hash_ids: bool
    max_categories: int
    infer: bool
    columns: dict[str, ColumnOverride]
    events: dict | None
    items: dict | None
    models: tuple[str, ...]
    model_params: dict[str, dict]
    seed: int
    test_fraction: float
    sample: int | None
    threshold: float


# --- a small typed reader that collects every problem ------------------------------------------


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def table(self, data: dict, where: str, allowed: tuple[str, ...]) -> dict:
        for key in data:
            if key not in allowed:
                self.problems.append(f"{_join(where, key)}: unknown key (expected one of {', '.join(allowed)})")
        return data

    def get(
        self,
        data: dict,
        where: str,
        key: str,
        kind: str,
        *,
        required: bool = False,
        default: Any = None,
        choices: tuple | None = None,
        check=None,
        expected: str | None = None,
    ) -> Any:
        name = _join(where, key)
        if key not in data:
            if required:
                self.problems.append(f"{name}: required ({expected or _KINDS[kind][1]})")
            return default
        value = data[key]
        python_type, wording = _KINDS[kind]
        ok = isinstance(value, python_type) and not (isinstance(value, bool) and python_type in ((int,), (int, float)))
        if kind == "list[str]":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if ok and choices is not None and value not in choices:
            ok, wording = False, "one of " + ", ".join(repr(c) for c in choices)
        if ok and check is not None and not check(value):
            ok, wording = False, expected or wording
        if not ok:
            self.problems.append(f"{name}: expected {expected or wording}, got {_shown(value)}")
            return default
        return value


_KINDS = {
    "str": ((str,), "a string"),
    "bool": ((bool,), "true or false"),
    "int": ((int,), "a whole number"),
    "number": ((int, float), "a number"),
    "table": ((dict,), "a table"),
    "list[str]": ((list,), "a list of strings"),
    "scalar": ((str, int, float, bool), "a string, number or boolean"),
}


def _join(where: str, key: str) -> str:
    quoted = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else '"' + key.replace('"', '\\"') + '"'
    return f"{where}.{quoted}" if where else quoted


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _source(reader: _Reader, data: dict, where: str, base: Path, extra: tuple[str, ...]) -> TableSource | None:
    path = reader.get(data, where, "path", "str", required=True, expected="a file path or a URI Spark can read")
    fmt = reader.get(data, where, "format", "str", choices=FORMATS)
    if path is None:
        return None
    if fmt is None:
        suffix = Path(path.rstrip("/")).suffix.lower().lstrip(".")
        fmt = {"csv": "csv", "txt": "csv", "tsv": "csv", "parquet": "parquet", "pq": "parquet"}.get(suffix)
        if fmt is None:
            reader.problems.append(
                f"{_join(where, 'format')}: required when the path does not end in .csv or .parquet (expected one of 'csv', 'parquet')"
            )
            return None
    csv = reader.get(data, where, "csv", "table", default={})
    reader.table(csv, _join(where, "csv"), ("header", "delimiter", "null_values"))
    header = reader.get(csv, _join(where, "csv"), "header", "bool", default=True)
    delimiter = reader.get(
        csv,
        _join(where, "csv"),
        "delimiter",
        "str",
        default=",",
        check=lambda v: len(v) == 1,
        expected="a single character",
    )
    nulls = reader.get(csv, _join(where, "csv"), "null_values", "list[str]", default=[""])
    return TableSource(
        path=_resolve(path, base), format=fmt, header=header, delimiter=delimiter, null_values=tuple(nulls)
    )


def _resolve(path: str, base: Path) -> str:
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", path):  # hdfs://, s3a://, file://, …
        return path
    candidate = Path(path).expanduser()
    return str(candidate if candidate.is_absolute() else (base / candidate).resolve())


def load_config(path: Path | str) -> Config:
    """Parse and check a config file; raises ConfigError listing every mistake."""
    path = Path(path)
    label = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(label, ["no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(label, [f"cannot be read ({exc})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(label, [f"is not valid TOML: {exc}"]) from None
    return parse_config(data, path.parent.resolve(), label)


def parse_config(data: dict, base: Path, label: str = "config") -> Config:
    r = _Reader()
    r.table(data, "", ("name", "customers", "features", "events", "items", "models", "training"))
    name = r.get(
        data,
        "",
        "name",
        "str",
        required=True,
        check=lambda v: re.fullmatch(layout.BUNDLE_NAME_PATTERN, v),
        expected="a bundle name: up to 64 letters, digits, '-' or '_', starting with a letter or digit",
    )

    # A behavioural label (events.churn_after_days) builds the customer table from events.
    behavioural = isinstance(data.get("events"), dict) and "churn_after_days" in data["events"]
    customers = r.get(data, "", "customers", "table", required=not behavioural, default={})
    r.table(customers, "customers", ("path", "format", "csv", "id", "label", "positive", "hash_ids"))
    source = _source(r, customers, "customers", base, ()) if customers or not behavioural else None
    id_column = r.get(customers, "customers", "id", "str")
    label_column = r.get(customers, "customers", "label", "str")
    positive = r.get(customers, "customers", "positive", "scalar")
    hash_ids = r.get(customers, "customers", "hash_ids", "bool", default=False)

    features = r.get(data, "", "features", "table", default={})
    r.table(features, "features", ("max_categories", "infer", "columns"))
    max_categories = r.get(
        features,
        "features",
        "max_categories",
        "int",
        default=50,
        check=lambda v: 2 <= v <= 10_000,
        expected="a whole number from 2 to 10000",
    )
    infer = r.get(features, "features", "infer", "bool", default=True)
    columns = {}
    for column, entry in r.get(features, "features", "columns", "table", default={}).items():
        where = _join("features.columns", column)
        if not isinstance(entry, dict):
            r.problems.append(
                f"{where}: expected a table of overrides (type, label, categories, ignore, actionable, positive)"
            )
            continue
        r.table(entry, where, ("type", "label", "categories", "ignore", "actionable", "positive"))
        categories = r.get(entry, where, "categories", "table", default={})
        if any(not isinstance(v, str) for v in categories.values()):
            r.problems.append(f'{_join(where, "categories")}: expected a table of category = "display label" strings')
            categories = {}
        columns[column] = ColumnOverride(
            type=r.get(entry, where, "type", "str", choices=TYPES),
            label=r.get(entry, where, "label", "str"),
            categories={str(k): v for k, v in categories.items()},
            ignore=r.get(entry, where, "ignore", "bool", default=False),
            actionable=r.get(entry, where, "actionable", "bool", default=False),
            positive=_text(r.get(entry, where, "positive", "scalar")),
        )
        if columns[column].positive is not None and columns[column].type not in (None, "binary"):
            r.problems.append(f"{_join(where, 'positive')}: only a binary column has a positive value")
    if id_column is not None and id_column in columns:
        r.problems.append(f"{_join('features.columns', id_column)}: the ID column (customers.id) cannot be a feature")
    if label_column is not None and label_column in columns:
        r.problems.append(
            f"{_join('features.columns', label_column)}: the label column (customers.label) cannot be a feature"
        )

    events = _events(r, data.get("events"), base) if "events" in data else None
    items = _items(r, data.get("items"), base) if "items" in data else None
    if items is not None and events is None:
        r.problems.append("items: needs an [events] section (items describe what events refer to)")
    behavioural = events is not None and events.get("churn_after_days") is not None
    if behavioural and customers and label_column is None:
        # Joining a customer table onto the behavioural one is not built yet; say so before Spark starts.
        r.problems.append(
            "customers: with a behavioural label (events.churn_after_days) the features come from "
            "events only; leave out [customers], or drop churn_after_days and give customers.label"
        )
    if hash_ids and events is not None:
        r.problems.append(
            "customers.hash_ids: not supported together with [events] yet (event user IDs would not "
            "match the hashed customer IDs)"
        )
    if label_column is None and not behavioural:
        r.problems.append(
            "customers.label: required (the column saying whether a customer churned), "
            "unless events.churn_after_days derives the label from events"
        )
    if label_column is not None and positive is None:
        r.problems.append(
            "customers.positive: required with customers.label (the label value meaning 'churned', e.g. \"Yes\" or 1)"
        )
    if label_column is not None and behavioural:
        r.problems.append(
            "events.churn_after_days: give either customers.label or a behavioural label from events, not both"
        )
    if id_column is not None and id_column == label_column:
        r.problems.append("customers.label: must differ from customers.id")

    models = r.get(data, "", "models", "table", default={})
    r.table(models, "models", ("use", "params"))
    use = r.get(models, "models", "use", "list[str]", default=list(MODELS))
    for model in use or []:
        if model not in MODELS:
            r.problems.append(f"models.use: unknown model {model!r} (expected some of {', '.join(MODELS)})")
    if use is not None and not use:
        r.problems.append("models.use: expected at least one model")
    params = {}
    for model, entry in r.get(models, "models", "params", "table", default={}).items():
        where = _join("models.params", model)
        if model not in MODELS:
            r.problems.append(f"{where}: unknown model (expected one of {', '.join(MODELS)})")
        elif not isinstance(entry, dict) or not all(isinstance(v, (str, int, float, bool)) for v in entry.values()):
            r.problems.append(f"{where}: expected a table of parameter = number, string or boolean")
        else:
            params[model] = dict(entry)

    training = r.get(data, "", "training", "table", default={})
    r.table(training, "training", ("seed", "test_fraction", "sample", "threshold"))
    seed = r.get(
        training,
        "training",
        "seed",
        "int",
        default=42,
        check=lambda v: 0 <= v < 2**31,
        expected="a whole number from 0 to 2147483647",
    )
    fraction = r.get(
        training,
        "training",
        "test_fraction",
        "number",
        default=0.2,
        check=lambda v: 0 < v < 1,
        expected="a number between 0 and 1 (exclusive)",
    )
    sample = r.get(
        training, "training", "sample", "int", check=lambda v: v >= 10, expected="a whole number of at least 10"
    )
    threshold = r.get(
        training,
        "training",
        "threshold",
        "number",
        default=0.5,
        check=lambda v: 0 < v < 1,
        expected="a number between 0 and 1 (exclusive)",
    )

    if r.problems:
        raise ConfigError(label, r.problems)
    return Config(
        path=label,
        name=name,
        customers=source,
        id_column=id_column,
        label_column=label_column,
        positive_label=_text(positive),
        hash_ids=hash_ids,
        max_categories=max_categories,
        infer=infer,
        columns=columns,
        events=events,
        items=items,
        models=tuple(dict.fromkeys(use)),
        model_params=params,
        seed=seed,
        test_fraction=float(fraction),
        sample=sample,
        threshold=float(threshold),
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _events(r: _Reader, data: object, base: Path) -> dict | None:
    if not isinstance(data, dict):
        r.problems.append("events: expected a table")
        return None
    r.table(data, "events", ("path", "format", "csv", "user", "item", "timestamp", "value", "churn_after_days"))
    source = _source(r, data, "events", base, ())
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


def _items(r: _Reader, data: object, base: Path) -> dict | None:
    if not isinstance(data, dict):
        r.problems.append("items: expected a table")
        return None
    r.table(data, "items", ("path", "format", "csv", "id", "name", "attributes"))
    source = _source(r, data, "items", base, ())
    return {
        "source": source,
        "id": r.get(data, "items", "id", "str", required=True, expected="the name of the item ID column"),
        "name": r.get(data, "items", "name", "str"),
        "attributes": tuple(r.get(data, "items", "attributes", "list[str]", default=[])),
    }
