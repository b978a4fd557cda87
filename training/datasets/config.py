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
    [customers.csv]  header, delimiter, null_values, encoding (default utf-8; e.g. latin-1, cp1252)
    [features]    max_categories, infer
    [features.columns."Column name"]  type, label, categories = {value = label}, ignore, actionable, positive,
                                      reasons = [{below = 12, phrase = "Tenure under 12 months"},
                                                 {from = 12, below = 24, phrase = "…", code = "tenure:1y"},
                                                 {values = ["Month-to-month"], phrase = "…"},
                                                 {missing = true, phrase = "…"}]
    [audit]       columns = ["gender", "senior_citizen"]  (customer-table columns: features, or kept for audit only)
    [events]      path, format, user, item, timestamp, value, churn_after_days
    [items]       path, format, id, name, attributes
    [models]      use = [...], [models.params.<model>] ...
    [training]    seed, test_fraction, sample, threshold
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bundle import layout
from training.datasets import config_sections as sections
from training.datasets.config_reader import Reader, text
from training.datasets.config_sections import FORMATS, MODELS, TYPES, ColumnOverride, TableSource

__all__ = [
    "FORMATS", "MODELS", "TYPES", "ColumnOverride", "Config", "ConfigError", "TableSource", "load_config",
    "parse_config",
]  # fmt: skip


class ConfigError(Exception):
    """A config file with mistakes; one line per mistake, each naming its key."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


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
    audit: tuple[str, ...]  # [audit] columns: customer-table columns to show group metrics for
    events: dict | None
    items: dict | None
    models: tuple[str, ...]
    model_params: dict[str, dict]
    seed: int
    test_fraction: float
    sample: int | None
    threshold: float


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
    r = Reader()
    r.table(data, "", ("name", "customers", "features", "audit", "events", "items", "models", "training"))
    name = r.get(
        data,
        "",
        "name",
        "str",
        required=True,
        check=lambda v: re.fullmatch(layout.BUNDLE_NAME_PATTERN, v),
        expected="a bundle name: up to 64 letters, digits, '-' or '_', starting with a letter or digit",
    )
    people = sections.customers(r, data, base)
    max_categories, infer, columns = sections.features(r, data, people)
    audit = sections.audit(r, data, people)
    events = sections.events(r, data.get("events"), base) if "events" in data else None
    items = sections.items(r, data.get("items"), base) if "items" in data else None
    sections.label_rules(r, people, events, items)
    use, params = sections.models(r, data)
    seed, fraction, sample, threshold = sections.training(r, data)
    if r.problems:
        raise ConfigError(label, r.problems)
    return Config(
        path=label,
        name=name,
        customers=people.source,
        id_column=people.id_column,
        label_column=people.label_column,
        positive_label=text(people.positive),
        hash_ids=people.hash_ids,
        max_categories=max_categories,
        infer=infer,
        columns=columns,
        audit=audit,
        events=events,
        items=items,
        models=tuple(dict.fromkeys(use)),
        model_params=params,
        seed=seed,
        test_fraction=float(fraction),
        sample=sample,
        threshold=float(threshold),
    )
