"""`init-config`: a commented starting config from a table's inferred schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

from training.datasets.config import TableSource
from training.datasets.config_sections import resolve_path as _resolve
from training.datasets.decide import Decision

_LABEL_NAME = re.compile(r"churn|attrition|exited|^target$|^label$|^left$", re.IGNORECASE)
_ID_NAME = re.compile(r"(^|[^a-z])(customer_?id|client_?id|user_?id|account_?id|id)$", re.IGNORECASE)
NULL_VALUES = ("", "NA")
MAX_CATEGORIES = 50  # the config's default features.max_categories (config_sections.features)


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(text, ensure_ascii=False)


def _key(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else _q(text)


def starter_source(customers: str, fmt: str | None, delimiter: str, encoding: str) -> TableSource:
    """The table `init-config` reads: a local path made absolute, a URI as it is."""
    fmt = fmt or ("parquet" if customers.rstrip("/").lower().endswith((".parquet", ".pq")) else "csv")
    # The null markers the written config declares: inference sees what the run will see.
    return TableSource(
        path=_resolve(customers, Path.cwd()),
        format=fmt,
        delimiter=delimiter,
        null_values=NULL_VALUES,
        encoding=encoding,
    )


def write_starter_config(
    path: Path, customers: str, source: TableSource, decisions: list[Decision], sampled: int | None = None
) -> str:
    """Write the starter config for `decisions` (inferred from `source`; from its first `sampled`
    rows when the local reader stopped there) and return its text."""
    id_column = next((d.column for d in decisions if _ID_NAME.search(d.column)), None)
    label = next((d for d in decisions if d.type == "binary" and _LABEL_NAME.search(d.column)), None)
    positive = None if label is None else label.positive or "1"
    fmt = source.format

    lines = [
        "# churnlens dataset config, written by `python -m training init-config`.",
        "# Check the customers section (ID, label, positive value) and the feature decisions",
        "# below, then: python -m training run --config " + str(path),
    ]
    if sampled is not None:
        lines.append(
            f"# The decisions below come from the table's first {sampled:,} rows; the run decides on all rows."
        )
    lines += [
        "",
        f"name = {_q(_bundle_name(customers))}   # bundle name",
        "",
        "[customers]",
        f"path = {_q(customers)}   # a path (relative to this file) or any URI Spark reads: hdfs://, s3a://",
        f"format = {_q(fmt)}",
        (
            f"id = {_q(id_column)}"
            if id_column
            else '# id = "customer_id"   # no ID column: customers are numbered by row'
        )
        + "   # customer IDs (letters, digits and . - _ : @ / +, at most 64 characters)",
        (f"label = {_q(label.column)}" if label else 'label = "CHANGE ME"')
        + "   # the column saying whether a customer churned",
        f"positive = {_q(positive or 'Yes')}   # the label value that means 'churned'",
        "hash_ids = false   # true: store HMAC-SHA256(CHURNLENS_ID_KEY, ID) instead of raw IDs",
    ]
    if fmt == "csv":
        lines += ["", "[customers.csv]", "header = true", f"delimiter = {_q(source.delimiter)}"]
        lines += [f"null_values = [{', '.join(_q(v) for v in NULL_VALUES)}]"] + (
            [] if source.encoding == "utf-8" else [f"encoding = {_q(source.encoding)}"]
        )
    text = "\n".join(lines + _feature_lines(decisions, (id_column, label.column if label else None)) + _TAIL)
    path.write_text(text, encoding="utf-8")
    return text


def _feature_lines(decisions: list[Decision], skip: tuple[str | None, ...]) -> list[str]:
    """[features]: what inference decided per column (as comments), then an override table per column."""
    lines = [
        "",
        "[features]",
        "max_categories = 50   # a categorical column with more levels is left out (or refused if you force it)",
        "# What inference decided for each column. Override any of them below:",
        "# type = numeric|binary|categorical, label = display label, ignore = true, actionable = true,",
        "# categories = { value = \"display label\" }, positive = value meaning 'yes' (binary text),",
        "# reasons = reason codes (phrases per range or value); left out, they are generated at training:",
        '# reasons = [{below = 12, phrase = "Tenure under 12 months"}, {from = 12, phrase = "Tenure 1 year+"},',
        '#            {missing = true, phrase = "Tenure unknown"}]   (a number column)',
        '# reasons = [{values = ["Month-to-month"], phrase = "Month-to-month contract"}]   (a text column)',
        "# (`from` ≤ value < `below`; binary values 1/0; `code` optional; the first entry that matches wins).",
    ]
    shown = [d for d in decisions if d.column not in skip]
    for decision in shown:
        verdict = decision.type or "—"
        lines.append(f"#   {decision.column!r:<32} {verdict:<12} {decision.reason}")
    for decision in shown:
        lines += ["", f"[features.columns.{_key(decision.column)}]"]
        if decision.type is None:
            lines.append(f"ignore = true   # {decision.reason}")
        else:
            lines.append(f"# type = {_q(decision.type)}")
            lines.append(f"label = {_q(decision.column)}")
    return lines


_TAIL = [
    "",
    "[models]",
    'use = ["logistic", "gbt", "xgboost"]',
    "# [models.params.xgboost]",
    "# n_estimators = 300",
    "",
    "[training]",
    "seed = 42",
    "test_fraction = 0.2",
    "",
]


def _bundle_name(customers: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", Path(customers.rstrip("/")).stem)[:64] or "my-data"
