"""The history store: every scan document in one embedded SQLite database.

Where: ``--store PATH``, else ``$GOVSCAN_STORE``, else ``$XDG_DATA_HOME/govscan/history.sqlite``,
else ``~/.local/share/govscan/history.sqlite`` (:func:`default_store_path`).

What: the record of a run is the scan document itself (``runs.document``, the JSON exactly as
written, digest included) plus index columns (label, account, times, counts by status,
completeness) and one row per control status (``run_controls``) so that ``history`` and
``status`` need not parse every document. The indexes can always be rebuilt from the
documents; migration 2 does exactly that.

Safety: the database runs in WAL mode (readers never block the writer) with a busy timeout,
and a run is written in one ``BEGIN IMMEDIATE`` transaction: two scans storing at once
serialise, and a process killed mid-write leaves no trace of the run (SQLite rolls the
unfinished transaction back on the next open). The schema version is ``PRAGMA user_version``;
the migrations (``scanner.history_schema``) are applied in order, each in its own transaction,
by whoever opens the store first. A store written by a newer govscan is refused rather than
guessed at. The ``govscan history`` table is drawn by ``scanner.history_format``.

A run whose document says ``"complete": false`` (an interrupted scan) is stored and listed,
but never chosen as the latest or previous run of an account (:meth:`Store.latest`).

Readers do not create. ``Store(path)`` is the writer's store (``scan``): it creates the folder
and the database on first use. ``Store(path, create=False)`` is the readers' (``history``,
``diff``, ``status``): it opens the file read-only (SQLite's ``mode=ro`` URI) and raises
:class:`HistoryError` ``no history at PATH`` when there is none, so a mistyped ``--store``
is an error instead of a new empty database. A read-only open of a store written by an older
govscan still migrates it first (through a read-write open of the existing file: migrations
only add what the documents already hold). SQLite may leave the empty ``-wal``/``-shm`` side
files a WAL reader needs beside the database; the next writer removes them.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner.document import DocumentError, dumps, validate
from scanner.gateway import utc_now
from scanner.history_schema import MIGRATIONS, SCHEMA_VERSION
from scanner.models import ControlStatus

BUSY_TIMEOUT_MS = 30_000

_STATUS_COLUMNS = {"PASS": "n_pass", "FAIL": "n_fail", "ERROR": "n_error", "NOT_APPLICABLE": "n_na"}


class HistoryError(Exception):
    """The store cannot be opened or used, or a run asked for is not in it."""


def default_store_path() -> Path:
    explicit = os.environ.get("GOVSCAN_STORE")
    if explicit:
        return Path(explicit).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME")
    base = Path(data_home).expanduser() if data_home else Path.home() / ".local" / "share"
    return base / "govscan" / "history.sqlite"


@dataclass(frozen=True)
class RunSummary:
    scan_id: str
    label: str
    account_id: str
    started_at: str
    finished_at: str
    complete: bool
    counts: Mapping[str, int]  # by finding status
    digest: str

    @property
    def n_findings(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Unreachable:
    """One attempt to scan an account that could not reach it."""

    label: str
    at: str
    reason: str


def _insert_controls(db: sqlite3.Connection, scan_id: str, doc: Mapping[str, Any]) -> None:
    db.executemany(
        "INSERT INTO run_controls (scan_id, control_id, status) VALUES (?, ?, ?)",
        [(scan_id, c["id"], c["status"]) for c in doc.get("controls", [])],
    )


def _insert_run(db: sqlite3.Connection, doc: Mapping[str, Any], text: str) -> None:
    counts = dict.fromkeys(_STATUS_COLUMNS.values(), 0)
    for finding in doc["findings"]:
        counts[_STATUS_COLUMNS[finding["status"]]] += 1
    db.execute(
        """INSERT INTO runs (scan_id, label, account_id, started_at, finished_at, complete,
                             n_pass, n_fail, n_error, n_na, digest, scanner_version, stored_at, document)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            doc["scan_id"],
            doc["target"]["label"] or doc["target"]["account_id"],
            doc["target"]["account_id"],
            doc["started_at"],
            doc["finished_at"],
            int(doc.get("complete", True)),
            counts["n_pass"],
            counts["n_fail"],
            counts["n_error"],
            counts["n_na"],
            doc["digest"],
            doc["scanner"]["version"],
            utc_now(),
            text,
        ),
    )


def _summary(row: sqlite3.Row) -> RunSummary:
    return RunSummary(
        scan_id=row["scan_id"],
        label=row["label"],
        account_id=row["account_id"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        complete=bool(row["complete"]),
        counts={status: int(row[column]) for status, column in _STATUS_COLUMNS.items()},
        digest=row["digest"],
    )


_SELECT_RUNS = (
    "SELECT scan_id, label, account_id, started_at, finished_at, complete, "
    "n_pass, n_fail, n_error, n_na, digest FROM runs"
)


class Store:
    """One history database. Cheap to create: each operation opens its own connection.

    ``create=False``: read-only, for commands that only read (see the module docstring).
    """

    def __init__(self, path: Path | None = None, *, create: bool = True) -> None:
        self.path = path or default_store_path()
        self.create = create
        self._migrated = False

    def _open(self, mode: str) -> sqlite3.Connection:
        """``mode``: ``rwc`` (create if missing), ``rw`` or ``ro`` (both fail if it is missing)."""
        if mode == "rwc":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        uri = f"{self.path.resolve().as_uri()}?mode={mode}"  # as_uri escapes "?" and "#" in the path
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)

    def _missing(self) -> HistoryError:
        return HistoryError(f"no history at {self.path}: run a scan first, or pass --store")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self.create and not self.path.is_file():
            raise self._missing()
        try:
            db = self._open("rwc" if self.create else "ro")
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open the history store {self.path}: {exc}") from exc
        with closing(db):
            db.row_factory = sqlite3.Row
            try:
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                db.execute("PRAGMA foreign_keys = ON")
                if not self._migrated:
                    if self.create:
                        self._migrate(db)
                    else:
                        self._check_readable(db)
                    self._migrated = True
                yield db
            except sqlite3.DatabaseError as exc:
                raise HistoryError(f"history store {self.path}: {exc}") from exc

    def _check_readable(self, db: sqlite3.Connection) -> None:
        """Read-only open: a govscan store of a known schema, migrated first if it is older."""
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version == 0 and db.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone() is None:
            raise self._missing()  # an empty file, or some other SQLite database: no govscan history
        self._refuse_newer(version)
        if version < SCHEMA_VERSION:
            writer = self._open("rw")
            with closing(writer):
                writer.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                self._migrate(writer)

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"history store {self.path} has schema version {version}; this govscan knows up to "
                f"{SCHEMA_VERSION}: upgrade govscan (or use --store for another file)"
            )

    def _migrate(self, db: sqlite3.Connection) -> None:
        # WAL is a property of the file: set once, it stays. It lets readers go on while a scan
        # writes. https://www.sqlite.org/wal.html
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        self._refuse_newer(version)
        while version < SCHEMA_VERSION:
            with _transaction(db):
                # Read again inside the write lock: another process may have migrated meanwhile.
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
                if version >= SCHEMA_VERSION:
                    break
                MIGRATIONS[version](db)
                version += 1
                db.execute(f"PRAGMA user_version = {version}")

    def schema_version(self) -> int:
        with self._connect() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    # --- writing ---------------------------------------------------------------------------

    def save(self, doc: Mapping[str, Any]) -> bool:
        """Store one validated scan document; ``False`` if this exact run is already stored.

        The same scan id with a different digest is refused: history is append-only.
        """
        if not self.create:
            raise HistoryError(f"history store {self.path} was opened read-only")
        try:
            validate(doc)
        except DocumentError as exc:
            raise HistoryError(f"refusing to store an invalid scan document: {exc}") from exc
        text = dumps(doc)
        with self._connect() as db, _transaction(db):
            row = db.execute("SELECT digest FROM runs WHERE scan_id = ?", (doc["scan_id"],)).fetchone()
            if row is not None:
                if row["digest"] == doc["digest"]:
                    return False
                raise HistoryError(f"run {doc['scan_id']} is already stored with another digest")
            _insert_run(db, doc, text)
            _insert_controls(db, doc["scan_id"], doc)
        return True

    def record_unreachable(self, label: str, reason: str, *, at: str | None = None) -> None:
        """Note an attempt that could not reach the account (listed by ``history``/``status``)."""
        if not self.create:
            raise HistoryError(f"history store {self.path} was opened read-only")
        when = at or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        with self._connect() as db, _transaction(db):
            db.execute("INSERT INTO unreachable (label, at, reason) VALUES (?, ?, ?)", (label, when, reason[:2000]))

    # --- reading ---------------------------------------------------------------------------

    def unreachable(self, label: str | None = None) -> list[Unreachable]:
        """Attempts that reached no account, oldest first (of one label)."""
        query, params = "SELECT label, at, reason FROM unreachable", ()
        if label:
            query += " WHERE label = ?"
            params = (label,)  # type: ignore[assignment]
        with self._connect() as db:
            return [Unreachable(r[0], r[1], r[2]) for r in db.execute(query + " ORDER BY at, id", params)]

    def runs(self, label: str | None = None) -> list[RunSummary]:
        """Every run, oldest first (of one account: its label or account id)."""
        query = _SELECT_RUNS
        params: tuple[str, ...] = ()
        if label:
            query += " WHERE label = ? OR account_id = ?"
            params = (label, label)
        with self._connect() as db:
            return [_summary(r) for r in db.execute(query + " ORDER BY started_at, scan_id", params)]

    def labels(self) -> list[str]:
        """The accounts' labels (an account scanned without a label is listed by its id)."""
        with self._connect() as db:
            query = "SELECT label FROM runs UNION SELECT label FROM unreachable ORDER BY label"
            return [r[0] for r in db.execute(query)]

    def knows(self, label: str) -> bool:
        """Whether any run is stored for ``label`` (a label or an account id, as :meth:`runs` takes)."""
        with self._connect() as db:
            query = (
                "SELECT 1 FROM runs WHERE label = ? OR account_id = ? "
                "UNION ALL SELECT 1 FROM unreachable WHERE label = ? LIMIT 1"
            )
            return db.execute(query, (label, label, label)).fetchone() is not None

    def require(self, labels: Sequence[str]) -> None:
        """Raise :class:`HistoryError` naming the stored labels when one of ``labels`` has no run
        (``govscan history --account`` and ``status --account`` exit 2 on a typo, not "no runs")."""
        unknown = [label for label in labels if not self.knows(label)]
        if unknown:
            known = ", ".join(self.labels()) or "none"
            raise HistoryError(f"no stored runs of {', '.join(unknown)} in {self.path} (stored: {known})")

    def document(self, scan_id: str) -> dict[str, Any]:
        """The stored document of a run (a unique prefix of its id will do), digest checked."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT scan_id, document FROM runs WHERE scan_id = ? UNION "
                "SELECT scan_id, document FROM runs WHERE substr(scan_id, 1, length(?)) = ? LIMIT 3",
                (scan_id, scan_id, scan_id),
            ).fetchall()
        exact = [r for r in rows if r["scan_id"] == scan_id]
        if exact:
            rows = exact
        if not rows:
            raise HistoryError(f"no run {scan_id!r} in {self.path} (see `govscan history`)")
        if len(rows) > 1:
            several = ", ".join(r["scan_id"] for r in rows)
            raise HistoryError(f"{scan_id!r} matches several runs: {several}...")
        doc: dict[str, Any] = json.loads(rows[0]["document"])
        try:
            validate(doc)
        except DocumentError as exc:
            raise HistoryError(f"stored run {rows[0]['scan_id']} is damaged: {exc}") from exc
        return doc

    def summary(self, scan_id: str) -> RunSummary:
        with self._connect() as db:
            row = db.execute(_SELECT_RUNS + " WHERE scan_id = ?", (scan_id,)).fetchone()
        if row is None:
            raise HistoryError(f"no run {scan_id!r} in {self.path} (see `govscan history`)")
        return _summary(row)

    def latest(self, label: str) -> RunSummary | None:
        """The latest complete run of an account (its label or account id)."""
        complete = [r for r in self.runs(label) if r.complete]
        return complete[-1] if complete else None

    def previous(self, scan_id: str) -> RunSummary | None:
        """The latest complete run of the same account that started before run ``scan_id``."""
        run = self.summary(scan_id)
        order = (run.started_at, run.scan_id)
        earlier = [
            r for r in self.runs(run.label)
            if r.complete and r.label == run.label and (r.started_at, r.scan_id) < order
        ]
        return earlier[-1] if earlier else None

    def control_timeline(self, label: str) -> list[tuple[RunSummary, dict[str, ControlStatus]]]:
        """Complete runs of one account, oldest first, each with its control statuses."""
        runs = [r for r in self.runs(label) if r.complete]
        statuses: dict[str, dict[str, ControlStatus]] = {r.scan_id: {} for r in runs}
        with self._connect() as db:
            for row in db.execute(
                "SELECT c.scan_id, c.control_id, c.status FROM run_controls c JOIN runs r USING (scan_id) "
                "WHERE r.complete = 1 AND (r.label = ? OR r.account_id = ?)",
                (label, label),
            ):
                statuses[row["scan_id"]][row["control_id"]] = ControlStatus(row["status"])
        return [(r, statuses[r.scan_id]) for r in runs]


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE``: take the write lock up front (waiting up to the busy timeout), so two
    writers never both read and then fail to upgrade; commit all or nothing."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
