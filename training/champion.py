"""The champion rule: ranking power among models whose probabilities can be trusted.

Rank by test ROC AUC (`CHAMPION_METRIC`), but only among the models whose calibrated
test log loss is within `LOG_LOSS_TOLERANCE` (15 %) of the best model's; the model with
the best log loss always qualifies, so when no other does, it wins. ROC AUC alone ignores
whether a 60 % means 60 %: a model that ranks a little better but whose probabilities are
far off (log loss well above the best) should not be the one a business user reads.
"""

from __future__ import annotations

from collections.abc import Mapping

CHAMPION_METRIC = "roc_auc"
LOG_LOSS_TOLERANCE = 0.15


def choose_champion(
    metrics: Mapping[str, Mapping[str, float]], names: Mapping[str, str], tolerance: float = LOG_LOSS_TOLERANCE
) -> tuple[str, str]:
    """(champion, one sentence saying why) from each model's test metrics ({model: {roc_auc, log_loss, ...}},
    in the order models are shown; ties go to the first)."""
    if not metrics:
        raise ValueError("no models to choose a champion from")
    models = list(metrics)
    name = {m: names.get(m, m) for m in models}
    auc = {m: float(metrics[m][CHAMPION_METRIC]) for m in models}
    loss = {m: float(metrics[m]["log_loss"]) for m in models}
    best_loss = min(loss.values())
    limit = best_loss * (1 + tolerance)
    qualified = [m for m in models if loss[m] <= limit]
    champion = max(qualified, key=lambda m: auc[m])  # max keeps the first of equal values
    share = f"{tolerance:.0%}".replace("%", " %")
    if len(models) == 1:
        return champion, (
            f"{name[champion]} is the only model: test ROC AUC {auc[champion]:.3f}, "
            f"calibrated log loss {loss[champion]:.3f}."
        )
    sentence = (
        f"{name[champion]}: highest test ROC AUC ({auc[champion]:.3f}) among models whose calibrated log loss "
        f"is within {share} of the best ({best_loss:.3f}); its log loss is {loss[champion]:.3f}"
    )
    reasons = []
    lower = [m for m in qualified if m != champion]
    if lower:
        listed = ", ".join(f"{name[m]} {auc[m]:.3f}" for m in lower)
        reasons.append(f"the other qualifying models ranked lower ({listed})")
    for m in models:
        if m not in qualified:
            above = (loss[m] / best_loss - 1) * 100 if best_loss > 0 else float("inf")
            ranked = f"was higher ({auc[m]:.3f})" if auc[m] > auc[champion] else f"was {auc[m]:.3f}"
            reasons.append(
                f"{name[m]}'s ROC AUC {ranked} but its log loss {loss[m]:.3f} is {above:.0f} % above the best"
            )
    return champion, sentence + ("; " + "; ".join(reasons) if reasons else "") + "."
