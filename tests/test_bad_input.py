"""Bad input, nothing lost: a corpus of hostile or broken inputs, each met by a clear message and no traceback.

Dashboard side: customer IDs, bundle names and other URL parameters through the
real app (AppTest); every file of a bundle and its manifest corrupted (reader).
Training side: broken input tables through `training.validate.validate` on small
Spark frames, and the command line's exit codes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from streamlit.testing.v1 import AppTest

from bundle import layout
from bundle.reader import BundleError, open_bundle
from dashboard.shell import data
from store.customers import CustomerLookupError, CustomerStore
from tests.bundle.tiny import write_tiny_bundle
from tests.dashboard.dashboard_helpers import APP
from tests.training.own_files import own_files, rows_text, typed_cities
from tests.training.test_validate import problems_of

TIMEOUT = 60


def _viewer_text(at: AppTest) -> str:
    shown = [getattr(e, "value", "") for kind in ("error", "warning", "info") for e in at.get(kind)]
    return re.sub(r"\\(.)", r"\1", " ".join(shown)).replace("\u2060", "")


@pytest.fixture
def artifacts(bundle_root, monkeypatch) -> Path:
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(bundle_root))
    return bundle_root


# --- URL parameters through the real app ------------------------------------------------------

URL_CASES = [
    ({"customer": "abc"}, "is not a customer ID"),
    ({"customer": "-"}, "is not a customer ID"),
    ({"customer": "1.5"}, "is not a customer ID"),
    ({"customer": "0x1F"}, "is not a customer ID"),
    ({"customer": "1e3"}, "is not a customer ID"),
    ({"customer": "9" * 64}, "No customer with ID"),
    ({"customer": "9" * 65}, "at most 64 characters"),
    ({"customer": "x" * 100_000}, "at most 64 characters"),
    ({"customer": "-7"}, "No customer with ID -7"),
    ({"customer": "1; DROP TABLE customers"}, "is not a customer ID"),
    ({"customer": "<script>alert(1)</script>"}, "is not a customer ID"),
    ({"customer": "\x00\x01"}, "is not a customer ID"),
    ({"customer": "💥"}, "is not a customer ID"),
    ({"customer": "%27%20OR%201%3D1"}, "is not a customer ID"),
    ({"customer": "   "}, "Enter a customer ID"),
    ({"bundle": "nope"}, "There is no bundle named 'nope'"),
    ({"bundle": ".."}, "There is no bundle named"),
    ({"bundle": "../../etc/passwd"}, "There is no bundle named"),
    ({"bundle": ".runs"}, "There is no bundle named"),
    ({"bundle": "TELCO"}, "There is no bundle named"),
    ({"bundle": "telco "}, "There is no bundle named"),
    ({"bundle": "telco\x00"}, "There is no bundle named"),
    ({"bundle": "b" * 100_000}, "There is no bundle named"),
    ({"bundle": ""}, "There is no bundle named"),
]


@pytest.mark.parametrize(
    ("params", "message"), URL_CASES, ids=[f"{k}={v[:20]!r}" for (p, _) in URL_CASES for k, v in p.items()]
)
def test_url_parameters(artifacts, params, message):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"bundle": "telco", **params})
    at.run()
    assert not at.exception
    shown = _viewer_text(at)
    assert message in shown
    assert len(shown) < 500  # an oversized parameter is not echoed back in full
    assert not at.metric


def test_unknown_extra_parameters_are_ignored(artifacts):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"bundle": "telco", "model": "../../x", "threshold": "NaN", "page": "<b>", "x" * 200: "y"})
    at.run()
    assert not at.exception and not at.error
    assert "Enter a customer ID" in _viewer_text(at)


# --- every file of a bundle, and its manifest -------------------------------------------------

TINY_FILES = [
    layout.CUSTOMERS,
    layout.predictions_path("lin"),
    layout.shap_path("lin"),
    layout.CURVES,
    layout.BACKGROUND,
]
FILE_DAMAGE = {
    "deleted": (lambda f: f.unlink(), "is incomplete: {relpath} is missing"),
    "truncated": (lambda f: f.write_bytes(f.read_bytes()[:10]), "is corrupt: {relpath} does not match its checksum"),
    "one bit flipped": (
        lambda f: f.write_bytes(_flip(f.read_bytes())),
        "is corrupt: {relpath} does not match its checksum",
    ),
    "replaced by a directory": (lambda f: (f.unlink(), f.mkdir()), "is incomplete: {relpath} is missing"),
}


def _flip(raw: bytes) -> bytes:
    data = bytearray(raw)
    data[len(data) // 2] ^= 0x01
    return bytes(data)


@pytest.mark.parametrize("relpath", TINY_FILES)
@pytest.mark.parametrize("damage", list(FILE_DAMAGE))
def test_every_bundle_file_damaged(tmp_path, relpath, damage):
    bundle = write_tiny_bundle(tmp_path)
    harm, message = FILE_DAMAGE[damage]
    harm(bundle.path / relpath)
    with pytest.raises(BundleError) as refused:
        open_bundle(tmp_path / "tiny")
    assert str(refused.value) == f"Bundle 'tiny' {message.format(relpath=relpath)}."


MANIFEST_DAMAGE = [
    ("deleted", None, "is incomplete: it has no manifest.json"),
    ("empty", "", "its manifest.json is not valid JSON"),
    ("truncated JSON", '{"schema_version": 1, "bun', "its manifest.json is not valid JSON"),
    ("not UTF-8", b"\xff\xfe{}", "its manifest.json is not valid JSON"),
    ("deeply nested", "[" * 100_000 + "]" * 100_000, "is not valid JSON"),
    ("a JSON list", "[1, 2]", "has no valid schema version"),
    ("no schema version", '{"bundle": "tiny"}', "has no valid schema version"),
    ("schema version as text", '{"schema_version": "1"}', "has no valid schema version"),
    ("schema version true", '{"schema_version": true}', "has no valid schema version"),
    (
        "newer schema",
        '{"schema_version": 999}',
        "was made by a newer churnlens (schema version 999); this churnlens opens schema versions "
        f"{', '.join(map(str, range(2, layout.SCHEMA_VERSION + 1)))}. Update churnlens to show it",
    ),
    ("older schema", '{"schema_version": 0}', "has the old schema version 0"),
    (
        "only the version",
        f'{{"schema_version": {layout.SCHEMA_VERSION}}}',
        "its manifest is invalid: the manifest has no 'bundle'",
    ),
]


@pytest.mark.parametrize(("case", "content", "message"), MANIFEST_DAMAGE, ids=[c[0] for c in MANIFEST_DAMAGE])
def test_every_kind_of_broken_manifest(tmp_path, case, content, message):
    bundle = write_tiny_bundle(tmp_path)
    manifest = bundle.path / layout.MANIFEST
    if content is None:
        manifest.unlink()
    else:
        manifest.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(BundleError) as refused:
        open_bundle(tmp_path / "tiny")
    assert message in str(refused.value)
    assert str(refused.value).startswith("Bundle 'tiny' ")
    assert str(tmp_path) not in str(refused.value)


def test_string_ids_through_lookup(tmp_path):
    store = CustomerStore(write_tiny_bundle(tmp_path, ids=["A-1", "b.2", "c/3"]))
    assert store.lookup(" b.2 ").customer_id == "b.2"
    for bad, message in [("b 2", "only letters, digits"), ("B.2", "No customer with ID B.2"), ("x" * 65, "at most 64")]:
        with pytest.raises(CustomerLookupError, match=message):
            store.lookup(bad)


def test_string_ids_through_the_url(tmp_path, monkeypatch):
    write_tiny_bundle(tmp_path, ids=["A-1", "b.2", "c/3"])
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(tmp_path))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"bundle": "tiny", "customer": "c/3"})
    at.run()
    assert not at.exception
    assert {m.label for m in at.metric} >= {"Churn probability"}
    assert at.query_params["customer"] == "c/3"
    at.text_input(key="customer").input("nobody").run()
    assert "No customer with ID nobody" in _viewer_text(at)


def test_a_file_damaged_after_the_bundle_was_opened_is_a_message(tmp_path, monkeypatch):
    """Rows are read on demand: a per-customer file broken on disk while the dashboard runs
    (after its checksums were verified at open) gets the bundle's message, not a traceback."""
    bundle = write_tiny_bundle(tmp_path)
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(tmp_path))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"bundle": "tiny"})
    at.run()
    assert not at.exception and "Enter a customer ID" in _viewer_text(at)
    shap_file = bundle.path / layout.shap_path("lin")
    shap_file.write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
    at.text_input(key="customer").input("7").run()
    assert not at.exception
    assert "Bundle 'tiny' is unreadable" in _viewer_text(at)
    assert str(tmp_path) not in _viewer_text(at)


# --- training input ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rows(spark, telco_spec):
    return telco_spec.load(spark).orderBy("rownames").limit(12).cache()


TRAINING_CASES = [
    (
        "missing column",
        lambda t: t.drop("contract"),
        "column 'contract': required by dataset 'telco' but not in the input table",
    ),
    (
        "renamed column",
        lambda t: t.withColumnRenamed("tenure", "Tenure_Months"),
        "column 'tenure': required by dataset 'telco'",
    ),
    ("renamed label", lambda t: t.withColumnRenamed("churn", "Churned"), "column 'churn': required by dataset 'telco'"),
    (
        "one-class label",
        lambda t: t.withColumn("churn", F.lit("No")),
        "the label must have exactly two classes, found 1",
    ),
    (
        "positive class absent",
        lambda t: t.withColumn("churn", F.when(F.col("churn") == "Yes", "Y").otherwise("No")),
        "the positive class 'Yes' never occurs",
    ),
    ("duplicate IDs", lambda t: t.withColumn("rownames", F.lit(1)), "11 rows repeat a customer ID"),
    (
        "missing IDs",
        lambda t: t.withColumn("rownames", F.when(F.col("rownames") < 3, None).otherwise(F.col("rownames"))),
        "rows have no customer ID",
    ),
    (
        "all-null numeric column",
        lambda t: t.withColumn("tenure", F.lit(None).cast("double")),
        "column 'tenure': all 12 rows are empty",
    ),
    (
        "all-null categorical column",
        lambda t: t.withColumn("contract", F.lit(None).cast("string")),
        "column 'contract': all 12 rows are empty",
    ),
    ("empty table", lambda t: t.limit(0), "the input table has no rows"),
    (
        "text in a numeric column",
        lambda t: t.withColumn("monthly_charges", F.lit("lots")),
        "column 'monthly_charges': 12 rows are not numeric",
    ),
    (
        "2 in a 0/1 column",
        lambda t: t.withColumn("senior_citizen", F.lit(2)),
        "column 'senior_citizen': 12 rows are not 0 or 1",
    ),
    (
        "untypable string IDs",
        lambda t: t.withColumn("rownames", F.concat(F.lit("id "), F.col("rownames"))),
        "use characters other than",
    ),
]


@pytest.mark.parametrize(("case", "change", "message"), TRAINING_CASES, ids=[c[0] for c in TRAINING_CASES])
def test_training_input(rows, telco_spec, case, change, message):
    problems = problems_of(change(rows), telco_spec)
    assert any(message in p for p in problems), problems
    assert all("Traceback" not in p and "\n" not in p for p in problems)


def test_a_categorical_with_100k_levels_is_refused_before_training(spark, rows, telco_spec):
    """One distinct `contract` per row over 100,000 rows: refused with the count and the cap,
    in the same single validation pass (no encoder ever sees 100k one-hot slots)."""
    template = rows.drop("rownames", "contract").limit(1)
    wide = (
        spark.range(100_000)
        .crossJoin(template)
        .select(
            F.col("id").alias("rownames"),
            F.concat(F.lit("plan-"), F.col("id").cast("string")).alias("contract"),
            *template.columns,
        )
    )
    problems = problems_of(wide, telco_spec)
    capped = [p for p in problems if p.startswith("column 'contract'")]
    assert len(capped) == 1, problems
    assert f"more than the cap of {telco_spec.max_categories}" in capped[0] and "distinct categories" in capped[0]
    about = re.search(r"about (\d+) distinct", capped[0])
    assert about is not None and int(about.group(1)) > 90_000


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["run", "--dataset", "nope"], 2, "Unknown dataset 'nope'"),
        (["run", "--bundle", "../escape"], 2, "not a valid bundle name"),
        (["run", "--bundle", "[x](http://ev.il)"], 2, "not a valid bundle name"),
        (["run", "--sample", "abc"], 2, "invalid int value"),
        (["frobnicate"], 2, "invalid choice"),
    ],
)
def test_cli_refuses_with_an_exit_code_and_no_traceback(argv, code, message, capsys):
    from training.__main__ import main

    result: int | str | None
    try:
        result = main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        result = exit_.code
    err = capsys.readouterr().err
    assert result == code
    assert message in err and "Traceback" not in err


# --- own files that used to train (issue 21) ---------------------------------------------------


def test_a_declared_encoding_is_read_as_declared(spark, tmp_path):
    body = rows_text(["caf\xe9", "Z\xfcrich"]).encode("latin-1")
    assert typed_cities(spark, own_files(tmp_path, body, '[customers.csv]\nencoding = "latin-1"\n')) == {
        "café",
        "Zürich",
    }


def test_an_undeclared_latin1_file_is_refused_by_the_cli(tmp_path, capsys):
    from training.__main__ import main

    config = own_files(tmp_path, rows_text(["caf\xe9", "Z\xfcrich"]).encode("latin-1"))
    assert main(["run", "--config", str(config), "--artifacts", str(tmp_path / "artifacts")]) == 2
    err = capsys.readouterr().err
    assert "column 'city': 40 rows are not UTF-8 text" in err and 'encoding = "latin-1"' in err
    assert not (tmp_path / "artifacts" / "own").exists()


def test_an_unknown_encoding_is_a_config_mistake(tmp_path, capsys):
    from training.__main__ import main

    config = own_files(tmp_path, rows_text(["a", "b"]).encode(), '[customers.csv]\nencoding = "klingon"\n')
    assert main(["run", "--config", str(config), "--artifacts", str(tmp_path / "artifacts")]) == 2
    assert "customers.csv.encoding" in capsys.readouterr().err


def test_doubled_quotes_inside_quoted_fields_are_one_quote(spark, tmp_path):
    body = rows_text(['"caf""e"', '"Z, ""u"""']).encode()
    assert typed_cities(spark, own_files(tmp_path, body)) == {'caf"e', 'Z, "u"'}


def test_a_million_character_cell_is_refused_in_one_short_line(tmp_path, capsys):
    from training.__main__ import main

    body = (rows_text(["plain", "other"], 39) + f"40,{'x' * 1_000_000},40,0\n").encode()
    config = own_files(tmp_path, body)
    assert main(["run", "--config", str(config), "--artifacts", str(tmp_path / "artifacts")]) == 2
    err = capsys.readouterr().err
    assert "column 'city': 1 row has categories longer than 200 characters (the longest has 1,000,000)" in err
    assert max(len(line) for line in err.splitlines()) <= 410 and "Traceback" not in err
    assert not (tmp_path / "artifacts" / "own").exists()


def test_a_binary_file_read_as_csv_gives_short_error_lines(tmp_path, capsys):
    from training.__main__ import main

    noise = bytes(b for b in range(256) if b not in b"\n\r,") * 150  # ~38,000 bytes, no line break
    config = own_files(tmp_path, b"")
    (tmp_path / "own.csv").write_bytes(noise + b"\n" + noise + b"\n")
    assert main(["run", "--config", str(config), "--artifacts", str(tmp_path / "artifacts")]) == 2
    err = capsys.readouterr().err
    assert "no column 'id'" in err and "Traceback" not in err
    assert max(len(line) for line in err.splitlines()) <= 410
