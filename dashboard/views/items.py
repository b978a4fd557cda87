"""Items page and Customer-page item data, computed without Streamlit (testable, timeable).

A catalog is the item vectors plus what a user reads about each item (title,
year, genres, number of users) and the 2D map; it comes from a bundle or from a
folder written by Spark's Word2VecModel.save() (IDs as titles, PCA map only).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from bundle import layout
from bundle.reader import Bundle
from store import items as im

MAX_QUERY_LENGTH = 200
NO_GENRE = "(none)"


@dataclass(frozen=True)
class ItemCatalog:
    index: im.ItemIndex
    items: pd.DataFrame  # item_id, title, year, genres, users, main_genre, search_key; row i ↔ index row i
    points: pd.DataFrame  # item_id, pca_x, pca_y, tsne_x, tsne_y (NaN where t-SNE was not run)
    source: str

    def row(self, item_id: str) -> pd.Series:
        return self.items.iloc[self.index.position(item_id)]

    def label(self, item_id: str) -> str:
        return self._labels[self.index.position(item_id)]

    @cached_property
    def _labels(self) -> list[str]:
        # Built once per catalog: the Items page's pickers label every item on every run, and one
        # pandas row per label made that 86 % of the page's time (seconds under 20 sessions).
        labels = []
        for item_id, title, year in zip(
            self.items["item_id"].astype(str), self.items["title"], self.items["year"], strict=True
        ):
            if title == item_id:
                labels.append(item_id)
            else:
                labels.append(f"{title} ({int(year)})" if pd.notna(year) else f"{title}")
        return labels


def normalise(text: str) -> str:
    """Case- and accent-insensitive search key ("Amélie" → "amelie")."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def _with_search_columns(items: pd.DataFrame) -> pd.DataFrame:
    items = items.copy()
    items["main_genre"] = [g.split(layout.GENRE_SEPARATOR)[0] if g else NO_GENRE for g in items["genres"]]
    items["search_key"] = [normalise(t) for t in items["title"]]
    return items


def catalog_from_bundle(bundle: Bundle) -> ItemCatalog:
    index = im.read_vectors(bundle.read_table(layout.ITEM_VECTORS))
    items = bundle.read_table(layout.ITEMS).to_pandas()
    points = bundle.read_table(layout.ITEM_MAP).to_pandas()
    return ItemCatalog(index=index, items=_with_search_columns(items), points=points, source=f"bundle '{bundle.name}'")


def catalog_from_word2vec_dir(path: Path) -> ItemCatalog:
    """A foreign Spark model: IDs only, so titles are the IDs and the map is PCA."""
    index = im.read_word2vec_dir(path)
    ids = index.ids.astype(str)
    items = pd.DataFrame({"item_id": ids, "title": ids, "year": np.nan, "genres": "", "users": np.nan})
    centred = index.unit.astype(np.float64) - index.unit.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    pca = centred @ components[:2].T
    points = pd.DataFrame({"item_id": ids, "pca_x": pca[:, 0], "pca_y": pca[:, 1], "tsne_x": np.nan, "tsne_y": np.nan})
    return ItemCatalog(
        index=index, items=_with_search_columns(items), points=points, source=f"Word2Vec folder '{path.name}'"
    )


@dataclass(frozen=True)
class Resolution:
    item_id: str | None  # the one item meant, if any
    candidates: pd.DataFrame  # matches when there is no single one (most-used first)
    message: str  # plain text; pages pass it through inert()


def search(catalog: ItemCatalog, query: str, limit: int = 50) -> pd.DataFrame:
    """Items whose ID equals the query or whose title contains it (accent/case-insensitive), most-used first."""
    key = normalise(query)
    items = catalog.items
    hits = items[(items["item_id"] == query.strip()) | items["search_key"].str.contains(key, regex=False)]
    exact_id = hits["item_id"] == query.strip()
    order = np.lexsort((hits["title"].to_numpy(), -hits["users"].fillna(0).to_numpy(), ~exact_id.to_numpy()))
    return hits.iloc[order].head(limit)[["item_id", "title", "year", "genres", "users"]].reset_index(drop=True)


def resolve(catalog: ItemCatalog, query: str) -> Resolution:
    """The item a typed ID or title means, or the candidates to choose from."""
    text = query.strip()
    if not text:
        return Resolution(None, catalog.items.iloc[:0], "")
    if len(text) > MAX_QUERY_LENGTH:
        return Resolution(
            None, catalog.items.iloc[:0], f"That search is too long (over {MAX_QUERY_LENGTH} characters)."
        )
    if text in catalog.index.positions:
        return Resolution(text, catalog.items.iloc[:0], "")
    hits = search(catalog, text)
    if len(hits) == 1:
        return Resolution(str(hits["item_id"].iloc[0]), hits, "")
    exact = hits[hits["title"].map(normalise) == normalise(text)]
    if len(exact) == 1:
        return Resolution(str(exact["item_id"].iloc[0]), hits, "")
    if hits.empty:
        return Resolution(None, hits, f"No item has the ID or a title containing '{text}' in {catalog.source}.")
    more = "+" if len(hits) == 50 else ""
    return Resolution(None, hits, f"'{text}' matches {len(hits)}{more} items; pick one below.")


def _described(catalog: ItemCatalog, found: list[tuple[str, float]], score: str = "similarity") -> pd.DataFrame:
    rows = catalog.items.iloc[[catalog.index.position(i) for i, _ in found]]
    frame = rows[["item_id", "title", "year", "genres", "users"]].reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame[score] = [s for _, s in found]
    return frame


def build_neighbours(catalog: ItemCatalog, item_id: str, k: int = 10) -> pd.DataFrame:
    return _described(catalog, im.neighbours(catalog.index, item_id, k))


def build_analogy(catalog: ItemCatalog, positive: list[str], negative: list[str], k: int = 10) -> pd.DataFrame:
    return _described(catalog, im.analogy(catalog.index, positive, negative, k))


def build_odd_one_out(catalog: ItemCatalog, item_ids: list[str]) -> tuple[str, pd.DataFrame]:
    odd, scored = im.doesnt_match(catalog.index, item_ids)
    frame = _described(catalog, scored, score="similarity to the group").drop(columns="rank")
    return odd, frame


def build_map_points(
    catalog: ItemCatalog, highlight: dict[str, str], projection: str = "tsne", max_points: int = 3000, seed: int = 0
) -> pd.DataFrame:
    """Points for the map: the most-used items (at most `max_points`) plus every highlighted one.

    `highlight` maps item_id → role ("query", "neighbour"); projection "tsne" keeps only
    items t-SNE placed (highlighted items without t-SNE coordinates are reported by the caller).
    """
    x, y = f"{projection}_x", f"{projection}_y"
    frame = catalog.items[["item_id", "title", "year", "genres", "main_genre", "users"]].assign(
        x=catalog.points[x].to_numpy(), y=catalog.points[y].to_numpy()
    )
    frame = frame[np.isfinite(frame["x"]) & np.isfinite(frame["y"])]
    marked = frame["item_id"].isin(list(highlight))
    rest = frame[~marked]
    if len(rest) > max_points:
        rest = rest.iloc[np.argsort(-rest["users"].fillna(0).to_numpy(), kind="stable")[:max_points]]
    points = pd.concat([rest, frame[marked]], ignore_index=True)
    points["role"] = points["item_id"].map(highlight).fillna("other")
    points["year"] = points["year"].astype("Float64")
    return points


def missing_from_map(catalog: ItemCatalog, item_ids: list[str], projection: str) -> list[str]:
    column = catalog.points[f"{projection}_x"].to_numpy()
    return [i for i in item_ids if not np.isfinite(column[catalog.index.position(i)])]


# --- Customer page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerItems:
    recent: pd.DataFrame  # rank (1 = latest), item_id, title, year, genres, rating, when
    recommendations: pd.DataFrame  # item_id, title, year, genres, similarity, because_of_id, because_of


def build_customer_items(
    catalog: ItemCatalog, history: pd.DataFrame, customer_id: object, recent: int = 10, k: int = 10
) -> CustomerItems:
    """The customer's latest items and the unseen neighbours of those items, each with the item it came from.

    `history` is this customer's rows of the bundle's CUSTOMER_ITEMS table (the dashboard reads just
    those: `data.load_customer_history`), or any part of the table that holds them;
    recommendations exclude everything in the customer's history.
    """
    mine = history[history[layout.ID_COLUMN] == customer_id].sort_values("rank")
    latest = mine.head(recent)
    ids = latest[layout.ITEM_ID_COLUMN].astype(str).tolist()
    titles = catalog.items.set_index("item_id")
    known = [i for i in ids if i in catalog.index.positions]
    shown = pd.DataFrame(
        {
            "rank": np.arange(1, len(latest) + 1),
            "item_id": ids,
            "title": [titles["title"].get(i, i) for i in ids],
            "year": [titles["year"].get(i, np.nan) for i in ids],
            "genres": [titles["genres"].get(i, "") for i in ids],
            "rating": latest["value"].to_numpy() if "value" in latest else np.nan,
            "when": pd.to_datetime(latest["ts"]).to_numpy() if "ts" in latest else pd.NaT,
        }
    )
    consumed = set(mine[layout.ITEM_ID_COLUMN].astype(str))
    best: dict[str, tuple[float, str]] = {}
    for source in known:
        for candidate, similarity in im.neighbours(catalog.index, source, k + len(consumed)):
            if candidate not in consumed and similarity > best.get(candidate, (-2.0, ""))[0]:
                best[candidate] = (similarity, source)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
    recommendations = pd.DataFrame(
        {
            "item_id": [c for c, _ in ranked],
            "title": [titles["title"].get(c, c) for c, _ in ranked],
            "year": [titles["year"].get(c, np.nan) for c, _ in ranked],
            "genres": [titles["genres"].get(c, "") for c, _ in ranked],
            "similarity": [s for _, (s, _) in ranked],
            "because_of_id": [src for _, (_, src) in ranked],
            "because_of": [titles["title"].get(src, src) for _, (_, src) in ranked],
        }
    )
    return CustomerItems(recent=shown, recommendations=recommendations)


def far_item(catalog: ItemCatalog, item_id: str) -> str:
    """A well-known item far from this one, to seed the odd-one-out example."""
    users = catalog.items["users"].fillna(0).to_numpy()
    popular = np.flatnonzero(users >= np.quantile(users, 0.9)) if users.any() else np.arange(len(users))
    similarity = catalog.index.unit[popular] @ catalog.index.unit[catalog.index.position(item_id)]
    return str(catalog.index.ids[popular[int(np.argmin(similarity))]])
