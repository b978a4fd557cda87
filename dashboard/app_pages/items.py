"""Items page: find an item, its nearest neighbours, the map around it, analogies and the odd one out."""

from __future__ import annotations

import streamlit as st

from bundle.reader import BundleError
from dashboard.charts import items as item_charts
from dashboard.shell import data, draw
from dashboard.shell.plain import inert
from dashboard.views import items as views
from store.items import ItemLookupError, has_items

ITEM_PARAM = "item"
QUERY_KEY = "item_query"
SOURCE_KEY = "item_source"
PROJECTIONS = {"t-SNE": "tsne", "PCA": "pca"}
COLUMNS = {"rank": "#", "title": "Title", "year": "Year", "genres": "Genres", "users": "Users", "item_id": "ID"}


def _open(item_id: str) -> None:
    st.session_state[QUERY_KEY] = item_id


def _follow_in_url(item_id: str | None) -> None:
    """`?item=` always names the item shown, so the address bar is a shareable link."""
    if item_id is not None:
        if st.query_params.get(ITEM_PARAM) != item_id:
            st.query_params[ITEM_PARAM] = item_id
    elif ITEM_PARAM in st.query_params:
        del st.query_params[ITEM_PARAM]


def _catalog(bundle):
    """The chosen vectors: the bundle's own, or a Word2Vec folder the operator configured."""
    sources = ([f"Bundle {bundle.name}"] if has_items(bundle.manifest) else []) + list(data.word2vec_dirs())
    if not sources:
        st.info(
            f"Bundle '{inert(bundle.name)}' has no item vectors. Item neighbours come with bundles trained "
            "from an event log, such as movielens: pick one in the sidebar."
        )
        return None
    choice = sources[0] if len(sources) == 1 else st.selectbox("Item vectors", sources, key=SOURCE_KEY)
    try:
        if choice == f"Bundle {bundle.name}" and has_items(bundle.manifest):
            return data.load_item_catalog(bundle)
        return data.load_external_catalog(choice)
    except (BundleError, ItemLookupError) as exc:
        st.error(f"The item vectors can't be read: {inert(exc, limit=400)}")
        return None


def _table(frame, score_columns: dict[str, str]):
    shown = frame.rename(columns={**COLUMNS, **score_columns})
    config = {label: st.column_config.NumberColumn(format="%.3f") for label in score_columns.values()}
    config["Year"] = st.column_config.NumberColumn(format="%d")
    st.dataframe(shown, hide_index=True, column_config=config, width="stretch")


def _open_buttons(catalog, item_ids: list[str], prefix: str) -> None:
    columns = st.columns(2)
    for n, item_id in enumerate(item_ids):
        columns[n % 2].button(
            inert(catalog.label(item_id), limit=80), key=f"{prefix}_{item_id}", on_click=_open, args=(item_id,),
            icon=":material/arrow_forward:",
        )  # fmt: skip


def _neighbours_tab(catalog, item_id: str) -> None:
    k = st.slider("Neighbours", 5, 30, 10, key="item_k")
    neighbours = views.build_neighbours(catalog, item_id, k)
    _table(neighbours, {"similarity": "Cosine similarity"})
    st.caption("Open a neighbour:")
    _open_buttons(catalog, neighbours["item_id"].tolist(), "open")

    projection = PROJECTIONS[st.radio("Map", list(PROJECTIONS), horizontal=True, key="item_projection")]
    highlight = {i: "neighbour" for i in neighbours["item_id"]} | {item_id: "query"}
    missing = views.missing_from_map(catalog, list(highlight), projection)
    if projection == "tsne" and missing:
        # Every highlighted item must be drawn; PCA places every item, t-SNE only the most-used.
        who = "this item is" if item_id in missing else f"{len(missing)} of its neighbours are"
        st.caption(f"t-SNE placed only the most-used items and {who} not among them; showing PCA instead.")
        projection = "pca"
    points = views.build_map_points(catalog, highlight, projection)
    draw.altair_chart(item_charts.item_map_chart(points), width="stretch")
    st.caption(
        f"{len(points):,} of {len(catalog.index):,} items drawn (the most-used, plus the highlighted ones); "
        "the diamond is the item, large dots its neighbours. Scroll to zoom, drag to pan."
    )


def _analogy_tab(catalog, item_id: str, options: list[str]) -> None:
    st.caption("Items like the positive ones and unlike the negative ones (gensim most_similar: mean of unit vectors).")
    positive = st.multiselect(
        "Positive", options, default=[item_id], format_func=catalog.label, key=f"analogy_pos_{item_id}"
    )
    negative = st.multiselect("Negative", options, format_func=catalog.label, key=f"analogy_neg_{item_id}")
    if not positive and not negative:
        st.info("Pick at least one item.")
        return
    try:
        result = views.build_analogy(catalog, positive, negative, 10)
    except ItemLookupError as exc:
        st.warning(inert(exc, limit=400))
        return
    _table(result, {"similarity": "Cosine similarity"})


def _odd_one_out_tab(catalog, item_id: str, options: list[str]) -> None:
    st.caption("Which of these items doesn't belong? (gensim doesnt_match: least similar to the group's mean.)")
    near = views.build_neighbours(catalog, item_id, 3)["item_id"].tolist()
    far = views.far_item(catalog, item_id)
    chosen = st.multiselect(
        "Items", options, default=[item_id, *near, far], format_func=catalog.label, key=f"odd_{item_id}"
    )
    try:
        odd, scored = views.build_odd_one_out(catalog, chosen)
    except ItemLookupError as exc:
        st.info(inert(exc, limit=400))
        return
    st.success(f"Doesn't belong: {inert(catalog.label(odd))}")
    _table(scored, {"similarity to the group": "Similarity to the group"})


def render() -> None:
    bundle = st.session_state[data.ACTIVE_BUNDLE_KEY]
    st.title("Items")
    catalog = _catalog(bundle)
    if catalog is None:
        _follow_in_url(None)
        return
    if QUERY_KEY not in st.session_state:
        st.session_state[QUERY_KEY] = st.query_params.get(ITEM_PARAM, "")
    example = catalog.label(str(catalog.items.sort_values("users", ascending=False)["item_id"].iloc[0]))
    query = st.text_input(
        "Find an item",
        key=QUERY_KEY,
        placeholder=f"Title or ID, e.g. {example}",
        help="Part of a title (case and accents don't matter) or an exact item ID. Press Enter to search.",
    )
    resolution = views.resolve(catalog, query)
    _follow_in_url(resolution.item_id)
    if resolution.item_id is None:
        if not query.strip():
            st.info(
                f"Search {len(catalog.index):,} items from {inert(catalog.source)} by title or ID, "
                f"for example {inert(example)}."
            )
        else:
            st.warning(inert(resolution.message, limit=400))
            if not resolution.candidates.empty:
                _table(resolution.candidates.head(20), {})
                _open_buttons(catalog, resolution.candidates["item_id"].head(10).tolist(), "pick")
        return

    item_id = resolution.item_id
    row = catalog.row(item_id)
    st.subheader(inert(catalog.label(item_id)), anchor=False)
    st.caption(
        inert(
            f"ID {item_id} · {row['genres'] or 'no genres'} · "
            f"{int(row['users']) if row['users'] == row['users'] else '?'} users"
        )
    )
    options = catalog.items["item_id"].tolist()
    neighbours, analogy, odd = st.tabs(["Neighbours", "Analogy", "Doesn't belong"])
    with neighbours:
        _neighbours_tab(catalog, item_id)
    with analogy:
        _analogy_tab(catalog, item_id, options)
    with odd:
        _odd_one_out_tab(catalog, item_id, options)


render()
