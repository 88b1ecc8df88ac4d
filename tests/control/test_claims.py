"""claim / claim_many / insert_once on both engines, and two real processes racing for the same rows."""

from __future__ import annotations

from typing import Any

import pytest

from dwh.control.claims import claim, claim_many, insert_once
from dwh.control.store import ControlStore
from tests.control.race_worker import CLAIMED, ROWS, WAITING, race_metadata
from tests.control.races import race


def seeded(store: ControlStore, count: int, *, state: str = WAITING) -> Any:
    """``race_items`` with `count` rows in `state`."""
    store.create_tables(race_metadata())
    table = store.table("race_items")
    if count:
        with store.transaction() as conn:
            conn.execute(table.insert(), [{"id": n, "state": state, "owner": None} for n in range(count)])
    return table


def stored(store: ControlStore, table: Any) -> dict[int, tuple[str, str | None]]:
    """id -> (state, owner) as the database holds them."""
    with store.transaction() as conn:
        return {row.id: (row.state, row.owner) for row in conn.execute(table.select())}


def test_claim_returns_the_row_to_the_first_caller_only(store: ControlStore) -> None:
    table = seeded(store, 2)
    with store.transaction() as conn:
        won = claim(conn, table, {"id": 1}, expected={"state": WAITING}, values={"state": CLAIMED, "owner": "a"})
        lost = claim(conn, table, {"id": 1}, expected={"state": WAITING}, values={"state": CLAIMED, "owner": "b"})
        absent = claim(conn, table, {"id": 99}, expected={}, values={"owner": "c"})
    assert won == {"id": 1, "state": CLAIMED, "owner": "a"}
    assert lost is None and absent is None
    assert stored(store, table) == {0: (WAITING, None), 1: (CLAIMED, "a")}


def test_claim_expectations_none_is_null_and_a_tuple_is_one_of(store: ControlStore) -> None:
    table = seeded(store, 3)
    with store.transaction() as conn:
        assert claim(conn, table, {"id": 0}, expected={"owner": None}, values={"owner": "a"}) is not None
        assert claim(conn, table, {"id": 0}, expected={"owner": None}, values={"owner": "b"}) is None
        assert claim(conn, table, {"id": 2}, expected={"state": ("DONE", WAITING)}, values={"state": "DONE"})
        assert claim(conn, table, {"id": 2}, expected={"state": (WAITING,)}, values={"state": CLAIMED}) is None
    assert stored(store, table) == {0: (WAITING, "a"), 1: (WAITING, None), 2: ("DONE", None)}


def test_claim_refuses_a_key_that_matches_several_rows(store: ControlStore) -> None:
    table = seeded(store, 3)
    with pytest.raises(ValueError, match="matched 3 rows"), store.transaction() as conn:
        claim(conn, table, {"state": WAITING}, expected={}, values={"owner": "x"})
    assert stored(store, table)[0] == (WAITING, None)  # the transaction was rolled back


def test_claim_many_takes_matching_rows_in_order_up_to_the_limit(store: ControlStore) -> None:
    table = seeded(store, 10)
    with store.transaction() as conn:
        claim(conn, table, {"id": 8}, expected={}, values={"state": "DONE"})
        first = claim_many(
            conn, table, expected={"state": WAITING}, values={"state": CLAIMED}, limit=3, order_by=table.c.id.desc()
        )
        rest = claim_many(conn, table, expected={"state": WAITING}, values={"state": CLAIMED, "owner": "z"})
        none_left = claim_many(conn, table, expected={"state": WAITING}, values={"state": CLAIMED})
    assert [row["id"] for row in first] == [9, 7, 6]
    assert sorted(row["id"] for row in rest) == [0, 1, 2, 3, 4, 5]
    assert all(row["owner"] == "z" and row["state"] == CLAIMED for row in rest)
    assert none_left == []
    assert stored(store, table)[8] == ("DONE", None)


def test_insert_once_inserts_the_first_row_and_keeps_it(store: ControlStore) -> None:
    table = seeded(store, 0)
    with store.transaction() as conn:
        assert insert_once(conn, table, {"id": 5, "state": WAITING, "owner": "first"}) is True
        assert insert_once(conn, table, {"id": 5, "state": CLAIMED, "owner": "second"}) is False
    assert stored(store, table) == {5: (WAITING, "first")}


def test_two_processes_claiming_the_same_200_rows_win_each_exactly_once(
    store: ControlStore, store_spec: dict[str, Any]
) -> None:
    table = seeded(store, ROWS)
    won = race(store_spec, "claim")
    assert set(won["p1"]).isdisjoint(won["p2"])
    assert sorted(won["p1"] + won["p2"]) == list(range(ROWS))
    # No assertion that both won some: SQLite's lock is not fair (a waiting process sleeps in its busy
    # handler while the other commits and begins again), so one may win all. None may win a row twice.
    rows = stored(store, table)
    assert {n for n, (_, owner) in rows.items() if owner == "p1"} == set(won["p1"])
    assert {state for state, _ in rows.values()} == {CLAIMED}


def test_two_processes_claim_many_every_row_goes_to_one_of_them(
    store: ControlStore, store_spec: dict[str, Any]
) -> None:
    table = seeded(store, ROWS)
    won = race(store_spec, "claim_many")
    assert sorted(won["p1"] + won["p2"]) == list(range(ROWS))
    rows = stored(store, table)
    assert {n for n, (_, owner) in rows.items() if owner == "p2"} == set(won["p2"])


def test_postgres_claim_many_skips_rows_another_transaction_holds(postgres_db: Any) -> None:
    from dwh.control.store import ControlStoreConfig

    url = f"postgresql://postgres@127.0.0.1:{postgres_db.port}/{postgres_db.dbname}"
    with ControlStoreConfig(url=url).open() as store:
        table = seeded(store, 6)
        with store.transaction() as holder:
            held = claim_many(holder, table, expected={"state": WAITING}, values={"owner": "a"}, limit=3)
            with store.transaction() as other:
                # Without SKIP LOCKED this would wait for `holder`: lock_timeout turns a wait into an error.
                other.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
                taken = claim_many(other, table, expected={"state": WAITING}, values={"owner": "b"}, limit=3)
        assert len(held) == 3
        assert {row["id"] for row in taken}.isdisjoint(row["id"] for row in held) and len(taken) == 3
        assert {owner for _, owner in stored(store, table).values()} == {"a", "b"}
