"""Scan a portfolio of accounts (an accounts file) concurrently, and record every run.

Each account is connected and scanned on its own thread (at most ``parallel`` at once, 4 by
default; each scan fans out over its own ``workers``). An account whose credentials or role
fail is reported as unreachable with the reason; the others still complete. Each document is
written to ``<out>/<label>.json`` (atomically) as soon as its scan ends, then stored in the
history, after the previous complete run of the same label has been read for the comparison
(:func:`record_run`): a run is never compared with itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.catalog import Catalog
from scanner.config import AccountConfig
from scanner.diff import ScanDiff, diff_documents
from scanner.document import dumps, to_document, validate, write_atomic
from scanner.history import HistoryError, RunSummary, Store
from scanner.models import CheckSpec
from scanner.runner import NoRegionToScan, ScanOptions, scan
from scanner.session import ConnectOptions, TargetUnreachable, connect

log = logging.getLogger(__name__)

DEFAULT_PARALLEL = 4


@dataclass(frozen=True)
class Recorded:
    """What storing a run gave: the previous complete run of the account and the diff to it."""

    stored: bool = False
    previous: RunSummary | None = None
    diff: ScanDiff | None = None
    error: str | None = None  # the store could not be used (the scan itself is fine)


def record_run(store: Store | None, doc: Mapping[str, Any]) -> Recorded:
    """Compare ``doc`` with the latest complete run of its label, then store it.

    An incomplete document is stored (and listed by ``history``) but not compared.
    """
    if store is None:
        return Recorded()
    label = doc["target"]["label"] or doc["target"]["account_id"]
    try:
        previous = store.latest(label)
        changes = None
        if previous is not None and doc.get("complete", True) and previous.scan_id != doc["scan_id"]:
            changes = diff_documents(store.document(previous.scan_id), doc)
        stored = store.save(doc)
    except HistoryError as exc:
        return Recorded(error=str(exc))
    return Recorded(stored=stored, previous=previous, diff=changes)


@dataclass(frozen=True)
class AccountResult:
    account: AccountConfig
    document: dict[str, Any] | None = None
    path: Path | None = None
    unreachable: str | None = None  # why the account could not be reached
    failure: str | None = None  # an unexpected error while scanning it (a defect: see the log)
    recorded: Recorded = Recorded()

    @property
    def scanned(self) -> bool:
        return self.document is not None


@dataclass(frozen=True)
class PortfolioOptions:
    out_dir: Path
    endpoint_url: str | None = None
    parallel: int = DEFAULT_PARALLEL
    workers: int = 8
    partial: bool = False  # a --checks/--controls selection
    settings: Mapping[str, Any] | None = None  # --set: over the accounts file's settings
    # (label, checks done, checks in all, what just finished): a terminal progress line
    progress: Callable[[str, int, int, str], None] | None = None


def scan_account(
    account: AccountConfig,
    checks: Mapping[str, CheckSpec],
    catalog: Catalog,
    options: PortfolioOptions,
    store: Store | None,
    stop: threading.Event | None = None,
) -> AccountResult:
    """Connect, scan, write ``<label>.json``, record. Never raises."""
    try:
        connection = connect(
            ConnectOptions(
                profile=account.profile,
                role_arn=account.role_arn,
                external_id=account.external_id,
                endpoint_url=options.endpoint_url,
                home_region=account.home_region,
                session_name=f"govscan-{account.label}"[:64],
                max_pool=options.workers * 4 + 8,
            )
        )
    except TargetUnreachable as exc:
        return unreachable(account, str(exc), store)
    except Exception as exc:  # a defect must not take the other accounts down
        log.exception("connecting to account %s failed", account.label)
        return AccountResult(account, failure=f"{type(exc).__name__}: {exc}")
    if account.account_id and connection.account_id != account.account_id:
        reason = f"assumed {account.role_arn} but the caller identity is account {connection.account_id}"
        return unreachable(account, reason, store)
    try:
        run = scan(
            connection,
            checks,
            catalog,
            ScanOptions(
                label=account.label,
                regions=account.regions,
                all_regions=account.all_regions,
                home_region=account.home_region,
                settings={**account.check_settings, **(options.settings or {})},
                workers=options.workers,
                partial=options.partial,
                stop=stop,
            ),
            progress=_progress_for(account.label, options.progress),
        )
        doc = to_document(run)
        validate(doc)
        path = options.out_dir / f"{account.label}.json"
        write_atomic(path, dumps(doc))
    except NoRegionToScan as exc:
        return unreachable(account, str(exc), store)
    except Exception as exc:
        log.exception("scanning account %s failed", account.label)
        return AccountResult(account, failure=f"{type(exc).__name__}: {exc}")
    return AccountResult(account, document=doc, path=path, recorded=record_run(store, doc))


def unreachable(account: AccountConfig, reason: str, store: Store | None) -> AccountResult:
    """An account not reached: noted in the history too, so a gap in its runs has a reason."""
    recorded = Recorded()
    if store is not None:
        try:
            store.record_unreachable(account.label, reason)
        except HistoryError as exc:
            recorded = Recorded(error=str(exc))
    return AccountResult(account, unreachable=reason, recorded=recorded)


def _progress_for(
    label: str, progress: Callable[[str, int, int, str], None] | None
) -> Callable[[int, int, str], None] | None:
    if progress is None:
        return None

    def report(done: int, total: int, what: str) -> None:
        progress(label, done, total, what)

    return report


class PortfolioInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a portfolio scan, after the scans under way were stopped.

    ``results`` holds, in the accounts' order, every account that ended: those stopped part-way
    were written and stored as incomplete runs. ``not_started`` lists the accounts never begun.
    """

    def __init__(self, results: list[AccountResult], not_started: list[str]) -> None:
        super().__init__("portfolio scan interrupted")
        self.results = results
        self.not_started = not_started


def scan_portfolio(
    accounts: Sequence[AccountConfig],
    checks: Mapping[str, CheckSpec],
    catalog: Catalog,
    options: PortfolioOptions,
    *,
    store: Store | None,
    on_result: Callable[[AccountResult], None] | None = None,
) -> list[AccountResult]:
    """Scan every account (bounded concurrency). ``on_result`` hears of each account as it ends;
    the results come back in the accounts' order.

    Interrupted (KeyboardInterrupt in the calling thread, which the CLI also raises on SIGTERM),
    it stops the scans under way at their next read, waits for them to write their documents
    (marked incomplete, so never taken as an account's latest run), skips the accounts not yet
    started, and raises :class:`PortfolioInterrupted`.
    """
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=max(1, options.parallel), thread_name_prefix="govscan-account")
    futures = {
        pool.submit(scan_account, account, checks, catalog, options, store, stop): i
        for i, account in enumerate(accounts)
    }
    results: dict[int, AccountResult] = {}
    try:
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if on_result is not None:
                on_result(results[futures[future]])
    except KeyboardInterrupt:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        for future, i in futures.items():
            if i not in results and future.done() and not future.cancelled():
                results[i] = future.result()
                if on_result is not None:
                    on_result(results[i])
        not_started = [accounts[i].label for i in range(len(accounts)) if i not in results]
        raise PortfolioInterrupted([results[i] for i in sorted(results)], not_started) from None
    pool.shutdown()
    return [results[i] for i in range(len(accounts))]
