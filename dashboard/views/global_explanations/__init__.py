"""The Global explanations page's data: `view` (importance, beeswarm, dependence, PDP/ICE)
and `cohort` (the cohort filter's grammar and masks)."""
