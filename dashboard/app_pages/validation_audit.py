"""The Validation page's "Group metrics" and "Error analysis" sections (drawn by `validation.py`).

`?group=` (the dimension), `?errors=` (error or log_loss) and `?cohort=` (an error-analysis cohort, in
the cohort grammar) travel in the URL with the page's `?model=` and `?threshold=`.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from analytics.cohort import MAX_LENGTH, CohortError, Condition, cohort_text, parse_cohort
from bundle.reader import Bundle, BundleError
from dashboard.charts import audit as audit_charts
from dashboard.shell import data, draw
from dashboard.shell.plain import inert
from dashboard.views.audit import TITLES, AuditData, AuditMissing, build_group_view, display_table
from dashboard.views.error_analysis import TARGETS, ErrorView, build_error_view, rule_in_words

GROUP_KEY = "validation_group"
TARGET_KEY = "validation_errors"
COHORT_KEY = "validation_cohort"
GLOBAL_PAGE = Path(__file__).resolve().parent / "global_explanations.py"


def draw_audit(bundle: Bundle, model: str, threshold: float) -> None:
    """Both sections, or one message saying why they can't be shown."""
    st.subheader("Group metrics")
    try:
        audit = data.load_audit_data(bundle)
    except AuditMissing as exc:
        st.info(str(exc))
        return
    except BundleError as exc:
        st.error(f"The group metrics of bundle '{inert(bundle.name)}' can't be read: {inert(exc)}")
        return
    features = bundle.manifest["features"]
    conditions = _chosen_cohort(features)
    _draw_groups(audit, model, threshold, conditions)
    st.subheader("Error analysis")
    _draw_errors(bundle, audit, model, threshold, conditions)


def _chosen_cohort(features: list[dict]) -> list[Condition]:
    """The cohort picked below (or carried by `?cohort=`); an unusable one shows everyone, with a warning."""
    if COHORT_KEY not in st.session_state:
        st.session_state[COHORT_KEY] = str(st.query_params.get("cohort", ""))[: MAX_LENGTH + 1]
    try:
        conditions = parse_cohort(st.session_state[COHORT_KEY], features)
    except CohortError as exc:
        st.warning(f"The cohort can't be used: {inert(exc, limit=400)} Showing every test customer.")
        st.session_state[COHORT_KEY] = ""
        conditions = []
    if conditions:
        st.query_params["cohort"] = cohort_text(conditions)
    else:
        st.query_params.pop("cohort", None)
    return conditions


def _pick_dimension(audit: AuditData) -> dict:
    dimensions = {d["name"]: d for d in audit.entry["dimensions"]}
    if GROUP_KEY not in st.session_state or st.session_state[GROUP_KEY] not in dimensions:
        requested = st.query_params.get("group")
        st.session_state[GROUP_KEY] = requested if requested in dimensions else next(iter(dimensions))
    audited = {c["name"] for c in audit.entry["columns"]}
    name = st.selectbox(
        "Group customers by",
        list(dimensions),
        key=GROUP_KEY,
        # Options are plain text in Streamlit 1.67: labels from the bundle are not escaped here.
        format_func=lambda n: dimensions[n]["label"] + (" (audit column)" if n in audited else ""),
    )
    st.query_params["group"] = name
    return dimensions[name]


def _draw_groups(audit: AuditData, model: str, threshold: float, conditions: list[Condition]) -> None:
    dimension = _pick_dimension(audit)
    view = build_group_view(audit, model, dimension["name"], threshold, conditions)
    scope = f"the cohort {' and '.join(c.text() for c in conditions)}" if conditions else "every test customer"
    st.caption(
        f"Per group of {inert(dimension['label'])} at threshold {threshold:.2f}, over {inert(scope)} in the "
        f"audit sample ({view.rows:,} test customers). Brackets hold 95 % bootstrap intervals "
        f"({audit.entry['bootstrap']['resamples']} resamples); disparities compare with the largest group, "
        f"{inert(view.reference)}."
    )
    st.markdown(f"**{inert(view.sentence, limit=None)}**")
    st.dataframe(display_table(view), hide_index=True, width="stretch")
    small = audit.entry["small_group"]
    st.caption(
        f"A group is too small to judge with fewer than {small['min_rows']} test customers, fewer than "
        f"{small['min_class']} churners or stayers, or a ROC AUC interval wider than {small['max_auc_width']:.2f}; "
        "it is marked, never named as worse. 'Clearly worse' needs the group's interval to exclude the whole "
        "split's value (ROC AUC or true positive rate below it, Brier score above it). pp = percentage points."
    )
    left, right = st.columns(2, gap="large")
    for column, metric in ((left, "roc_auc"), (right, "tpr")):
        with column:
            chart = audit_charts.group_interval_chart(view.table, metric, TITLES[metric], view.population[metric])
            draw.altair_chart(chart, width="stretch")
    st.caption(
        "Dots are each group's value, bars its 95 % interval, the dashed line the whole test split's value "
        f"(ROC AUC {view.population['roc_auc']:.3f}; true positive rate {view.population['tpr']:.1%})."
    )


def _draw_errors(bundle: Bundle, audit: AuditData, model: str, threshold: float, conditions: list[Condition]) -> None:
    if TARGET_KEY not in st.session_state:
        requested = st.query_params.get("errors")
        st.session_state[TARGET_KEY] = requested if requested in TARGETS else "error"
    target = st.radio("Tree fitted to", list(TARGETS), key=TARGET_KEY, format_func=TARGETS.get, horizontal=True)
    st.query_params["errors"] = target
    fitted = float(bundle.manifest["models"][model]["threshold"])
    view = build_error_view(audit, data.load_error_data(bundle), model, target, threshold, fitted)
    _draw_cohort_list(view, bundle.manifest)
    rate_title = "Error rate" if target == "error" else "Mean log loss (nats)"
    draw.altair_chart(audit_charts.error_tree_chart(view.tree, rate_title), width="stretch")
    st.caption(
        f"A decision tree (depth ≤ {audit.entry['error_analysis']['max_depth']}, at least "
        f"{audit.entry['error_analysis']['min_leaf']} test customers per leaf) fitted at training to "
        + ("whether the model is wrong at its threshold " if target == "error" else "each customer's log loss ")
        + f"({fitted:.2f}); rates re-measured at the slider's threshold. Darker is worse."
    )
    _draw_cohort_pick(bundle, view, model, conditions)


def _draw_cohort_list(view: ErrorView, manifest: dict) -> None:
    labels = {f["name"]: f["label"] for f in manifest["features"]}
    percent = view.target == "error"
    overall = f"{view.overall:.1%}" if percent else f"{view.overall:.3f} nats"
    st.caption(f"Leaves of the tree, worst first. Overall: {overall} of the test customers in the sample.")
    table = view.cohorts.assign(Rule=[rule_in_words(c, labels) for c in view.cohorts["cohort"]])
    shown = table[["rank", "Rule", "rows", "share", "rate", "ratio"]].rename(
        columns={
            "rank": "Rank",
            "rows": "Test customers",
            "share": "Share of test customers (%)",
            "rate": "Error rate (%)" if percent else "Mean log loss (nats)",
            "ratio": "Versus overall (×)",
        }
    )
    shown["Share of test customers (%)"] *= 100
    if percent:
        shown["Error rate (%)"] *= 100
    config = {
        "Share of test customers (%)": st.column_config.NumberColumn(format="%.1f"),
        "Error rate (%)": st.column_config.NumberColumn(format="%.1f"),
        "Mean log loss (nats)": st.column_config.NumberColumn(format="%.3f"),
        "Versus overall (×)": st.column_config.NumberColumn(format="%.2f"),
    }
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)


def _draw_cohort_pick(bundle: Bundle, view: ErrorView, model: str, conditions: list[Condition]) -> None:
    """Choosing a cohort restricts the group metrics above and links to Global explanations with it."""
    options = ["", *view.cohorts["cohort"].tolist()]
    current = cohort_text(conditions)
    if current and current not in options:
        options.append(current)
    st.session_state[COHORT_KEY] = current
    st.selectbox(
        "Apply a cohort (restricts the group metrics above)",
        options,
        key=COHORT_KEY,
        format_func=lambda c: c or "Every test customer",
    )
    if conditions:
        query = {"bundle": bundle.name, "cohort": current}
        if model != bundle.manifest["champion"]:
            query["model"] = model
        st.page_link(GLOBAL_PAGE, label="Explain this cohort on the Global explanations page", query_params=query)
