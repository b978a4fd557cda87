"""churnlens dashboard router: page config, bundle picker, navigation.

Run with `streamlit run dashboard/app.py`. The chosen bundle travels in the
`bundle` query parameter so any page URL can be pasted to a colleague.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from bundle.reader import BundleError
from dashboard.shell import auth, data, slots
from dashboard.shell.plain import inert

# An emoji icon becomes a data: URL favicon; a ":material/…:" one would be fetched from fonts.gstatic.com,
# and the app must make no request beyond its own origin.
st.set_page_config(page_title="churnlens", page_icon="📉", layout="wide")

# Not "pages/": a folder of that name beside the entry script switches Streamlit to its old
# folder-based multipage mode, which can run a page script without this router (so without
# the bundle it sets up) on a session's first run; tests/dashboard/test_layout.py keeps it so.
_PAGES_DIR = Path(__file__).resolve().parent / "app_pages"
PAGES = [
    st.Page(_PAGES_DIR / "customer.py", title="Customer", icon=":material/person_search:", default=True),
    st.Page(_PAGES_DIR / "validation.py", title="Validation", icon=":material/fact_check:"),
    st.Page(_PAGES_DIR / "global_explanations.py", title="Global explanations", icon=":material/bubble_chart:"),
    st.Page(_PAGES_DIR / "model_card.py", title="Model card", icon=":material/description:"),
    st.Page(_PAGES_DIR / "models.py", title="Models", icon=":material/leaderboard:"),
    st.Page(_PAGES_DIR / "items.py", title="Items", icon=":material/movie:"),
    st.Page(_PAGES_DIR / "monitoring.py", title="Monitoring", icon=":material/monitoring:"),
]
# The sidebar groups pages by who they are for; PAGES keeps one flat order for the gate.
SECTIONS = {
    "Business": [PAGES[0], PAGES[4], PAGES[5]],
    "Data scientists": [PAGES[1], PAGES[2], PAGES[3], PAGES[6]],
}
auth.gate(PAGES)  # renders nothing else until the viewer is allowed in (no-op unless configured)
navigation = st.navigation(SECTIONS)

names = data.bundle_names()
if not names:
    st.title("churnlens")
    data.log.warning("no bundles under %s", data.artifacts_root())
    st.info(
        "No bundles have been published yet.\n\n"
        "Train and publish one with `make demo` (or `python -m training run --dataset telco`), "
        f"or point `{data.ARTIFACTS_ENV}` at an artifacts folder that holds one."
    )
    st.stop()

requested = st.query_params.get("bundle")
if data.PICKER_KEY not in st.session_state:
    # First run of this session: the URL decides; later the picker does.
    if requested is None:
        st.session_state[data.PICKER_KEY] = "telco" if "telco" in names else names[0]
    else:
        st.session_state[data.PICKER_KEY] = requested if requested in names else None
elif st.session_state[data.PICKER_KEY] not in (*names, None):
    # The bundle this session was looking at has been deleted since.
    st.session_state[data.PICKER_KEY] = names[0]

choice = st.sidebar.selectbox(
    "Bundle", names, key=data.PICKER_KEY, placeholder="Choose a bundle", help="Published model bundles"
)
if choice is None:
    st.error(
        f"There is no bundle named '{inert(requested or '', 40)}'. "
        f"Pick one of {inert(', '.join(names))} in the sidebar."
    )
    st.stop()

# Page switches drop the query string, so put the bundle back on every run.
if st.query_params.get("bundle") != choice:
    st.query_params["bundle"] = choice

try:
    bundle = data.load_bundle(choice)
except BundleError as exc:
    # The message names the bundle and says what is wrong; it never holds a server path.
    st.error(inert(exc, 600))
    # The Customer page is not drawn on this run: drop its ID box's state, so that coming back
    # recreates the box from the last customer (its `value`) instead of showing it empty.
    st.session_state.pop(data.CUSTOMER_BOX_KEY, None)
    st.stop()

st.session_state[data.ACTIVE_BUNDLE_KEY] = bundle
champion = bundle.manifest["models"][bundle.manifest["champion"]].get("display_name", bundle.manifest["champion"])
st.sidebar.caption(
    f"Run {inert(bundle.run_id, 80)}  \nCreated {inert(bundle.manifest['created_at'][:16].replace('T', ' '))} UTC  \n"
    f"Champion: {inert(champion, 80)}"
)

with slots.page_slot():  # bounded concurrent page runs: dashboard/shell/slots.py
    navigation.run()
