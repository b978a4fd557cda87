"""churnlens dashboard: a Streamlit app that only reads published bundles.

Nothing here imports Spark or `training`; everything shown comes from a
bundle's JSON and Parquet through `bundle.reader`.
"""
