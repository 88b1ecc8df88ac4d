"""PARQUET loader: `ParquetLoader` writes a Parquet directory all or nothing.

loader.py   the config model, the target checks and the plan of renames per mode
commit.py   the staged, journalled commit through Hadoop's FileSystem API
"""

from dwh.strategies.loaders.parquet.loader import ParquetLoader

__all__ = ["ParquetLoader"]
