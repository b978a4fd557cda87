"""Customer IDs replaced by their HMAC-SHA256 on Spark at ingest (bundle/ids.py holds the algorithm).

A pandas UDF calls the same `bundle.ids.hash_id` the dashboard uses, so a raw
ID typed in the dashboard hashes to exactly what training stored. The key is
read here from the environment and travels to executors inside the UDF only.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F

from bundle import ids


def hashed_ids(column: Column) -> Column:
    key = ids.require_key()

    # pyspark's stubs lack the Spark >= 3.0 form pandas_udf(returnType), where the type hints give the UDF kind.
    @F.pandas_udf("string")  # type: ignore[call-overload]
    def hmac_sha256(values: pd.Series) -> pd.Series:
        from bundle.ids import hash_id

        return values.map(lambda v: None if v is None else hash_id(v, key))

    return hmac_sha256(column.cast("string"))


def manifest_entry() -> dict:
    return ids.manifest_entry()
