"""DELTA loader: `DeltaLoader` writes a Delta table by path or table name, in any of the four write modes.

loader.py       the config model; Spark Delta when the session has it, else the delta-rs writer
spark_delta.py  Spark Delta: every mode as one format("delta") write or MERGE INTO, reported as delta-rs reports
merge.py        merge keys matched as Spark matches them, the merge predicate and error (both engines)
writer.py       delta-rs: every mode as one Delta commit over the files Spark tasks wrote
files.py        the executor side: each Spark task writes its rows as Parquet data files
stats.py        Delta file statistics from a Parquet footer
source.py       delta-rs merge, its source streamed to the driver from staged Parquet files
"""

from dwh.strategies.loaders.delta.loader import DeltaLoader

__all__ = ["DeltaLoader"]
