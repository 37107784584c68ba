"""The history store's SQLite schema: the migrations that build it, in order.

``PRAGMA user_version`` is the number of :data:`MIGRATIONS` a store has had; ``scanner.history``
applies the missing ones, each in its own transaction, and refuses a store whose version is
above :data:`SCHEMA_VERSION` (written by a newer govscan). A migration only adds tables and
indexes, and fills them from the stored documents, so any store can be brought up to date.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable


def _v1(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE runs (
            scan_id TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            account_id TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            complete INTEGER NOT NULL,
            n_pass INTEGER NOT NULL,
            n_fail INTEGER NOT NULL,
            n_error INTEGER NOT NULL,
            n_na INTEGER NOT NULL,
            digest TEXT NOT NULL,
            scanner_version TEXT NOT NULL,
            stored_at TEXT NOT NULL,
            document TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX runs_by_label ON runs (label, started_at)")
    db.execute("CREATE INDEX runs_by_account ON runs (account_id, started_at)")


def _v2(db: sqlite3.Connection) -> None:
    """Control statuses per run, for ``govscan status``; backfilled from the stored documents."""
    db.execute(
        """CREATE TABLE run_controls (
            scan_id TEXT NOT NULL REFERENCES runs (scan_id) ON DELETE CASCADE,
            control_id TEXT NOT NULL,
            status TEXT NOT NULL,
            PRIMARY KEY (scan_id, control_id)
        )"""
    )
    # The rows Store.save writes, written out here: a migration is a fixed step, and must keep
    # filling the table as it was at version 2 whatever later versions make Store.save write.
    for scan_id, text in db.execute("SELECT scan_id, document FROM runs").fetchall():
        doc = json.loads(text)
        db.executemany(
            "INSERT INTO run_controls (scan_id, control_id, status) VALUES (?, ?, ?)",
            [(scan_id, c["id"], c["status"]) for c in doc.get("controls", [])],
        )


def _v3(db: sqlite3.Connection) -> None:
    """Attempts that reached no account (role not assumable, credentials rejected, no region):
    without them a quiet week in the history could not be told from a broken cron job."""
    db.execute(
        """CREATE TABLE unreachable (
            id INTEGER PRIMARY KEY,
            label TEXT NOT NULL,
            at TEXT NOT NULL,
            reason TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX unreachable_by_label ON unreachable (label, at)")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2, _v3)
SCHEMA_VERSION = len(MIGRATIONS)
