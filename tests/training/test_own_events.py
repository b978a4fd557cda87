"""Your own event log end to end: a config with events.churn_after_days builds the behavioural
customer table, trains models and item vectors, and publishes a sound bundle; bad event columns
and values are refused with messages naming the key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from bundle import layout
from bundle.checks import bundle_problems
from store import items as im
from tests.conftest import FAST_ITEMS, FAST_MODELS
from training import events as ev
from training.__main__ import main
from training.datasets import movielens, synthetic
from training.datasets.config import parse_config
from training.datasets.infer import build_spec
from training.pipeline import RunConfig, run
from training.validate import ValidationError

USERS = 120


@pytest.fixture(scope="module")
def event_files(tmp_path_factory):
    """MovieLens ratings of the first USERS users: timestamps as ISO text, every third as epoch seconds."""
    folder = tmp_path_factory.mktemp("own-events")
    movielens.export_csv(folder, USERS)
    ratings = pd.read_csv(folder / "ratings.csv", dtype={"rated_at": str})
    epoch = (pd.to_datetime(ratings["rated_at"]) - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    ratings.loc[::3, "rated_at"] = epoch[::3].astype(str)
    ratings.to_csv(folder / "ratings.csv", index=False)
    return folder


def config(folder, **events) -> dict:
    return {
        "name": "own-events",
        "events": {
            "path": "ratings.csv",
            "user": "user",
            "item": "movie",
            "timestamp": "rated_at",
            "value": "rating",
            "churn_after_days": 180,
            **events,
        },
        "items": {"path": "movies.csv", "id": "movie_id", "name": "title", "attributes": ["genres"]},
        "models": {"use": ["logistic", "xgboost"]},
    }


def test_an_event_log_config_publishes_behavioural_churn_with_item_vectors(spark, event_files, tmp_path):
    spec, decisions = build_spec(spark, parse_config(config(event_files), event_files))
    assert decisions == [] and spec.events is not None and spec.positive_label == "Yes"
    assert spec.events.window is not None
    names = set(spec.feature_names)
    assert {"events", "recency_days", "trend", "value_mean", "item_year", "share_drama"} <= names

    # The same users' labels as the built-in loader gives (ISO and epoch timestamps read alike).
    built_in, movies = movielens.load_events(spark)
    mine = built_in.where(F.col(ev.USER) <= USERS)
    expected: pd.DataFrame = (
        ev.churn_table(mine, movies, spec.events.window, ()).select(ev.USER, ev.CHURN_COLUMN, "events").toPandas()
    )
    got: pd.DataFrame = spec.load(spark).select(ev.USER, ev.CHURN_COLUMN, "events").toPandas()
    pd.testing.assert_frame_equal(
        got.sort_values(ev.USER, ignore_index=True), expected.sort_values(ev.USER, ignore_index=True)
    )

    bundle = run(
        spark,
        spec,
        RunConfig(
            artifacts=tmp_path,
            bundle_name="own-events",
            models=("logistic", "xgboost"),
            model_params=FAST_MODELS,
            item_params=FAST_ITEMS,
        ),
    )
    assert bundle_problems(bundle) == []
    customers = bundle.read_table(layout.CUSTOMERS).to_pandas()
    assert set(customers[layout.LABEL_COLUMN]) == {0, 1} and len(customers) == len(expected)
    assert [f["name"] for f in bundle.manifest["features"]] == spec.feature_names

    index = im.read_vectors(bundle.read_table(layout.ITEM_VECTORS))
    items = bundle.read_table(layout.ITEMS).to_pandas().set_index(layout.ITEM_ID_COLUMN)
    assert len(index) == bundle.manifest["items"]["items"] > 100
    assert items.loc["1", "title"] == "Toy Story" and "Animation" in items.loc["1", "genres"].split("|")
    assert items.loc["1", "year"] == 1995
    neighbours = im.neighbours(index, "1", 5)
    assert len(neighbours) == 5 and all(-1 <= s <= 1 for _, s in neighbours)
    recent = bundle.read_table(layout.CUSTOMER_ITEMS).to_pandas()
    assert set(recent[layout.ID_COLUMN]) <= set(customers[layout.ID_COLUMN]) and len(recent) > 0
    assert np.isin(recent[ev.ITEM].astype(str), items.index).mean() > 0.5


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (
            {"item": "film"},
            "events.item: no column 'film' in the events table (columns: 'user', 'movie', 'rated_at', 'rating')",
        ),
        ({"value": "movie_title"}, "events.value: no column 'movie_title' in the events table"),
        ({"value": "rated_at"}, "events.value: "),
        # Ratings read as epoch seconds put every event in the first seconds of 1970: nothing to label.
        ({"timestamp": "rating"}, "events.churn_after_days: no user can be labelled"),
    ],
)
def test_bad_event_columns_are_refused_naming_the_key(spark, event_files, tmp_path, capsys, events, expected):
    path = event_files / "bad.toml"
    data = config(event_files, **events)
    lines = [f'name = "{data["name"]}"', "[events]"]
    lines += [f"{k} = {v!r}" if isinstance(v, int) else f'{k} = "{v}"' for k, v in data["events"].items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["run", "--config", str(path), "--artifacts", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing published


def test_unreadable_timestamps_and_missing_users_are_counted(spark, tmp_path):
    (tmp_path / "events.csv").write_text(
        "who,what,when\n1,a,2026-01-05\n1,b,yesterday\n,c,1767225600\n2,a,2026-02-01T10:00:00\n", encoding="utf-8"
    )
    data = {
        "name": "tiny",
        "events": {"path": "events.csv", "user": "who", "item": "what", "timestamp": "when", "churn_after_days": 30},
    }
    with pytest.raises(ValidationError) as caught:
        build_spec(spark, parse_config(data, tmp_path))
    assert caught.value.problems == [
        "events.user: 1 of 4 events have no value in column 'who'",
        "events.timestamp: 1 values in column 'when' are neither a date/time (e.g. 2026-03-01 or 2026-03-01T12:30:00) "
        "nor epoch seconds, e.g. 'yesterday'",
    ]


def test_synthetic_events_add_item_vectors_and_keep_the_known_label(spark, tmp_path):
    spec = synthetic.spec(400, seed=5, events_per_customer=12)
    assert spec.events is not None and spec.events.window is None and spec.label_column == "churned"
    bundle = run(
        spark,
        spec,
        RunConfig(artifacts=tmp_path, seed=5, models=("logistic",), model_params=FAST_MODELS, item_params=FAST_ITEMS),
    )
    assert bundle_problems(bundle) == []
    assert [f["name"] for f in bundle.manifest["features"]] == [f.name for f in synthetic.FEATURES]
    items = bundle.read_table(layout.ITEMS).to_pandas().set_index(layout.ITEM_ID_COLUMN)
    assert len(items) == bundle.manifest["items"]["items"] == 210  # 200 products + 10 help pages, all used ≥ 5 times
    assert items.loc["905", "title"] == "Help page 6" and items.loc["905", "genres"] == "Help"
    recent = bundle.read_table(layout.CUSTOMER_ITEMS).to_pandas()
    # No churn window: every customer's events are their history (12 on average).
    assert recent[layout.ID_COLUMN].nunique() == 400 and len(recent) == 400 * 12
    assert bundle.manifest["items"]["churn_window"].startswith("none")


def test_a_labelled_customers_table_with_events_gets_an_item_source_checked_up_front(spark, event_files):
    rng = np.random.default_rng(3)
    pd.DataFrame(
        {
            "user": range(1, USERS + 1),
            "spend": rng.uniform(10, 90, USERS).round(2),
            "left": rng.choice(["Y", "N"], USERS),
        }
    ).to_csv(event_files / "customers.csv", index=False)
    data = {
        "name": "labelled",
        "customers": {"path": "customers.csv", "id": "user", "label": "left", "positive": "Y"},
        "events": {k: v for k, v in config(event_files)["events"].items() if k != "churn_after_days"},
        "items": config(event_files)["items"],
    }
    spec, _ = build_spec(spark, parse_config(data, event_files))
    assert spec.label_column == "left" and spec.feature_names == ["spend"]
    assert spec.events is not None and spec.events.window is None
    events, items = spec.events.load(spark)
    assert events.count() == len(pd.read_csv(event_files / "ratings.csv"))
    assert dict(events.dtypes) == {ev.USER: "bigint", ev.ITEM: "string", ev.TS: "timestamp", ev.VALUE: "double"}
    data["events"]["item"] = "film"
    with pytest.raises(ValidationError) as caught:
        build_spec(spark, parse_config(data, event_files))
    assert caught.value.problems[0].startswith("events.item: no column 'film' in the events table")
