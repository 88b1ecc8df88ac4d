"""smoke: a tiny job that checks a platform set-up end to end (entry point, Spark, notifications)."""
