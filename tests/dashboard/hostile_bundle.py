"""A small bundle whose every piece of data is a payload from issue 21: feature labels, category
values and labels, customer IDs, item titles and item attributes. Consistent (it publishes and
opens: the category values are renamed in the tables and in the encoding alike), so every page
draws it; only the text is hostile."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from bundle import layout
from bundle.reader import Bundle, open_bundle
from tests.bundle.corrupt import rewrite
from tests.bundle.tiny import write_tiny_bundle

LINK = "[lbl](javascript:alert(3)) <b>Plan</b>"
BOLD = "**paperless**"
URL = "https://ev.il/g"
FORMULA = '=HYPERLINK("http://ev.il","click")'
ICON = ":material/warning:"
# Sorted, as the tiny bundle wants them: ':' sorts before '_'.
IDS = [":material/warning:172", "__bold205__", "_it281_"]
MONTHLY, YEARLY = f"{URL} _it281_", FORMULA
PAYLOADS = (LINK, BOLD, URL, FORMULA, ICON, *IDS, MONTHLY)
# A piece of every payload: a rendered string holding one of these came from the data.
TRACES = ("lbl", "Plan", "paperless", "ev.il", "bold205", "it281", "warning", "HYPERLINK")


def _recent_items() -> pd.DataFrame:
    owners = [IDS[0], IDS[0], IDS[1], IDS[2]]
    return pd.DataFrame(
        {
            layout.ID_COLUMN: np.array(owners, dtype=object),
            "rank": np.array([0, 1, 0, 0], dtype=np.int32),
            layout.ITEM_ID_COLUMN: ["a", "b", "c", "d"],
            "ts": pd.to_datetime([datetime(2026, 1, 1 + i) for i in range(4)]),
            "value": np.arange(4, dtype=float),
        }
    )


def _rename(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(contract=frame["contract"].map({"Monthly": MONTHLY, "Yearly": YEARLY}))


def _manifest(manifest: dict) -> None:
    tenure, contract = manifest["features"]
    tenure["label"] = f"{BOLD} {URL}"
    contract.update(label=LINK, categories=[MONTHLY, YEARLY], actionable=True)
    contract["category_labels"] = {YEARLY: f"{ICON} __b__ {LINK}"}
    for slot in manifest["encoding"]:
        if slot["feature"] == "contract":
            slot["category"] = {"Monthly": MONTHLY, "Yearly": YEARLY}[slot["category"]]
    for feature in manifest["features"]:
        for reason in feature.get("reasons", []):
            reason["values"] = [{"Monthly": MONTHLY, "Yearly": YEARLY}.get(v, v) for v in reason.get("values", [])]


def _items(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(title=[FORMULA, BOLD, URL, LINK], genres=["__bold205__|_it281_", f"X|{ICON}", URL, ""])


def write_hostile_bundle(root: Path) -> Bundle:
    bundle = write_tiny_bundle(root, name="tiny", ids=IDS, recent_items=_recent_items())
    rewrite(
        bundle.path,
        {layout.CUSTOMERS: _rename, layout.BACKGROUND: _rename, layout.ITEMS: _items},
        _manifest,
    )
    return open_bundle(root / "tiny")
