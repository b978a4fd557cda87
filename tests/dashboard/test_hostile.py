"""The app as a hostile or unlucky user meets it: injected Markdown, switching to broken bundles."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from bundle import layout
from dashboard.shell import data
from tests.dashboard.dashboard_helpers import champion_predictions, open_app, telco

TIMEOUT = 60
# Streamlit renders these elements' text as GitHub-flavoured Markdown.
MARKDOWN_ELEMENTS = ("markdown", "caption", "error", "warning", "info", "success", "title", "subheader", "header")


def run_app(**params: str) -> AppTest:
    return open_app(TIMEOUT, **params)


def rendered_markdown(at: AppTest) -> list[str]:
    texts = [str(getattr(e, "value", "")) for kind in MARKDOWN_ELEMENTS for e in at.get(kind)]
    texts += [str(e.proto.help) for e in at.get("metric")] + [str(e.proto.help) for e in at.text_input]
    return [t for t in texts if t]


_PARSER = MarkdownIt("commonmark", {"linkify": True}).enable(["linkify", "table", "strikethrough"])


# What mdast-util-gfm-autolink-literal (Streamlit's renderer) links *after* parsing, escapes or not.
_GFM_AUTOLINK = re.compile(r"(?i)(https?://|www\.)[-.\w]+|[-.\w+]+@[-\w]+(\.[-\w]+)+")


def links_and_images(markdown: str) -> list[str]:
    """Link and image targets a CommonMark parser plus GFM's autolink literals find in `markdown`."""
    found = []
    found += [m.group(0) for m in _GFM_AUTOLINK.finditer(re.sub(r"\\(.)", r"\1", markdown))]
    for token in _PARSER.parse(markdown):
        if token.type == "html_block":
            found.append(token.content)
        for child in token.children or []:
            if child.type in ("link_open", "image", "html_inline"):
                found.append(str(child.attrs.get("href") or child.attrs.get("src") or child.content))
    return found


HOSTILE = [
    "[Session expired: log in](https://ev.il)",
    "![x](http://10.9.9.9/p.png)",
    "![](http://1.2.3.4)",
    "[Login](//ev.il)",
    "<img src=http://1.2.3.4/x.png>",
    "https://ev.il/login",
    "www.ev.il",
    "<https://ev.il>",
    "[a]: https://ev.il\n\n[a]",
    "mail admin@ev.il or HTTPS://EV.IL",
    ":red[urgent] :material/warning: $x^2$",
]


@pytest.fixture
def artifacts(bundle_root, monkeypatch) -> Path:
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(bundle_root))
    return bundle_root


@pytest.mark.parametrize("payload", HOSTILE)
@pytest.mark.parametrize("param", ["bundle", "customer"])
def test_url_parameters_are_shown_as_inert_text(artifacts, param, payload):
    at = run_app(**{"bundle": "telco", param: payload})
    assert not at.exception
    shown = rendered_markdown(at)
    assert shown, "expected a message about the bad parameter"
    assert at.error if param == "bundle" else at.warning, "expected an error/warning box"
    for text in shown:
        assert links_and_images(text) == [], text


@pytest.mark.parametrize("payload", HOSTILE[:4])
def test_typed_ids_are_shown_as_inert_text(artifacts, payload):
    at = run_app(bundle="telco")
    at.text_input(key="customer").input(payload).run()
    assert not at.exception
    assert at.warning
    for text in rendered_markdown(at):
        assert links_and_images(text) == [], text


@pytest.fixture
def with_broken(bundle_root, tmp_path, monkeypatch) -> Path:
    """telco beside a bundle that fails its checksums."""
    root = tmp_path / "artifacts"
    root.mkdir()
    (root / "telco").symlink_to((bundle_root / "telco").resolve())
    shutil.copytree(bundle_root / "telco", root / "broken")
    with (root / "broken" / layout.CUSTOMERS).open("ab") as handle:
        handle.write(b"tampered")
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(root))
    return root


def test_switching_to_a_broken_bundle_and_back_keeps_the_customer(with_broken, bundle_root):
    ids, probabilities = champion_predictions(telco(bundle_root))
    customer = str(ids[7])
    at = run_app(bundle="telco", customer=customer)
    for _ in range(2):
        at.sidebar.selectbox[0].select("broken").run()
        assert not at.exception
        assert "corrupt" in " ".join(e.value for e in at.error)
        assert at.query_params.get("customer") == customer  # the link still names the customer
        at.sidebar.selectbox[0].select("telco").run()
        assert not at.exception
        assert at.text_input(key="customer").value == customer
        assert at.query_params.get("customer") == customer and at.query_params.get("bundle") == "telco"
        assert {m.label: m.value for m in at.metric}["Churn probability"] == f"{probabilities[7]:.1%}"
        assert not at.error


def test_a_broken_bundle_never_stops_the_others(with_broken, bundle_root):
    at = run_app(bundle="broken")
    assert "corrupt" in at.error[0].value
    assert at.sidebar.selectbox[0].options == ["broken", "telco"]
    at.sidebar.selectbox[0].select("telco").run()
    assert not at.error and not at.exception


def test_error_messages_name_the_bundle_once_and_no_server_path(with_broken):
    at = run_app(bundle="broken")
    (message,) = [e.value for e in at.error]
    assert message.count("broken") == 1, message
    assert str(with_broken) not in message and "/" not in message.replace("\\/", "")


def test_a_bundle_published_while_a_session_is_open_is_picked_up_on_the_next_rerun(bundle_root, tmp_path, monkeypatch):
    from tests.dashboard.test_data import publish_copy

    root = tmp_path / "artifacts"
    publish_copy(bundle_root / "telco", root, "telco", "first-run")
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(root))
    ids, probabilities = champion_predictions(telco(bundle_root))
    at = run_app(bundle="telco", customer=str(ids[5]))
    assert "first" in at.sidebar.caption[0].value
    publish_copy(bundle_root / "telco", root, "telco", "second-run")
    at.run()
    assert not at.exception and not at.error
    assert "second" in at.sidebar.caption[0].value and "first" not in at.sidebar.caption[0].value
    assert {m.label: m.value for m in at.metric}["Churn probability"] == f"{probabilities[5]:.1%}"
    assert at.text_input(key="customer").value == str(ids[5])


LABEL_PAYLOAD = "[lbl](javascript:alert(3)) **Plan** https://ev.il/g"


def test_labels_and_categories_from_data_are_inert_in_widget_labels_and_options(tmp_path, monkeypatch):
    """Streamlit renders Markdown in widget labels and button labels: a feature label carrying links and
    emphasis reaches the What if inputs only as inert text. Select-box options are shown as plain text
    (checked in Chromium, Streamlit 1.67: no Markdown there), so they keep the user's text exactly."""
    import json

    from tests.bundle.tiny import write_tiny_bundle

    bundle = write_tiny_bundle(tmp_path / "artifacts")
    manifest_file = bundle.path / layout.MANIFEST
    manifest = json.loads(manifest_file.read_text())
    manifest["features"][0]["label"] = LABEL_PAYLOAD
    manifest["features"][1]["category_labels"] = {"Monthly": LABEL_PAYLOAD, "Yearly": "__bold__ _it_"}
    manifest_file.write_text(json.dumps(manifest))
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(tmp_path / "artifacts"))
    at = run_app(bundle="tiny", customer="3", tab="What if")
    assert not at.exception
    labels = [
        str(getattr(w, "label", "")) for kind in ("number_input", "selectbox", "text_input") for w in at.get(kind)
    ]
    options = [str(o) for w in at.selectbox for o in w.options]
    assert any("Plan" in text for text in labels)
    for text in labels:
        assert links_and_images(text) == [], text
        assert not re.search(r"(?<!\\)(\*\*|__)", text), text  # no live emphasis
    assert LABEL_PAYLOAD in options and "__bold__ _it_" in options  # plain text, exactly as given


def test_scores_shifted_against_their_ids_are_refused_by_the_dashboard(tmp_path, monkeypatch):
    """Issue 21: probability and margin moved down one row with IDs kept, checksums fixed up, showed
    customer 3's score as customer 7's. The open-time sample check refuses the bundle with a message."""
    import numpy as np

    from tests.bundle.corrupt import rewrite
    from tests.bundle.tiny import write_tiny_bundle

    bundle = write_tiny_bundle(tmp_path / "artifacts")
    columns = [layout.PROBABILITY_COLUMN, layout.MARGIN_COLUMN]
    rewrite(
        bundle.path,
        {layout.predictions_path("lin"): lambda f: f.assign(**{c: np.roll(f[c].to_numpy(), 1) for c in columns})},
    )
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(tmp_path / "artifacts"))
    at = run_app(bundle="tiny", customer="7")
    assert not at.exception
    (shown,) = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]  # inert() escapes the punctuation
    assert shown.startswith("Bundle 'tiny' is inconsistent") and "stored probability of customer 7" in shown
    assert not at.metric  # no customer drawn from it
