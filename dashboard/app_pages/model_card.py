"""Model card page: which data, which features, which parameters, all from the bundle's manifest."""

from __future__ import annotations

import streamlit as st

from dashboard.shell import data
from dashboard.shell.plain import inert
from dashboard.views.model_card import ModelCard, build_model_card, model_card_markdown


def render() -> None:
    bundle = st.session_state[data.ACTIVE_BUNDLE_KEY]
    manifest = bundle.manifest
    card = build_model_card(manifest)
    names = {m: manifest["models"][m].get("display_name", m) for m in manifest["models"]}
    st.title("Model card")
    st.caption(
        f"Bundle '{inert(bundle.name)}', run {inert(bundle.run_id)}: everything below is read from its manifest."
    )
    st.download_button(
        "Download the card as Markdown",
        lambda: model_card_markdown(manifest, card),  # made on click only, like the Customer exports
        file_name=f"model-card-{bundle.name}-{bundle.run_id}.md",
        mime="text/markdown",
        on_click="ignore",
    )
    data_col, split_col = st.columns(2, gap="large")
    with data_col:
        st.subheader("Data")
        st.dataframe(card.data, hide_index=True, width="stretch")
    with split_col:
        st.subheader("Split")
        st.dataframe(card.split, hide_index=True, width="stretch")
    st.subheader("Features")
    st.dataframe(card.features, hide_index=True, width="stretch")
    _draw_audit(card)
    st.subheader("Reason codes")
    st.caption(
        "The phrase and code each feature's value is explained with on the Customer page, in its exports and in "
        "batch scoring (`training score`: reason_k_code, reason_k). The first row of a feature that matches a "
        "value wins; a value none matches reads 'label: value' under the feature's name as code."
    )
    if card.reasons.empty:
        st.info("This bundle has no reason codes (trained before they existed): values read 'label: value'.")
    else:
        st.dataframe(card.reasons, hide_index=True, width="stretch")
    st.subheader("Models and hyperparameters")
    st.dataframe(card.models, hide_index=True, width="stretch")
    st.subheader("Tuning")
    for model, note in card.tuning_notes.items():
        st.markdown(f"**{inert(names.get(model, model))}** — {inert(note, limit=None)}")
        if model in card.tuning:
            st.dataframe(card.tuning[model], hide_index=True, width="stretch")
    time_col, version_col, spark_col = st.columns(3, gap="large")
    with time_col:
        st.subheader("Training time per stage")
        st.dataframe(
            card.timings,
            hide_index=True,
            width="stretch",
            column_config={"Seconds": st.column_config.NumberColumn(format="%.1f")},
        )
    with version_col:
        st.subheader("Library versions")
        st.dataframe(card.versions, hide_index=True, width="stretch")
    with spark_col:
        st.subheader("Spark")
        st.dataframe(card.spark, hide_index=True, width="stretch")


def _draw_audit(card: ModelCard) -> None:
    st.subheader("Audit columns")
    st.caption(
        "Columns the Validation page's group metrics are shown for, and whether the models also use each one "
        f"as a feature (an audit-only column is carried for audit, never a model input). {inert(card.audit_note)}."
    )
    if card.audit.empty:
        st.info("This bundle names no audit columns; group metrics are still shown for every feature.")
    else:
        st.dataframe(card.audit, hide_index=True, width="stretch")


render()
