"""The bundle contract shared by `training/` (writes) and `dashboard/` (reads).

Depends on pandas, pyarrow, NumPy and jsonschema (and on `runtime/` for the parity check), never on Spark.
"""
