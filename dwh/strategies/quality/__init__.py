"""Data-quality expectations: declarative rules with warn | drop | fail policies."""
