"""Server-side time to build the data-science pages' data on a bundle (page data only, no drawing):

- `validation_page_ms`: every threshold metric, profit curve, calibration, gains and score
  distribution of every model, at one threshold (test scores already loaded, as the page's cache does);
- `global_page_ms`: importance, beeswarm sample, interaction pick and dependence points for all customers;
- `cohort_filter_ms`: the same global views restricted to a cohort (parse + mask + recompute);
- `group_metrics_page_ms`: the Validation page's group metrics of the champion at one threshold for
  `GROUP` (Contract; the first dimension if the bundle lacks it), threshold-dependent metrics with their
  bootstrap intervals from the regenerated resamples (loaded once: `audit_load_ms`, target ≤ 100 ms);
- `error_analysis_page_ms`: the champion's error cohorts re-measured at one threshold and its tree laid
  out (target ≤ 100 ms).

Each figure is the median over `repeats` builds after one warm-up.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from analytics.cohort import parse_cohort
from bundle.reader import Bundle
from dashboard.views.audit import AuditMissing, build_group_view, load_audit_data
from dashboard.views.error_analysis import build_error_view, error_data
from dashboard.views.global_explanations.view import build_global_view, load_explain_data
from dashboard.views.validation import Costs, build_validation_view, load_test_scores

COHORT = "contract:Month-to-month;tenure<12"
GROUP = "contract"


def _median_ms(build: Callable[[], object], repeats: int) -> float:
    build()
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        build()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def measure(bundle: Bundle, repeats: int = 5, cohort: str = COHORT) -> dict[str, float]:
    manifest = bundle.manifest
    model = manifest["champion"]
    started = time.perf_counter()
    scores = load_test_scores(bundle)
    explain = load_explain_data(bundle)
    load_ms = (time.perf_counter() - started) * 1000
    costs = Costs(offer_cost=10.0, saved_value=200.0, success_rate=0.3)
    features = manifest["features"]
    return {
        **_audit_pages(bundle, repeats),
        "ds_pages_load_ms": load_ms,
        "validation_page_ms": _median_ms(lambda: build_validation_view(manifest, scores, model, 0.5, costs), repeats),
        "global_page_ms": _median_ms(lambda: build_global_view(explain, model, []), repeats),
        "cohort_filter_ms": _median_ms(
            lambda: build_global_view(explain, model, parse_cohort(cohort, features)), repeats
        ),
    }


def _audit_pages(bundle: Bundle, repeats: int) -> dict[str, float]:
    """Group metrics and error analysis page data; nothing for a bundle trained before them."""
    manifest = bundle.manifest
    model, threshold = manifest["champion"], 0.4  # not the model's own threshold: the page recomputes
    started = time.perf_counter()
    try:
        audit = load_audit_data(bundle)
    except AuditMissing:
        return {}
    errors = error_data(audit, manifest["features"])
    load_ms = (time.perf_counter() - started) * 1000
    names = [d["name"] for d in audit.entry["dimensions"]]
    group = GROUP if GROUP in names else names[0]
    fitted = float(manifest["models"][model]["threshold"])
    return {
        "audit_load_ms": load_ms,
        "group_metrics_page_ms": _median_ms(lambda: build_group_view(audit, model, group, threshold), repeats),
        "error_analysis_page_ms": _median_ms(
            lambda: build_error_view(audit, errors, model, "error", threshold, fitted), repeats
        ),
    }
