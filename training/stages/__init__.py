"""The training run's stages, one module each, in the order `training.pipeline` runs them:
`prepare` (ingest, validate, split, features), `fit` (one per model), `score` (score +
SHAP through `runtime`, parity against Spark), `assess` (evaluate, partial dependence,
permutation importance), `items` (item vectors, datasets with events), `release` (publish)."""
