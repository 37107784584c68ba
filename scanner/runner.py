"""Select checks, fan out over regions and threads, and turn every failure into an ERROR finding.

Global checks run once per account (in the home region), regional checks once per scanned
region. A denied, throttled-out or failed call, or a crashing check, becomes an ERROR finding
naming the call and the error code; the findings the check produced before that are kept.
A check that produces nothing at all is itself reported as an ERROR: no check is ever
silently skipped.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scanner import __version__
from scanner.catalog import Catalog
from scanner.context import CheckContext
from scanner.gateway import CallFailed, ScanStopped, utc_now
from scanner.models import CheckSpec, Finding, RegionSkip, ScanRun, Scope, Status, Target
from scanner.rollup import roll_up
from scanner.session import Connection

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]


class SelectionError(ValueError):
    """An unknown check or control id was asked for."""


class NoRegionToScan(ValueError):
    """None of the requested regions can be scanned in this account (each skip says why)."""

    def __init__(self, account_id: str, skipped: tuple[RegionSkip, ...]) -> None:
        reasons = "; ".join(f"{skip.region}: {skip.reason}" for skip in skipped)
        super().__init__(
            f"no region to scan in account {account_id} ({reasons}); "
            "enable the region in the account, or choose others with --regions / regions ="
        )
        self.skipped = skipped


@dataclass(frozen=True)
class ScanOptions:
    label: str = ""
    regions: tuple[str, ...] = ()
    all_regions: bool = False
    home_region: str = "us-east-1"
    settings: Mapping[str, Any] = field(default_factory=dict)
    workers: int = 8
    partial: bool = False  # a --checks/--controls selection: roll up only what was scanned
    # Set from outside (an interrupted portfolio) to stop the scan: checks under way end at their
    # next read and the run is marked incomplete, exactly as on Ctrl-C in the scanning thread.
    stop: threading.Event | None = field(default=None, compare=False)


def select_checks(
    registry: Mapping[str, CheckSpec],
    catalog: Catalog,
    *,
    check_ids: Iterable[str] = (),
    control_ids: Iterable[str] = (),
) -> dict[str, CheckSpec]:
    """The checks to run: all, or those named, or those evidencing the named controls."""
    check_ids = [c.strip() for c in check_ids if c.strip()]
    control_ids = [c.strip().upper() for c in control_ids if c.strip()]
    if not check_ids and not control_ids:
        return dict(registry)
    unknown = [c for c in check_ids if c not in registry]
    if unknown:
        raise SelectionError(f"unknown check id(s): {', '.join(unknown)} (see `govscan checks`)")
    known_controls = {c.id for c in catalog.controls}
    bad = [c for c in control_ids if c not in known_controls]
    if bad:
        raise SelectionError(f"unknown control id(s): {', '.join(bad)} (see `govscan controls`)")
    chosen = {c: registry[c] for c in check_ids}
    for spec in registry.values():
        if any(criterion.split(".")[0] in control_ids for criterion in spec.criteria):
            chosen[spec.id] = spec
    return dict(sorted(chosen.items()))


def resolve_regions(connection: Connection, options: ScanOptions) -> tuple[tuple[str, ...], tuple[RegionSkip, ...]]:
    """Regions to scan and the ones skipped (with why): opt-in regions not enabled are skipped."""
    requested = options.regions or (options.home_region,)
    try:
        _, answer = connection.gateway.read("ec2", "DescribeRegions", options.home_region, {"AllRegions": True})
    except CallFailed as exc:
        if options.all_regions:
            return (options.home_region,), (
                RegionSkip(
                    "*", f"--all-regions needs ec2:DescribeRegions ({exc.error_code}); scanned the home region only"
                ),
            )
        return tuple(requested), ()
    status = {r["RegionName"]: r.get("OptInStatus", "opt-in-not-required") for r in (answer or {}).get("Regions", [])}
    enabled = sorted(r for r, s in status.items() if s in ("opt-in-not-required", "opted-in"))
    if options.all_regions:
        skipped = tuple(
            RegionSkip(r, f"opt-in region not enabled ({s})") for r, s in sorted(status.items()) if r not in enabled
        )
        return tuple(enabled), skipped
    regions: list[str] = []
    skips: list[RegionSkip] = []
    for region in requested:
        if region not in status:
            skips.append(RegionSkip(region, "not a region of this partition (ec2:DescribeRegions does not list it)"))
        elif region not in enabled:
            skips.append(RegionSkip(region, f"opt-in region not enabled in this account ({status[region]})"))
        else:
            regions.append(region)
    return tuple(regions), tuple(skips)


def run_check(spec: CheckSpec, ctx: CheckContext) -> list[Finding]:
    """Evaluate one check in one context; never raises."""
    findings: list[Finding] = []
    try:
        for finding in spec.func(ctx):
            findings.append(finding)
    except CallFailed as failure:
        findings.append(ctx.error(failure))
    except Exception as exc:  # a crashing check is an ERROR for that check only
        # The ERROR finding carries the exception; the traceback is for whoever fixes the check (-vv).
        log.warning("check %s crashed in %s: %s: %s", spec.id, ctx.region, type(exc).__name__, exc)
        log.debug("traceback of the crash of %s in %s", spec.id, ctx.region, exc_info=True)
        findings.append(
            ctx.finding(
                Status.ERROR,
                message=f"Could not evaluate: the check crashed ({type(exc).__name__}: {exc}).",
                evidence={"exception": type(exc).__name__, "detail": str(exc)[:500]},
            )
        )
    if not findings:
        findings.append(
            ctx.finding(
                Status.ERROR,
                message="Could not evaluate: the check produced no finding (a defect in the check).",
                evidence={},
            )
        )
    return findings


def scan(
    connection: Connection,
    checks: Mapping[str, CheckSpec],
    catalog: Catalog,
    options: ScanOptions,
    *,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
) -> ScanRun:
    started = utc_now()
    if options.stop is not None and options.stop.is_set():
        connection.gateway.stop()
    try:
        regions, skipped = resolve_regions(connection, options)
    except (KeyboardInterrupt, ScanStopped):  # interrupted before any check ran: an empty, incomplete run
        regions, skipped, checks = options.regions or (options.home_region,), (), {}
        log.warning("scan interrupted while resolving regions: the document is marked incomplete")
        interrupted_early = True
    else:
        interrupted_early = False
    if not regions:
        raise NoRegionToScan(connection.account_id, skipped)
    # Account-wide checks run in the home region; if that one was skipped, in the first scanned one.
    home_region = options.home_region if options.home_region in regions else regions[0]
    tasks: list[tuple[CheckSpec, str]] = []
    for spec in checks.values():
        if spec.scope is Scope.GLOBAL:
            tasks.append((spec, home_region))
        else:
            tasks.extend((spec, region) for region in regions)
    findings: list[Finding] = []
    complete = not interrupted_early

    def task(spec: CheckSpec, region: str) -> list[Finding]:
        ctx = CheckContext(
            spec,
            connection.gateway,
            account_id=connection.account_id,
            partition=connection.partition,
            region=region,
            home_region=home_region,
            regions=regions,
            settings=options.settings,
            now=now,
        )
        return run_check(spec, ctx)

    pool = ThreadPoolExecutor(max_workers=max(1, options.workers), thread_name_prefix="govscan")
    try:
        futures: dict[Future[list[Finding]], tuple[str, str]] = {
            pool.submit(task, spec, region): (spec.id, region) for spec, region in tasks
        }
        pending, done = set(futures), 0
        while pending:
            if options.stop is not None and options.stop.is_set():
                raise ScanStopped("the scan was stopped")
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            stopped: BaseException | None = None
            for future in finished:
                try:
                    result = future.result()
                except (KeyboardInterrupt, ScanStopped) as exc:  # keep what the other finished checks found
                    stopped = exc
                    continue
                findings.extend(result)
                done += 1
                if progress:
                    check_id, region = futures[future]
                    progress(done, len(tasks), f"{len(connection.gateway.calls)} calls · {check_id} {region}")
            if stopped is not None:
                raise stopped
    except (KeyboardInterrupt, ScanStopped):
        complete = False
        # Checks under way end at their next read instead of running on after the document is written.
        connection.gateway.stop()
        pool.shutdown(wait=False, cancel_futures=True)
        log.warning("scan interrupted: the document is marked incomplete")
    finally:
        pool.shutdown(wait=complete)
    findings.sort(key=lambda f: (f.check_id, f.region, f.resource_id, f.status.value))
    target = Target(
        label=options.label or connection.account_id,
        account_id=connection.account_id,
        partition=connection.partition,
        principal_arn=connection.principal_arn,
        role_arn=connection.role_arn,
        regions=regions,
    )
    return ScanRun(
        scan_id=f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{connection.account_id}-{uuid.uuid4().hex[:8]}",
        started_at=started,
        finished_at=utc_now(),
        target=target,
        findings=tuple(findings),
        controls=roll_up(catalog, findings, checks, partial=options.partial),
        calls=connection.gateway.calls.snapshot(),
        scanner_version=__version__,
        catalog_id=catalog.id,
        catalog_version=catalog.version,
        complete=complete,
        skipped_regions=skipped,
        options={"regions": list(regions), "checks": sorted(checks), "settings": dict(options.settings)},
    )
