"""Simulated monthly snapshots of Telco-like customers, with known, documented changes.

Month 1 is the table the Telco bundle trains on (`training.datasets.telco`); each later month is made from
the month before with a seeded generator, so the same seed gives the same files. What changes:

- every month (ordinary noise): monthly charges jitter by a normal factor with 1 % standard deviation;
  2 % of internet customers switch one add-on (online backup, streaming TV or streaming movies) on or off;
  1 % of customers, drawn afresh each month, are missing from that month's file (they come back later, as
  customers whose data did not arrive). Tenure and total charges stay as in month 1: a population that
  ages month by month drifts by construction (tenure +1 for everyone moves whole deciles of its SHAP
  values, measured: a PSI of ≥ 0.10 after one month), which would hide the changes this data is for;
- `PRICE_RISE_MONTH` (3): fiber-optic customers' monthly charges rise by `PRICE_RISE` (30 %), and stay risen;
- `CONTRACT_SHIFT_MONTH` (5): half of the one- and two-year contracts lapse to month-to-month, and stay so.

Everything this module writes is simulated data and is labelled so (`--simulated`, the history's
`simulated` flag, the pages' captions). The label column is left out: next month's churn is not known yet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PRICE_RISE_MONTH = 3
PRICE_RISE = 0.30
PRICE_RISE_SEGMENT = ("internet_service", "Fiber optic")
CONTRACT_SHIFT_MONTH = 5
CONTRACT_SHIFT_SHARE = 0.5
NOISE_JITTER = 0.01
ADD_ON_SWITCH_SHARE = 0.02
ABSENT_SHARE = 0.01
ADD_ONS = ("online_backup", "streaming_tv", "streaming_movies")
ID_COLUMN = "rownames"
LABEL_COLUMN = "churn"
# Features each change is meant to move (what the drift checks should flag, and nothing else).
INJECTED = {PRICE_RISE_MONTH: ("monthly_charges",), CONTRACT_SHIFT_MONTH: ("contract",)}


def month_label(start: str, month: int) -> str:
    """'2026-01' and month 3 → '2026-03' (months counted from 1)."""
    year, first = (int(part) for part in start.split("-"))
    index = first - 1 + month - 1
    return f"{year + index // 12:04d}-{index % 12 + 1:02d}"


def next_month(frame: pd.DataFrame, month: int, rng: np.random.Generator) -> pd.DataFrame:
    """Month `month` (≥ 2) from the full table of month `month - 1` (absent customers included)."""
    out = frame.copy()
    charges = out["monthly_charges"] * rng.normal(1.0, NOISE_JITTER, len(out))
    if month == PRICE_RISE_MONTH:
        column, value = PRICE_RISE_SEGMENT
        charges = np.where(out[column] == value, charges * (1.0 + PRICE_RISE), charges)
    out["monthly_charges"] = np.round(charges, 2)
    internet = np.flatnonzero((out["internet_service"] != "No").to_numpy())
    switching = rng.choice(internet, size=int(len(internet) * ADD_ON_SWITCH_SHARE), replace=False)
    for add_on, rows in zip(ADD_ONS, np.array_split(np.sort(switching), len(ADD_ONS)), strict=True):
        position = out.columns.get_loc(add_on)
        current = out.iloc[rows, position]
        out.iloc[rows, position] = np.where(current == "Yes", "No", "Yes")
    if month == CONTRACT_SHIFT_MONTH:
        long = np.flatnonzero(out["contract"].isin(["One year", "Two year"]).to_numpy())
        lapsing = rng.choice(long, size=int(len(long) * CONTRACT_SHIFT_SHARE), replace=False)
        out.iloc[lapsing, out.columns.get_loc("contract")] = "Month-to-month"
    return out


def months(first: pd.DataFrame, count: int, seed: int = 7) -> list[pd.DataFrame]:
    """Months 2..`count` as the files hold them (without the label, and without that month's absent customers)."""
    rng = np.random.default_rng(seed)
    state = first.drop(columns=[LABEL_COLUMN], errors="ignore").reset_index(drop=True)
    out = []
    for month in range(2, count + 1):
        state = next_month(state, month, rng)
        absent = rng.random(len(state)) < ABSENT_SHARE
        out.append(state[~absent].reset_index(drop=True))
    return out


def telco_first_month(ids: np.ndarray | None = None) -> pd.DataFrame:
    """Month 1: the built-in Telco table (only the customers `ids`, e.g. those a sampled bundle holds)."""
    from training.datasets.telco import raw_frame

    frame = raw_frame()
    if ids is not None:
        frame = frame[frame[ID_COLUMN].isin(ids)]
    return frame.reset_index(drop=True)


def write_months(first: pd.DataFrame, folder: Path, count: int, start: str = "2026-01", seed: int = 7) -> list[Path]:
    """Parquet files `<folder>/<label>.parquet` for months 2..`count`; returns them in order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for month, frame in enumerate(months(first, count, seed), start=2):
        path = folder / f"{month_label(start, month)}.parquet"
        frame.to_parquet(path, index=False)
        paths.append(path)
    return paths
