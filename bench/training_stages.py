"""Training-run figures read from a published bundle's manifest timings (no re-run)."""

from __future__ import annotations

from bundle.reader import Bundle

PDP_STAGE = "partial dependence"


def measure(bundle: Bundle) -> dict:
    """`pdp_stage_s` (the partial-dependence stage's seconds) and its share of the whole run."""
    timings = bundle.manifest.get("timings", {})
    total = float(sum(timings.values()))
    seconds = timings.get(PDP_STAGE)
    if seconds is None:
        return {}
    return {
        "pdp_stage_s": float(seconds),
        "pdp_stage_share": round(float(seconds) / total, 4) if total else None,
        "training_run_s": round(total, 3),
    }
