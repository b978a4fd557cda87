"""The one model picker every page uses: `?model=` in the URL ⇄ a selectbox.

A page passes its own session key so each page remembers its own choice. The URL
carries the model only when it is not the champion, so a plain link shows the
champion and an old link to a model the bundle no longer has gets a warning, not
an error.
"""

from __future__ import annotations

import streamlit as st

from dashboard.shell.plain import inert
from dashboard.views.models import UnknownModel, model_choices, resolve_model

MODEL_PARAM = "model"


def pick_model(manifest: dict, key: str, help: str | None = None) -> str:
    """Draw the model selectbox bound to `st.session_state[key]` and `?model=`; return the model."""
    choices = model_choices(manifest)
    if key not in st.session_state or st.session_state[key] not in choices:
        try:
            st.session_state[key] = resolve_model(manifest, st.query_params.get(MODEL_PARAM))
        except UnknownModel as exc:
            st.warning(inert(str(exc), None))
            st.session_state[key] = manifest["champion"]
    picked = st.selectbox("Model", list(choices), key=key, format_func=lambda m: choices[m], help=help)
    model = picked or manifest["champion"]  # never None: the key was set to one of the options above
    if model == manifest["champion"]:
        st.query_params.pop(MODEL_PARAM, None)
    elif st.query_params.get(MODEL_PARAM) != model:
        st.query_params[MODEL_PARAM] = model
    return model
