"""Item vectors (item2vec): each user's time-ordered items are a sentence for Spark's
Word2Vec. Produces the bundle's item tables, a 2D map, each customer's recent items
and the Spark model itself (saved in Spark's own format by publish).

Each customer's recent items (up to `history_items` rows per customer: 20M rows at a million
customers) are never collected: Spark writes them sorted by (customer_id, rank) into the run's
scratch folder and publish streams them into the bundle, like the score/SHAP table."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.ml.feature import Word2Vec, Word2VecModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from bundle import layout
from store import items as item_math
from training import events as ev
from training.parts import write_sorted
from training.spark import one_row

log = logging.getLogger("training")


@dataclass(frozen=True)
class Word2VecParams:
    """Defaults chosen by the genre-overlap ratio (README: "Item neighbours")."""

    vectorSize: int = 64
    windowSize: int = 10
    minCount: int = 5
    maxIter: int = 10  # MovieLens: ratio 2.05 (mean of 4 seeds) against 2.03 at 5; the sample bounds the cost
    stepSize: float = 0.025
    # One: Spark's Word2Vec lets the tasks of one executor update the same broadcast arrays at once
    # (Hogwild), so with more partitions two runs on the same input differ (docs/item-vectors.md).
    # The corpus sample below bounds the cost instead.
    numPartitions: int = 1
    # A seeded sample of whole customers' sequences once the corpus holds more than this many events per
    # vocabulary item on average (0: never sample). MovieLens has ~28 and its neighbours carry signal.
    max_events_per_item: int = 2_000
    history_items: int = 500  # latest items kept per customer (Customer page: recent items, exclusions)
    # t-SNE for the most-used items only (sklearn's Barnes-Hut: ~35 s for 2,000 items on
    # 2 busy cores, ~65 s for all 3,500); PCA covers every item.
    map_points: int = 2000


RECENT_DIR = "recent_items"  # Spark's sorted recent-items output inside the run's scratch folder


@dataclass
class ItemStage:
    tables: dict[str, pa.Table]  # the per-item tables (small: one row per item)
    model: Word2VecModel
    manifest: dict
    recent: list[Path]  # CUSTOMER_ITEMS as Spark's sorted part files, in order (streamed by publish)


def by_user(events: DataFrame, customers: DataFrame) -> DataFrame:
    """The events with users in the customers' ID type, range-partitioned by user: the one shuffle of
    the events. Users per item, the corpus's sequences and the recent items' window and sort are all
    clustered by user, so Spark plans none of its own (`tests/training/test_item_corpus.py`)."""
    id_type = customers.schema[layout.ID_COLUMN].dataType
    return events.withColumn(ev.USER, F.col(ev.USER).cast(id_type)).repartitionByRange(ev.USER)


def item_counts(events: DataFrame) -> pd.DataFrame:
    """Per item: its events (`count`) and distinct users (`users`), in one aggregation over the events
    (one row per item, so small). The corpus's vocabulary and sample and the item table use it."""
    counts = events.groupBy(ev.ITEM).agg(F.count(F.lit(1)).alias("count"), F.countDistinct(ev.USER).alias("users"))
    return pd.DataFrame(counts.toPandas())


def _item_metadata(counts: pd.DataFrame, items: DataFrame) -> pd.DataFrame:
    return pd.DataFrame(items.toPandas()).merge(counts[[ev.ITEM, "users"]], on=ev.ITEM, how="inner")


def _vectors(model: Word2VecModel) -> tuple[np.ndarray, np.ndarray]:
    frame: pd.DataFrame = model.getVectors().toPandas()
    order = np.argsort(frame["word"].to_numpy().astype(str), kind="stable")
    ids = frame["word"].to_numpy().astype(str)[order]
    matrix = np.stack([np.asarray(v.toArray(), dtype=np.float32) for v in frame["vector"]])[order]
    return ids, matrix


def _map(matrix: np.ndarray, users: np.ndarray, seed: int, max_points: int) -> dict[str, np.ndarray]:
    """PCA of all items; t-SNE (cosine) of the `max_points` most-used items, NaN for the rest."""
    unit = item_math.unit_rows(matrix.astype(np.float64))
    centred = unit - unit.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    pca = centred @ components[:2].T
    tsne = np.full((len(unit), 2), np.nan)
    chosen = np.sort(np.argsort(-users, kind="stable")[:max_points])
    if len(chosen) > 5:
        from sklearn.manifold import TSNE

        perplexity = float(min(30, (len(chosen) - 1) / 3))
        tsne[chosen] = TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=seed, metric="cosine", max_iter=500
        ).fit_transform(unit[chosen])
    return {"pca_x": pca[:, 0], "pca_y": pca[:, 1], "tsne_x": tsne[:, 0], "tsne_y": tsne[:, 1]}


def recent_items(observed: DataFrame, customers: DataFrame, k: int) -> DataFrame:
    """Each trained customer's latest `k` items, ranked (0 = latest), sorted by (customer_id, rank):
    lazy, nothing is collected. Users are cast to the customers' ID type (customers.parquet's: the
    dashboard matches on it) and kept by a semi-join, not an IN list: the customers may be millions.
    `ts` becomes a wall-clock timestamp in the session's time zone (what `toPandas` gave)."""
    id_type = customers.schema[layout.ID_COLUMN].dataType
    # The IDs are broadcast (8 bytes a customer) so the events are not shuffled for the join: events
    # range-partitioned by user (`by_user`) then need no shuffle at all, the window and the sort included.
    observed = observed.withColumn(ev.USER, F.col(ev.USER).cast(id_type)).join(
        F.broadcast(customers.select(F.col(layout.ID_COLUMN).alias(ev.USER))), ev.USER, "left_semi"
    )
    ranked = observed.withColumn(
        "rank",
        F.row_number().over(Window.partitionBy(ev.USER).orderBy(F.col(ev.TS).desc(), F.col(ev.ITEM))) - 1,
    ).where(F.col("rank") < k)
    return ranked.select(
        F.col(ev.USER).alias(layout.ID_COLUMN),
        F.col("rank").cast("int").alias("rank"),
        F.col(ev.ITEM).cast("string").alias(ev.ITEM),
        F.col(ev.TS).cast("timestamp_ntz").alias(ev.TS),
        F.col(ev.VALUE).cast("double").alias(ev.VALUE),
    ).orderBy(layout.ID_COLUMN, "rank")


def corpus(
    events: DataFrame, settings: Word2VecParams, seed: int, counts: pd.DataFrame | None = None
) -> tuple[DataFrame, dict]:
    """The sequences Word2Vec trains on, in one partition in a seeded order, and what was kept.

    One ordered partition, one Word2Vec partition: the fit then depends on nothing but the data and
    the seed, on any cluster. Beyond `max_events_per_item` events per vocabulary item (items seen
    `minCount` times), whole customers' sequences are sampled by a hash of (customer ID, seed): 210
    items do not need 20M events, and the sample bounds the one-core fit whatever the table's size.
    `counts`: `item_counts(events)`, when the caller has it."""
    per_item = (item_counts(events) if counts is None else counts)["count"].to_numpy(dtype=np.int64)
    total, vocab = int(per_item.sum()), int((per_item >= settings.minCount).sum())
    budget = settings.max_events_per_item * vocab
    fraction = 1.0 if settings.max_events_per_item <= 0 or total <= budget else budget / total
    keyed = events.withColumn("_key", F.xxhash64(F.col(ev.USER).cast("string"), F.lit(seed)))
    if fraction < 1.0:
        # Sampled before sequences are built, so only the kept customers' events are grouped. pmod keeps
        # the hash non-negative; a million buckets make the fraction exact to a millionth.
        keyed = keyed.where(F.pmod(F.col("_key"), F.lit(1_000_000)) < F.lit(round(fraction * 1_000_000)))
    sequences = ev.item_sequences(keyed, extra=("_key",))
    ordered = sequences.repartition(1).sortWithinPartitions("_key", ev.USER).select("items")
    info = {"events": total, "vocabulary": vocab, "sample_fraction": round(fraction, 6)}
    return ordered, info


def _fit(sequences: DataFrame, settings: Word2VecParams, seed: int) -> tuple[Word2VecModel, float]:
    started = time.perf_counter()
    model = Word2Vec(
        inputCol="items",
        outputCol="user_vector",
        vectorSize=settings.vectorSize,
        windowSize=settings.windowSize,
        minCount=settings.minCount,
        maxIter=settings.maxIter,
        stepSize=settings.stepSize,
        numPartitions=settings.numPartitions,
        seed=seed,
    ).fit(sequences)
    return model, time.perf_counter() - started


def _item_tables(
    counts: pd.DataFrame, items: DataFrame, ids: np.ndarray, matrix: np.ndarray, settings: Word2VecParams, seed: int
) -> dict[str, pa.Table]:
    """The bundle's ITEMS, ITEM_VECTORS and ITEM_MAP tables."""
    meta = _item_metadata(counts, items).set_index(ev.ITEM).reindex(ids)
    item_table = pa.table(
        {
            layout.ITEM_ID_COLUMN: pa.array(ids, pa.string()),
            "title": pa.array(meta[ev.TITLE].fillna("").astype(str).to_numpy(), pa.string()),
            "year": pa.array(meta[ev.YEAR].to_numpy(dtype=float), pa.float64()),
            "genres": pa.array(meta[ev.GENRES].fillna("").astype(str).to_numpy(), pa.string()),
            "users": pa.array(meta["users"].fillna(0).to_numpy(dtype=np.int64), pa.int64()),
        }
    )
    vectors = pa.table(
        {
            layout.ITEM_ID_COLUMN: pa.array(ids, pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel(), pa.float32()), settings.vectorSize),
        }
    )
    coordinates = _map(matrix, item_table.column("users").to_numpy(), seed, settings.map_points)
    item_map = pa.table({layout.ITEM_ID_COLUMN: pa.array(ids, pa.string()), **coordinates})
    return {layout.ITEMS: item_table, layout.ITEM_VECTORS: vectors, layout.ITEM_MAP: item_map}


def _quality(ids: np.ndarray, matrix: np.ndarray, item_table: pa.Table, seed: int) -> dict:
    index = item_math.ItemIndex.from_arrays(ids, matrix)
    genres = item_table.column("genres").to_pylist()
    quality = item_math.genre_overlap(index, genres, item_table.column("users").to_numpy(), seed=seed)
    log.info(
        "item neighbours: genre overlap %.3f vs random %.3f (ratio %.2f)",
        quality["neighbour_jaccard"],
        quality["random_jaccard"],
        quality["ratio"],
    )
    return quality


def _describe(corpus_info: dict) -> str:
    if corpus_info["sample_fraction"] >= 1.0:
        return "each user's items in time order, all events"
    return (
        f"each user's items in time order; a seeded sample of whole sequences ({corpus_info['sample_fraction']:.2%}): "
        f"{corpus_info['events_used']:,} of {corpus_info['events']:,} events"
    )


@dataclass
class Vectors:
    ids: np.ndarray  # item IDs, one per row of `matrix`
    matrix: np.ndarray  # items × dimensions
    tables: dict[str, pa.Table]  # ITEMS, ITEM_VECTORS, ITEM_MAP
    model: Word2VecModel
    corpus: dict  # what the corpus kept (`corpus`'s facts plus events_used)
    fit_seconds: float
    quality: dict  # MovieLens-style genre overlap of neighbours (`bundle.item_vectors.genre_overlap`)


def train_vectors(events: DataFrame, items: DataFrame, settings: Word2VecParams, seed: int) -> Vectors:
    """Item vectors and tables from `events` (from `by_user`, cached): the corpus, the one-partition
    fit, the per-item tables and the neighbours' quality. Training and `bench.item_vectors` call it."""
    started = time.perf_counter()
    counts = item_counts(events)
    sequences, corpus_info = corpus(events, settings, seed, counts)
    sequences = sequences.cache()
    corpus_info["events_used"] = int(one_row(sequences.select(F.sum(F.size("items")).alias("n")))["n"] or 0)
    log.info("item corpus: %s in %.1f s", _describe(corpus_info), time.perf_counter() - started)
    model, fit_s = _fit(sequences, settings, seed)
    sequences.unpersist()
    ids, matrix = _vectors(model)
    log.info("word2vec: %d items × %d dims in %.1f s", len(ids), settings.vectorSize, fit_s)
    started = time.perf_counter()
    tables = _item_tables(counts, items, ids, matrix, settings, seed)
    log.info("item tables (users per item, 2D map) in %.1f s", time.perf_counter() - started)
    quality = _quality(ids, matrix, tables[layout.ITEMS], seed)
    return Vectors(ids, matrix, tables, model, corpus_info, fit_s, quality)


def build(
    spark: SparkSession, source: ev.EventSource, params: dict | None, seed: int, customers: DataFrame, scratch: Path
) -> ItemStage:
    """Train item vectors on every user's full sequence; recent items are those the churn model saw
    (`customers`: the trained customers' IDs, a Spark table), written sorted into `scratch`."""
    settings = Word2VecParams(**(params or {}))
    events, items = source.load(spark)
    events = by_user(events, customers).cache()
    vectors = train_vectors(events, items, settings, seed)
    # Recent items are what the churn model could have seen: before each user's cutoff, or every event
    # when the label comes from a customer table (no cutoff).
    started = time.perf_counter()
    observed = events if source.window is None else ev.observed_events(events, source.window)
    recent = write_sorted(recent_items(observed, customers, settings.history_items), scratch / RECENT_DIR)
    log.info(
        "recent items: up to %d per customer, written sorted into %d part files in %.1f s",
        settings.history_items,
        len(recent),
        time.perf_counter() - started,
    )
    events.unpersist()
    manifest = {
        "method": "word2vec",
        "params": asdict(settings) | {"seed": seed},
        "items": len(vectors.ids),
        "dimensions": settings.vectorSize,
        "sequences": _describe(vectors.corpus),
        "corpus": vectors.corpus | {"partitions": settings.numPartitions},
        "churn_window": source.describe(),
        "fit_seconds": round(vectors.fit_seconds, 3),
        "quality": vectors.quality,
    }
    return ItemStage(tables=vectors.tables, model=vectors.model, manifest=manifest, recent=recent)
