"""dwh-business-logic: write a Spark data job once, run it on Databricks, Glue, EMR or local Spark.

Importing this package is cheap on purpose: no Spark, no cloud SDKs. Heavy dependencies are
imported inside the strategies that need them.
"""

__version__ = "0.1.0"
