"""The history store: round trip, migrations, concurrent writers, a writer killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from scanner.document import to_document
from scanner.history import (
    HistoryError,
    Store,
    _insert_run,
    default_store_path,
)
from scanner.history_format import format_runs
from scanner.history_schema import MIGRATIONS, SCHEMA_VERSION
from scanner.models import (
    ControlResult,
    ControlStatus,
    Finding,
    ScanRun,
    Severity,
    Status,
    Target,
)

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "111122223333"

FindingSpec = tuple[str, str, str, str]  # check_id, resource_id, region, status


def make_doc(
    scan_id: str,
    findings: Iterable[FindingSpec] = (),
    *,
    label: str = "clinic",
    account_id: str = ACCOUNT,
    started_at: str = "2026-01-01T00:00:00Z",
    controls: Mapping[str, str] | None = None,
    complete: bool = True,
    checks: Iterable[str] | None = None,
    regions: Iterable[str] = ("us-east-1",),
    messages: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A valid scan document with exactly these findings and control statuses."""
    findings = list(findings)
    built = tuple(
        Finding(
            check_id=check_id,
            status=Status(status),
            severity=Severity.HIGH,
            criteria=("ACCT-001.4",),
            region=region,
            resource_id=resource_id,
            resource_type="AWS::Test::Thing",
            message=(messages or {}).get(resource_id, f"{check_id} on {resource_id}: {status}"),
            evidence={},
            calls=(),
        )
        for check_id, resource_id, region, status in findings
    )
    run = ScanRun(
        scan_id=scan_id,
        started_at=started_at,
        finished_at=started_at,
        target=Target(label, account_id, "aws", f"arn:aws:sts::{account_id}:assumed-role/Scan/govscan",
                      f"arn:aws:iam::{account_id}:role/Scan", tuple(regions)),
        findings=built,
        controls=tuple(
            ControlResult(cid, ControlStatus(status), ()) for cid, status in (controls or {"ACCT-001": "MET"}).items()
        ),
        calls=(),
        scanner_version="0.1.0",
        catalog_id="aws-smb-competency",
        catalog_version="2025-08",
        complete=complete,
        options={"checks": sorted(set(checks) if checks is not None else {f[0] for f in findings}),
                 "regions": list(regions)},
    )
    return to_document(run)


def stamp(day: int, hour: int = 0) -> str:
    return f"2026-01-{day:02d}T{hour:02d}:00:00Z"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "history.sqlite")


def test_round_trip_keeps_the_document_byte_for_byte(store: Store) -> None:
    doc = make_doc("run-1", [("c_one", "r1", "us-east-1", "PASS"), ("c_one", "r2", "us-east-1", "FAIL"),
                             ("c_two", ACCOUNT, "global", "ERROR"), ("c_three", ACCOUNT, "global", "NOT_APPLICABLE")])
    assert store.save(doc) is True
    assert store.document("run-1") == doc
    (summary,) = store.runs()
    assert summary.scan_id == "run-1" and summary.label == "clinic" and summary.account_id == ACCOUNT
    assert dict(summary.counts) == {"PASS": 1, "FAIL": 1, "ERROR": 1, "NOT_APPLICABLE": 1}
    assert summary.complete and summary.digest == doc["digest"]
    assert store.runs("clinic") == store.runs(ACCOUNT) == [summary]
    assert store.runs("other") == []
    assert store.labels() == ["clinic"]
    assert store.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert json.loads(db.execute("SELECT document FROM runs").fetchone()[0]) == doc


def test_saving_twice_is_idempotent_but_a_changed_run_is_refused(store: Store) -> None:
    doc = make_doc("run-1", [("c_one", "r1", "us-east-1", "PASS")])
    assert store.save(doc)
    assert store.save(doc) is False
    other = make_doc("run-1", [("c_one", "r1", "us-east-1", "FAIL")])
    with pytest.raises(HistoryError, match="already stored with another digest"):
        store.save(other)
    assert len(store.runs()) == 1


def test_an_invalid_or_tampered_document_is_refused(store: Store) -> None:
    doc = make_doc("run-1", [("c_one", "r1", "us-east-1", "PASS")])
    doc["findings"][0]["status"] = "FAIL"  # digest no longer matches
    with pytest.raises(HistoryError, match="digest mismatch"):
        store.save(doc)
    assert store.runs() == []


def test_a_damaged_stored_document_is_reported(store: Store) -> None:
    store.save(make_doc("run-1", [("c_one", "r1", "us-east-1", "PASS")]))
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET document = replace(document, '\"PASS\"', '\"FAIL\"')")
    with pytest.raises(HistoryError, match="run-1 is damaged: digest mismatch"):
        store.document("run-1")


def test_latest_and_previous_skip_incomplete_runs_and_other_accounts(store: Store) -> None:
    store.save(make_doc("a-1", started_at=stamp(1)))
    store.save(make_doc("a-2", started_at=stamp(2)))
    store.save(make_doc("b-1", label="retail", account_id="222233334444", started_at=stamp(3)))
    store.save(make_doc("a-3", started_at=stamp(4), complete=False))
    latest = store.latest("clinic")
    assert latest is not None and latest.scan_id == "a-2"
    previous = store.previous("a-2")
    assert previous is not None and previous.scan_id == "a-1"
    assert store.previous("a-1") is None
    assert [r.scan_id for r in store.runs("clinic")] == ["a-1", "a-2", "a-3"], "incomplete runs are listed"
    assert store.latest("nobody") is None
    table = format_runs(store.runs())
    assert table[0].split() == ["SCAN", "ID", "LABEL", "ACCOUNT", "STARTED", "PASS", "FAIL", "ERROR", "N/A", "NOTE"]
    assert "incomplete (interrupted; never used as latest)" in table[-1] and table[-1].startswith("a-3")


def test_a_unique_prefix_names_a_run(store: Store) -> None:
    store.save(make_doc("20260101T000000Z-111122223333-aaaa", started_at=stamp(1)))
    store.save(make_doc("20260102T000000Z-111122223333-bbbb", started_at=stamp(2)))
    assert store.document("20260102")["scan_id"] == "20260102T000000Z-111122223333-bbbb"
    with pytest.raises(HistoryError, match="matches several runs"):
        store.document("2026010")
    with pytest.raises(HistoryError, match="no run 'nope'"):
        store.document("nope")


def test_control_timeline(store: Store) -> None:
    store.save(make_doc("a-1", started_at=stamp(1), controls={"ACCT-001": "MET", "NETSEC-001": "NOT_MET"}))
    store.save(make_doc("a-2", started_at=stamp(2), controls={"ACCT-001": "NOT_MET"}))
    store.save(make_doc("a-3", started_at=stamp(3), controls={"ACCT-001": "MET"}, complete=False))
    timeline = store.control_timeline("clinic")
    assert [(run.scan_id, dict(statuses)) for run, statuses in timeline] == [
        ("a-1", {"ACCT-001": ControlStatus.MET, "NETSEC-001": ControlStatus.NOT_MET}),
        ("a-2", {"ACCT-001": ControlStatus.NOT_MET}),
    ]


def test_store_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOVSCAN_STORE", str(tmp_path / "explicit.sqlite"))
    assert default_store_path() == tmp_path / "explicit.sqlite"
    monkeypatch.delenv("GOVSCAN_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_path() == tmp_path / "xdg" / "govscan" / "history.sqlite"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_store_path() == tmp_path / "home" / ".local" / "share" / "govscan" / "history.sqlite"


def test_migrates_a_version_1_store_and_backfills_control_statuses(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    doc = make_doc("a-1", controls={"ACCT-001": "NOT_MET"})
    with sqlite3.connect(path) as db:  # what govscan's first schema wrote
        MIGRATIONS[0](db)
        _insert_run(db, doc, json.dumps(doc))
        db.execute("PRAGMA user_version = 1")
    store = Store(path)
    assert store.schema_version() == SCHEMA_VERSION == 3
    ((run, statuses),) = store.control_timeline("clinic")
    assert run.scan_id == "a-1" and statuses == {"ACCT-001": ControlStatus.NOT_MET}
    assert store.document("a-1") == doc


def test_a_store_from_a_newer_govscan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(HistoryError, match=f"schema version {SCHEMA_VERSION + 1}; this govscan knows up to"):
        Store(path).runs()


def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_text("this is not sqlite " * 100)
    with pytest.raises(HistoryError, match=r"junk\.sqlite"):
        Store(path).runs()


# --- two processes -------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from scanner.history import Store
    from tests.scanner.test_history import make_doc

    path, prefix, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    docs = [make_doc(f"{prefix}-{i:03d}", [("c_one", f"r{j}", "us-east-1", "FAIL") for j in range(50)],
                     label=prefix, started_at=f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z") for i in range(count)]
    store = Store(path)
    while not go.exists():
        time.sleep(0.005)
    for doc in docs:
        store.save(doc)
    """
)


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path, go = tmp_path / "history.sqlite", tmp_path / "go"
    count = 40
    writers = [_python(WRITER, str(path), name, str(count), str(go)) for name in ("clinic", "retail")]
    time.sleep(0.5)  # both are waiting at the start line: migrations race too
    go.touch()
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    store = Store(path)
    assert [len(store.runs(label)) for label in ("clinic", "retail")] == [count, count]
    assert store.schema_version() == SCHEMA_VERSION
    for run in store.runs():
        assert run.counts["FAIL"] == 50
        store.document(run.scan_id)  # every document intact (digest checked)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM run_controls").fetchone()[0] == 2 * count


KILLED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import scanner.history as history
    from tests.scanner.test_history import make_doc

    def stall(db, scan_id, doc):
        print("run row written, controls not yet", flush=True)
        time.sleep(60)

    history._insert_controls = stall
    history.Store(Path(sys.argv[1])).save(make_doc("doomed", [("c_one", "r1", "us-east-1", "FAIL")]))
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_writer_killed_mid_run_leaves_no_half_written_run(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    store = Store(path)
    store.save(make_doc("kept", started_at=stamp(1)))
    writer = _python(KILLED, str(path))
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "run row written, controls not yet"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    after = Store(path)
    assert [r.scan_id for r in after.runs()] == ["kept"]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM run_controls WHERE scan_id = 'doomed'").fetchone()[0] == 0
    assert after.save(make_doc("doomed", [("c_one", "r1", "us-east-1", "FAIL")], started_at=stamp(2)))  # no lock left
    assert [r.scan_id for r in after.runs()] == ["kept", "doomed"]


# --- readers never create ------------------------------------------------------------------


def test_a_reader_of_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "histroy.sqlite"
    reader = Store(path, create=False)
    for read in (reader.runs, reader.labels, lambda: reader.latest("clinic"), lambda: reader.document("x")):
        with pytest.raises(HistoryError, match=r"^no history at .*histroy\.sqlite: run a scan first, or pass --store$"):
            read()
    assert not path.parent.exists()


def test_a_reader_opens_read_only_and_leaves_the_database_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    doc = make_doc("a-1", [("c_one", "r1", "us-east-1", "FAIL")])
    Store(path).save(doc)
    before = path.read_bytes()
    reader = Store(path, create=False)
    assert [r.scan_id for r in reader.runs()] == ["a-1"]
    assert reader.document("a-1") == doc and reader.labels() == ["clinic"]
    with pytest.raises(HistoryError, match="opened read-only"):
        reader.save(make_doc("a-2"))
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db, pytest.raises(sqlite3.Error):
        db.execute("DELETE FROM runs")  # what mode=ro guarantees, whatever the code does
    assert path.read_bytes() == before


def test_a_reader_migrates_an_older_store_and_refuses_a_foreign_database(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as db:
        MIGRATIONS[0](db)
        _insert_run(db, make_doc("a-1"), json.dumps(make_doc("a-1")))
        db.execute("PRAGMA user_version = 1")
    reader = Store(old, create=False)
    assert [run.scan_id for run, _ in reader.control_timeline("clinic")] == ["a-1"]
    assert reader.schema_version() == SCHEMA_VERSION
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (x)")
    with pytest.raises(HistoryError, match="no history at"):
        Store(other, create=False).runs()
    with pytest.raises(HistoryError, match=r"junk\.sqlite"):
        (tmp_path / "junk.sqlite").write_text("this is not sqlite " * 100)
        Store(tmp_path / "junk.sqlite", create=False).runs()


def test_unknown_account_names_the_stored_ones(store: Store) -> None:
    store.save(make_doc("a-1"))
    store.save(make_doc("b-1", label="retail", account_id="222233334444"))
    store.require(["clinic", ACCOUNT, "222233334444"])  # a label or an account id
    assert store.knows("retail") and not store.knows("nosuch")
    with pytest.raises(HistoryError, match=r"no stored runs of nosuch in .* \(stored: clinic, retail\)"):
        store.require(["retail", "nosuch"])


def test_unreachable_attempts_are_listed_with_the_runs(store: Store) -> None:
    store.save(make_doc("a-1"))
    store.record_unreachable("clinic", "Could not assume ...: AccessDenied", at="2099-01-01T00:00:00Z")
    store.record_unreachable("ghost", "AWS profile 'no-such' not found", at="2099-01-02T00:00:00Z")
    assert [u.label for u in store.unreachable()] == ["clinic", "ghost"]
    assert [u.reason for u in store.unreachable("ghost")] == ["AWS profile 'no-such' not found"]
    assert store.labels() == ["clinic", "ghost"] and store.knows("ghost")
    lines = format_runs(store.runs(), store.unreachable())
    assert lines[0].split()[:4] == ["SCAN", "ID", "LABEL", "ACCOUNT"] and "STARTED" in lines[0]
    assert "a-1" in lines[1]  # oldest first, runs and attempts together
    assert lines[2].endswith("UNREACHABLE: Could not assume ...: AccessDenied")
    assert "ghost" in lines[3]


def test_a_read_only_store_refuses_to_note_an_attempt(tmp_path: Path) -> None:
    Store(tmp_path / "h.sqlite").save(make_doc("a-1"))
    with pytest.raises(HistoryError, match="read-only"):
        Store(tmp_path / "h.sqlite", create=False).record_unreachable("clinic", "x")
