"""Shared test fixtures: an offline moto world and a scan through the real runner."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from scanner.catalog import load_catalog
from scanner.document import to_document, validate
from scanner.models import Finding, ScanRun, Status
from scanner.registry import load_checks
from scanner.runner import ScanOptions, scan, select_checks
from scanner.session import ConnectOptions, connect

ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def _offline_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fake credentials everywhere: no test may ever reach a real AWS account."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/govscan-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/govscan-test-credentials")
    # Scan history goes to a throw-away store, never the developer's own.
    monkeypatch.setenv("GOVSCAN_STORE", str(tmp_path_factory.mktemp("store") / "history.sqlite"))


@pytest.fixture
def aws() -> Iterator[None]:
    """An in-process moto world with govscan's moto extensions installed."""
    from moto import mock_aws

    from fixtures.moto_ext import install

    install()  # every extension module's own install()
    with mock_aws():
        yield


@pytest.fixture(scope="session")
def _moto_server() -> Iterator[str]:
    from fixtures.server import moto_server

    with moto_server(quiet=False) as url:
        yield url


@pytest.fixture
def moto_endpoint(_moto_server: str) -> str:
    """A ThreadedMotoServer on loopback, reset for this test."""
    from fixtures.moto_ext import faults
    from fixtures.server import reset

    reset(_moto_server)
    faults.clear()
    return _moto_server


ScanFn = Callable[..., ScanRun]


@pytest.fixture
def run_scan(aws: None) -> ScanFn:
    """Scan the moto world through the real session, gateway and runner; validate the document."""

    def _scan(
        checks: Iterable[str] = (),
        *,
        regions: Iterable[str] = ("us-east-1",),
        settings: dict[str, Any] | None = None,
        role_arn: str | None = None,
        external_id: str | None = None,
        workers: int = 4,
        max_attempts: int = 3,
    ) -> ScanRun:
        regions = tuple(regions)
        registry = load_checks()
        chosen = select_checks(registry, load_catalog(), check_ids=list(checks))
        connection = connect(
            ConnectOptions(
                role_arn=role_arn, external_id=external_id, home_region=regions[0], max_attempts=max_attempts
            )
        )
        run = scan(
            connection,
            chosen,
            load_catalog(),
            ScanOptions(
                regions=regions, home_region=regions[0], settings=settings or {}, workers=workers, partial=bool(checks)
            ),
        )
        validate(to_document(run))
        return run

    return _scan


def only(run: ScanRun, check_id: str, **match: Any) -> Finding:
    """The single finding of ``check_id`` (optionally matching resource_id/region); fails otherwise."""
    found = [f for f in run.findings if f.check_id == check_id and all(getattr(f, k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one {check_id} finding matching {match}, got {found}"
    return found[0]


def statuses(run: ScanRun, check_id: str) -> dict[tuple[str, str], Status]:
    return {(f.resource_id, f.region): f.status for f in run.findings if f.check_id == check_id}
