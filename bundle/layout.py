"""The bundle contract: schema version and where each file lives inside a bundle.

A bundle is a directory of data (Parquet, JSON, model files in their own safe
formats). `artifacts/README.md` documents it for humans; this module is the
single source of truth for the file layout on both sides (training writes,
dashboard reads), and `bundle/schema/` for the manifest's shape.
"""

from __future__ import annotations

# 2: every model entry names its portable runtime (`runtime/`) and the
#    bundle guarantees the runtime reproduces the stored margins and SHAP values.
# 3: every model entry records its `parity` with the training engine (reference, largest
#    margin difference, rows compared). The manifest's shape per version is
#    bundle/schema/manifest.v<N>.json; bundle/migrations.py upgrades older ones on read.
# 4: every model entry records its calibration map.
# 5: the manifest's `audit` entry and the audit tables below (group metrics, error analysis).
# 6: the manifest's `history` entry: the run is a model generation with its training snapshot in the
#    bundle's history (`<artifacts>/.history/<name>/`, bundle/history.py; docs/history.md).
SCHEMA_VERSION = 6

MANIFEST = "manifest.json"

# Per-customer tables. Every one of them holds exactly one row per customer,
# sorted by `customer_id` ascending, in the same order as CUSTOMERS, so a row
# position found once in CUSTOMERS addresses the same customer everywhere.
CUSTOMERS = "customers.parquet"
ID_COLUMN = "customer_id"
LABEL_COLUMN = "label"  # 1 = churned, 0 = stayed
SPLIT_COLUMN = "split"  # "train" | "test"
SPLITS = ("train", "test")

# IDs a user can type and a URL can carry. Training refuses others, so every
# published customer can be looked up.
ID_MAX_LENGTH = 64
STRING_ID_PATTERN = r"^[A-Za-z0-9_.\-:@/+]+$"

# Bundle names become directory names and URL values.
BUNDLE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

PROBABILITY_COLUMN = "probability"
MARGIN_COLUMN = "margin"  # log-odds of the positive class

# Evaluation curves of every model on the test split: columns
# model, curve ("roc" | "pr"), x, y, threshold.
CURVES = "evaluation/curves.parquet"
CURVE_KINDS = ("roc", "pr")

# Reliability bins of every model on the test split (10 equal-width bins of the
# predicted probability; empty bins omitted): model, bin, lower, upper,
# mean_predicted, observed_rate, count.
CALIBRATION = "evaluation/calibration.parquet"
# Histogram of test-split probabilities per actual class (20 equal-width bins,
# every bin present for both labels): model, label, lower, upper, count.
SCORE_DISTRIBUTION = "evaluation/score_distribution.parquet"
# ROC AUC drop on the test split when one feature is shuffled:
# model, feature, mean_drop, std_drop, repeats.
PERMUTATION_IMPORTANCE = "evaluation/permutation_importance.parquet"
# Partial dependence: model, feature, grid_index, value (as displayed),
# numeric_value (null for categories), average_probability, customers.
PDP = "explain/pdp.parquet"
# ICE lines for a sample of customers: model, feature, grid_index, customer_id, probability.
ICE = "explain/ice.parquet"

# Audit (schema 5; `manifest.audit.measured` false: trained before, none of these exist).
# The test split's customers, all of them up to AUDIT_ROW_CAP and a fixed sample beyond (the
# first AUDIT_ROW_CAP by xxhash64(seed, customer_id)), sorted by ID: customer_id, label, each
# feature's raw value (column named as the feature), each dimension's group label
# (`group_column(dimension)`) and each model's stored probability (`probability_column_of(model)`).
AUDIT_ROWS = "audit/test_rows.parquet"
AUDIT_ROW_CAP = 20_000
# Every customer (all splits) per dimension and group, counted on Spark:
# dimension, group, position (order of the groups), customers, churn_rate, test_customers.
AUDIT_GROUPS = "audit/groups.parquet"
# Threshold-free metrics per model, dimension and group on AUDIT_ROWS with bootstrap intervals:
# model, dimension, group, metric (rows | positives | churn_rate | mean_probability | roc_auc | brier),
# value, lower, upper (null for rows and positives, and where undefined).
AUDIT_METRICS = "audit/group_metrics.parquet"
# Error analysis per model and target ("error": wrong at the model's threshold; "log_loss": per-row
# log loss): the shallow tree's nodes (model, target, node, parent (-1 for the root), depth,
# condition (the edge from the parent in the cohort grammar, "" at the root), cohort (every condition
# from the root), rows, rate, leaf) and its leaves ranked worst first (model, target, rank, node,
# cohort, rows, rate, overall).
ERROR_TREE = "audit/error_tree.parquet"
ERROR_COHORTS = "audit/error_cohorts.parquet"
AUDIT_TABLES = (AUDIT_ROWS, AUDIT_GROUPS, AUDIT_METRICS, ERROR_TREE, ERROR_COHORTS)
# The columns of each audit table but AUDIT_ROWS (whose columns depend on the bundle).
AUDIT_COLUMNS = {
    AUDIT_GROUPS: ("dimension", "group", "position", "customers", "churn_rate", "test_customers"),
    AUDIT_METRICS: ("model", "dimension", "group", "metric", "value", "lower", "upper"),
    ERROR_TREE: ("model", "target", "node", "parent", "depth", "condition", "cohort", "rows", "rate", "leaf"),
    ERROR_COHORTS: ("model", "target", "rank", "node", "cohort", "rows", "rate", "overall"),
}
ERROR_TARGETS = ("error", "log_loss")


def group_column(dimension: str) -> str:
    return f"group:{dimension}"


def probability_column_of(model: str) -> str:
    return f"probability:{model}"


# A sample of training rows (raw feature values), the background for
# on-demand explanations (LIME, what-if, ICE) that need no JVM.
BACKGROUND = "background.parquet"

FEATURE_TYPES = ("numeric", "binary", "categorical")

# How far base value + sum(SHAP) may stray from the model's own log-odds.
LOCAL_ACCURACY_TOLERANCE = 1e-4
# How far the JVM-free runtime may stray from the stored margins and SHAP values.
RUNTIME_PARITY_TOLERANCE = 1e-6
# Publishing re-runs every model through the runtime on every customer up to this
# many, and on an evenly spaced sample of this many beyond it.
RUNTIME_PARITY_ROWS = 50_000


def predictions_path(model: str) -> str:
    """id, probability, margin for every customer under `model`."""
    return f"predictions/{model}.parquet"


def shap_path(model: str) -> str:
    """id plus one column per feature: SHAP values in log-odds."""
    return f"shap/{model}.parquet"


def model_dir(model: str) -> str:
    return f"models/{model}"


# Item vectors (bundles trained from an event log; see artifacts/README.md).
# ITEMS, ITEM_VECTORS and ITEM_MAP hold one row per item, sorted by item_id
# ascending and aligned row by row, like the per-customer tables.
ITEM_ID_COLUMN = "item_id"  # string
ITEMS = "items/items.parquet"  # item_id, title, year, genres ("A|B"), users
ITEM_VECTORS = "items/vectors.parquet"  # item_id, vector (fixed-size list<float32>)
ITEM_MAP = "items/map.parquet"  # item_id, pca_x, pca_y, tsne_x, tsne_y
CUSTOMER_ITEMS = "items/customer_recent.parquet"  # customer_id, rank (0 = latest), item_id, ts, value
WORD2VEC_DIR = "items/word2vec"  # Spark's own Word2VecModel.save() format
GENRE_SEPARATOR = "|"
