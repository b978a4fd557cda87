"""The bundle contract shared by `training/` (writes) and `dashboard/` (reads).

Depends on pandas, pyarrow and NumPy only, never on Spark.
"""
