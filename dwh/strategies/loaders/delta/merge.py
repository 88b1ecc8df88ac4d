"""What both DELTA engines share about merge: the key columns, matched as Spark matches them, the predicate, the error.

The loader resolves ``keys`` against the DataFrame before any work; each engine resolves them against the
table too. Both engines join source ``s`` and target ``t`` with `merge_predicate`, and refuse a batch holding
a key twice with `duplicate_key_message`.
"""

from __future__ import annotations


def merge_keys(keys: list[str], columns: list[str], owner: str) -> list[str]:
    """The column names `keys` stand for: the exact name, else the one column equal ignoring case (as Spark)."""
    found, missing = [], []
    for key in keys:
        folded = [name for name in columns if name.lower() == key.lower()]
        if key in columns:
            found.append(key)
        elif len(folded) == 1:
            found.append(folded[0])
        else:
            missing.append(key)
    if missing:
        raise ValueError(f"{owner} has no column(s) {', '.join(missing)}")
    return found


def merge_predicate(keys: list[str]) -> str:
    """``t.`k1` = s.`k1` AND ...`` (backticks keep the column names' case in delta-rs's SQL parser)."""
    return " AND ".join(f"t.`{key}` = s.`{key}`" for key in keys)


def duplicate_key_message(target: str) -> str:
    """The one-line error of a merge whose batch holds a key twice that matches a table row (both engines)."""
    return f"DELTA {target}: the batch holds the same merge key more than once; deduplicate it first"
