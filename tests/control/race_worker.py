"""A worker process for the race tests: open the store, wait for "go", race, print what it won as JSON.

    python -m tests.control.race_worker '<store config json>' <owner> claim|claim_many|notice

It prints ``ready`` once its store is open, then waits for one line on stdin, so both workers start
racing at the same moment. Threads would share one interpreter's locks; separate processes don't.
"""

from __future__ import annotations

import functools
import json
import random
import sys
from typing import TYPE_CHECKING, Any

from dwh.control.claims import claim, claim_many
from dwh.control.store import ControlStore, ControlStoreConfig
from dwh.control.tracking import FreeportTracking

if TYPE_CHECKING:
    from sqlalchemy import MetaData

ROWS = 200
BATCHES = 50
WAITING, CLAIMED = "WAITING", "CLAIMED"


@functools.cache
def race_metadata() -> MetaData:
    """``race_items``: 200 rows to fight over (id, state, owner)."""
    from sqlalchemy import Column, Integer, MetaData, Table, Text

    metadata = MetaData()
    Table("race_items", metadata, Column("id", Integer, primary_key=True), Column("state", Text), Column("owner", Text))
    return metadata


def _claim_each(store: ControlStore, owner: str) -> list[Any]:
    store.create_tables(race_metadata())
    table = store.table("race_items")
    order = list(range(ROWS))
    random.Random(owner).shuffle(order)
    won = []
    for item in order:
        with store.transaction() as conn:
            row = claim(
                conn, table, {"id": item}, expected={"state": WAITING}, values={"state": CLAIMED, "owner": owner}
            )
        if row is not None:
            won.append(row["id"])
    return won


def _claim_batches(store: ControlStore, owner: str) -> list[Any]:
    store.create_tables(race_metadata())
    table = store.table("race_items")
    won: list[Any] = []
    while True:
        with store.transaction() as conn:
            rows = claim_many(
                conn, table, expected={"state": WAITING}, values={"state": CLAIMED, "owner": owner}, limit=7
            )
        if not rows:
            return won
        won += [row["id"] for row in rows]


def _claim_notices(store: ControlStore, owner: str) -> list[Any]:
    tracking = FreeportTracking(store)  # both workers create the tables at the same moment
    return [f"b{n}" for n in range(BATCHES) if tracking.claim_notice(f"b{n}")]


MODES = {"claim": _claim_each, "claim_many": _claim_batches, "notice": _claim_notices}


def main() -> None:
    """Open, report ready, wait for go, race, print the winnings."""
    spec, owner, mode = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    store = ControlStoreConfig.model_validate(spec).open()
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps(MODES[mode](store, owner)), flush=True)
    store.close()


if __name__ == "__main__":
    main()
