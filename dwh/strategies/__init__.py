"""Pluggable strategies chosen by config: extractors, loaders, notifications and quality checks."""
