"""The dashboard for a shared URL, with sign-in at the HTTP layer.

Run with `streamlit run dashboard/serve.py` (same flags as `dashboard/app.py`). It is
Streamlit's ASGI entry point (`st.App`) around the same app, plus
`dashboard.shell.http_gate.PasswordGate`: in the password mode a browser signs in once
through a plain HTML form, gets an HttpOnly signed cookie that survives reloads for
CHURNLENS_SESSION_HOURS, and nothing else of the app (pages, websocket, /media
downloads) answers without it. In the other modes it changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from dashboard.shell.http_gate import PasswordGate

app = st.App(str(Path(__file__).resolve().parent / "app.py"), middleware=[Middleware(PasswordGate)])
