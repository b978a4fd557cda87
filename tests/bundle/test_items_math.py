"""JVM-free item math on hand-checkable vectors: gensim semantics for analogy and doesnt_match."""

from __future__ import annotations

import numpy as np
import pytest

from store import items as im

VECTORS = {
    "king": [1.0, 1.0, 0.0],
    "queen": [1.0, 0.0, 1.0],
    "man": [0.0, 1.0, 0.0],
    "woman": [0.0, 0.0, 1.0],
    "apple": [-1.0, 0.2, 0.1],
    "zero": [0.0, 0.0, 0.0],
}


@pytest.fixture
def index() -> im.ItemIndex:
    return im.ItemIndex.from_arrays(list(VECTORS), np.array(list(VECTORS.values())))


def _cos(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_neighbours_are_cosine_ranked_without_the_item(index):
    found = im.neighbours(index, "king", 3)
    expected = sorted(
        ((w, _cos(VECTORS["king"], v)) for w, v in VECTORS.items() if w not in {"king", "zero"}), key=lambda t: -t[1]
    )
    assert [w for w, _ in found] == [w for w, _ in expected[:3]]
    assert [s for _, s in found] == pytest.approx([s for _, s in expected[:3]], abs=1e-6)
    assert "king" not in dict(im.neighbours(index, "king", 10))


def test_analogy_is_gensim_most_similar(index):
    # king − man + woman: mean of unit vectors (negative weighted −1), inputs excluded.
    unit = {w: np.asarray(v) / (np.linalg.norm(v) or 1) for w, v in VECTORS.items()}
    target = (unit["king"] - unit["man"] + unit["woman"]) / 3
    expected = sorted(
        (
            (w, _cos(target, v) if np.linalg.norm(v) else 0.0)
            for w, v in VECTORS.items()
            if w not in {"king", "man", "woman"}
        ),
        key=lambda t: -t[1],
    )
    found = im.analogy(index, ["king", "woman"], ["man"], k=2)
    assert found[0][0] == "queen"
    assert [w for w, _ in found] == [w for w, _ in expected[:2]]
    assert found[0][1] == pytest.approx(expected[0][1], abs=1e-6)


def test_doesnt_match_picks_the_odd_one(index):
    odd, scored = im.doesnt_match(index, ["king", "queen", "man", "apple"])
    assert odd == "apple"
    assert [w for w, _ in scored][0] == "apple" and len(scored) == 4
    with pytest.raises(im.ItemLookupError, match="at least three"):
        im.doesnt_match(index, ["king", "king", "queen"])


def test_unknown_items_and_cancelling_inputs_are_clear_errors(index):
    with pytest.raises(im.ItemLookupError, match="'nope' has no vector"):
        im.neighbours(index, "nope")
    with pytest.raises(im.ItemLookupError, match="cancel out"):
        im.analogy(index, ["king"], ["king"])


def test_top_k_breaks_ties_by_position_and_handles_small_k():
    scores = np.array([0.5, 0.9, 0.5, 0.9, 0.1], dtype=np.float32)
    assert im.top_k(scores, 3).tolist() == [1, 3, 0]
    assert im.top_k(scores, 10, exclude=(1,)).tolist() == [3, 0, 2, 4]
    assert im.top_k(scores, 0).tolist() == []


def test_genre_overlap_sees_signal_only_where_there_is_some():
    rng = np.random.default_rng(0)
    genres = ["Drama", "Comedy", "Action", "Horror"]
    labels = rng.integers(0, 4, size=400)
    centres = rng.normal(size=(4, 16)) * 3
    clustered = im.ItemIndex.from_arrays([str(i) for i in range(400)], centres[labels] + rng.normal(size=(400, 16)))
    shuffled = im.ItemIndex.from_arrays([str(i) for i in range(400)], rng.normal(size=(400, 16)))
    names = [genres[g] for g in labels]
    users = np.full(400, 50)
    assert im.genre_overlap(clustered, names, users)["ratio"] > 3
    assert 0.7 < im.genre_overlap(shuffled, names, users)["ratio"] < 1.3


@pytest.mark.parametrize("size", [7, 20_000, 300_000])
def test_top_k_equals_a_full_sort_with_ties_and_exclusions(size):
    rng = np.random.default_rng(size)
    # Rounded scores make many ties, also at the cut-off between kept and dropped.
    scores = np.round(rng.standard_normal(size).astype(np.float32), 1)
    best = np.lexsort((np.arange(size), -scores))
    exclude = tuple(int(i) for i in best[[0, 3, 4]][: max(0, size - 4)])
    reference = [int(i) for i in best if int(i) not in exclude]
    for k in (1, 5, 10, 50):
        assert im.top_k(scores, k, exclude).tolist() == reference[:k]
