"""The Global explanations page's data: `view` (importance, beeswarm, dependence, PDP/ICE). The cohort
filter's grammar and masks live in `analytics.cohort`, shared with training's error analysis."""
