"""Items page inside AppTest: deep links, search, neighbours, analogy, odd one out, bad input,
bundles without items, and a configured external Word2Vec folder with hostile titles."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from bundle.reader import open_bundle
from dashboard.shell import data
from dashboard.shell.plain import inert
from dashboard.views.items import catalog_from_bundle, normalise
from store import items as im
from tests.dashboard.dashboard_helpers import open_app

TIMEOUT = 90
PAGE = "app_pages/items.py"


@pytest.fixture
def artifacts(movielens_bundle_root, monkeypatch) -> Path:
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(movielens_bundle_root))
    monkeypatch.delenv(data.WORD2VEC_DIRS_ENV, raising=False)
    return movielens_bundle_root


@pytest.fixture(scope="module")
def catalog(movielens_bundle_root):
    return catalog_from_bundle(open_bundle(movielens_bundle_root / "movielens"))


def items_page(**params: str) -> AppTest:
    return open_app(TIMEOUT, PAGE, **params)


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def popular(catalog, n: int = 1) -> list[str]:
    return catalog.items.sort_values(["users", "item_id"], ascending=[False, True])["item_id"].head(n).tolist()


def test_deep_link_shows_neighbours_and_map(artifacts, catalog):
    item = popular(catalog)[0]
    at = items_page(bundle="movielens", item=item)
    assert not at.exception
    assert at.subheader[0].value.startswith(str(catalog.items.set_index("item_id").loc[item, "title"])[:3])
    table = at.dataframe[0].value
    expected = im.neighbours(catalog.index, item, 10)
    assert table["ID"].tolist() == [i for i, _ in expected]
    assert table["Cosine similarity"].to_numpy() == pytest.approx([s for _, s in expected])
    chart = at.get("vega_lite_chart")[0].proto
    assert '"interactive"' in chart.spec or '"bind": "scales"' in chart.spec  # zoom and pan
    points = pa.ipc.open_stream(chart.datasets[0].data.data).read_all().to_pandas()
    roles = dict(zip(points["item_id"], points["role"], strict=True))
    assert roles[item] == "query" and all(roles[i] == "neighbour" for i, _ in expected)
    assert len(points) <= 3000 + 11 and {"title", "year", "genres", "main_genre"} <= set(points.columns)
    assert at.query_params["item"] == item


def test_following_a_neighbour_moves_the_page_and_the_url(artifacts, catalog):
    item = popular(catalog)[0]
    at = items_page(bundle="movielens", item=item)
    first = at.dataframe[0].value["ID"].iloc[0]
    at.button(key=f"open_{first}").click().run()
    assert not at.exception
    assert at.query_params["item"] == first
    assert at.dataframe[0].value["ID"].tolist() == [i for i, _ in im.neighbours(catalog.index, first, 10)]


def test_search_is_partial_case_and_accent_insensitive(artifacts, catalog):
    titles = catalog.items.set_index("item_id")["title"]
    accented = [
        (i, t) for i, t in titles.items()
        if any(unicodedata.combining(c) for c in unicodedata.normalize("NFKD", t)) and len(t) > 6
    ]  # fmt: skip
    chosen = next(
        (i, t) for i, t in accented
        if (catalog.items["search_key"].str.contains(normalise(t), regex=False)).sum() == 1
    )  # fmt: skip
    plain = "".join(c for c in unicodedata.normalize("NFKD", chosen[1]) if not unicodedata.combining(c)).upper()
    at = items_page(bundle="movielens")
    assert "Search" in texts(at.info)
    at.text_input(key="item_query").input(plain).run()
    assert not at.exception
    assert at.query_params["item"] == chosen[0]


def test_ambiguous_title_lists_candidates_and_a_pick_opens_one(artifacts, catalog):
    word = "the"
    at = items_page(bundle="movielens")
    at.text_input(key="item_query").input(word.upper()).run()
    assert "matches" in texts(at.warning)
    assert "item" not in at.query_params
    candidates = at.dataframe[0].value
    assert len(candidates) > 1 and all(word in normalise(t) for t in candidates["Title"])
    pick = candidates["ID"].iloc[1]
    at.button(key=f"pick_{pick}").click().run()
    assert at.query_params["item"] == pick
    assert not at.warning


@pytest.mark.parametrize("raw", ["no such movie 123", "x" * 500])
def test_unknown_item_is_a_clear_message(artifacts, raw):
    at = items_page(bundle="movielens", item=raw)
    assert not at.exception
    message = texts(at.warning)
    assert "No item has" in message or "too long" in message
    assert "item" not in at.query_params


def test_analogy_matches_gensim_semantics(artifacts, catalog):
    a, b, c = popular(catalog, 3)
    at = items_page(bundle="movielens", item=a)
    at.multiselect(key=f"analogy_pos_{a}").select(b).run()
    at.multiselect(key=f"analogy_neg_{a}").select(c).run()
    assert not at.exception
    expected = im.analogy(catalog.index, [a, b], [c], 10)
    table = at.dataframe[1].value  # tabs in order: neighbours, analogy, doesn't belong
    assert table["ID"].tolist() == [i for i, _ in expected]
    assert set(table["ID"]).isdisjoint({a, b, c})
    assert table["Cosine similarity"].to_numpy() == pytest.approx([s for _, s in expected])


def test_doesnt_belong_names_the_odd_item(artifacts, catalog):
    item = popular(catalog)[0]
    at = items_page(bundle="movielens", item=item)
    chosen = at.multiselect(key=f"odd_{item}").value
    assert len(chosen) == 5
    odd, _ = im.doesnt_match(catalog.index, chosen)
    assert texts(at.success) == f"Doesn't belong: {at.success[0].value.split(': ', 1)[1]}"
    assert normalise(catalog.label(odd))[:5] in normalise(at.success[0].value.replace("\\", ""))
    at.multiselect(key=f"odd_{item}").unselect(chosen[-1]).unselect(chosen[-2]).unselect(chosen[-3]).run()
    assert "at least three" in texts(at.info)


def test_bundle_without_items_says_so(bundle_root, movielens_bundle_root, tmp_path, monkeypatch):
    root = tmp_path / "artifacts"
    root.mkdir()
    for name, source in (("telco", bundle_root), ("movielens", movielens_bundle_root)):
        (root / name).symlink_to((source / name).resolve())
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(root))
    monkeypatch.delenv(data.WORD2VEC_DIRS_ENV, raising=False)
    at = items_page(bundle="telco", item="1")
    assert not at.exception
    assert "has no item vectors" in texts(at.info)
    assert "item" not in at.query_params


def _spark_style_model(folder: Path, words: list[str], vectors: np.ndarray) -> None:
    """The layout Word2VecModel.save() writes (metadata JSON line + data Parquet), written by hand."""
    (folder / "metadata").mkdir(parents=True)
    (folder / "data").mkdir()
    meta = {"class": "org.apache.spark.ml.feature.Word2VecModel", "paramMap": {"vectorSize": vectors.shape[1]}}
    (folder / "metadata" / "part-00000").write_text(json.dumps(meta) + "\n")
    vector_type = pa.list_(pa.field("element", pa.float32(), nullable=False))
    table = pa.table({"word": words, "vector": pa.array(vectors.astype(np.float32).tolist(), vector_type)})
    pq.write_table(table, folder / "data" / "part-00000-abc.snappy.parquet")


def test_configured_word2vec_folder_with_hostile_ids(artifacts, tmp_path, monkeypatch):
    words = ["[click](https://evil.example)", "**bold**", ":red[alarm]", "plain", "other"]
    vectors = np.random.default_rng(0).normal(size=(len(words), 8))
    folder = tmp_path / "seed-model"
    _spark_style_model(folder, words, vectors)
    monkeypatch.setenv(data.WORD2VEC_DIRS_ENV, str(folder))
    at = items_page(bundle="movielens")
    at.selectbox(key="item_source").select("seed-model").run()
    at.text_input(key="item_query").input(words[0]).run()
    assert not at.exception
    heading = at.subheader[0].value
    assert heading == inert(words[0])  # escaped, and the URL's autolink broken (dashboard.shell.plain)
    assert heading.startswith(r"\[click\]\(https\:")
    index = im.read_word2vec_dir(folder)
    assert at.dataframe[0].value["ID"].tolist() == [w for w, _ in im.neighbours(index, words[0], 4)]
    for label in (b.proto.label for b in at.button):
        assert "](" not in label and "**" not in label.replace("\\*", "")
