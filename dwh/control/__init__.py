"""The control store: control tables through SQLAlchemy Core (embedded SQLite by default, or PostgreSQL).

`store` opens the database (`ControlStoreConfig` -> `ControlStore`), `claims` holds the primitives two
processes can't both win (`claim`, `claim_many`, `insert_once`), `launches` starts a job at most once
per idempotency key (`launch_once`), and `tracking` is Freeport's tracking tables (`FreeportTracking`).
SQLAlchemy is imported when a store is opened, never by importing this package.
"""

from dwh.control.claims import claim, claim_many, insert_once
from dwh.control.store import ControlStore, ControlStoreConfig

__all__ = ["ControlStore", "ControlStoreConfig", "claim", "claim_many", "insert_once"]
