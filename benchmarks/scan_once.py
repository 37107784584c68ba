"""One scan of the benchmark account, in its own process; prints a JSON summary on stdout.

``python -m benchmarks.scan_once --endpoint URL --regions a,b,c [--workers N]``. Runs every
registered check (``load_checks()``) through the real path: ``scanner.session.connect`` with
the endpoint, then ``scanner.runner.scan``. Its own process so that its peak RSS is the
scanner's alone (the moto server lives in the parent). Only loopback endpoints are accepted:
the benchmark never talks to AWS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlparse

from benchmarks.server import offline_environment

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def peak_rss_kib() -> int:
    """This process's peak resident set, in KiB: the scanner's alone.

    Not ``ru_maxrss``: Linux carries the parent's high-water mark over fork and exec into it
    (``exec_mmap`` saves the old image's peak in the signal struct), so a child of the
    benchmark, whose moto server holds hundreds of MiB, would report the parent's size.
    ``VmHWM`` in /proc/self/status belongs to the memory map exec created.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS


def scan_summary(
    endpoint: str, regions: tuple[str, ...], workers: int, check_ids: tuple[str, ...] = ()
) -> dict[str, Any]:
    from scanner.catalog import load_catalog
    from scanner.registry import load_checks
    from scanner.runner import ScanOptions, scan, select_checks
    from scanner.session import ConnectOptions, connect

    catalog = load_catalog()
    # Other engineers add check modules while benchmarks run: every scan of one benchmark
    # runs the check set the first scan found (``check_ids``), so sizes stay comparable.
    checks = select_checks(load_checks(), catalog, check_ids=check_ids)
    baseline_kib = peak_rss_kib()
    cpu_started = time.process_time()
    started = time.monotonic()
    connection = connect(ConnectOptions(endpoint_url=endpoint, home_region=regions[0]))
    run = scan(
        connection,
        checks,
        catalog,
        ScanOptions(regions=regions, home_region=regions[0], workers=workers, partial=bool(check_ids)),
    )
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    callers: dict[str, set[str]] = {}
    for finding in run.findings:
        for call_id in finding.calls:
            callers.setdefault(call_id, set()).add(finding.check_id)
    return {
        "wall_s": wall,
        "cpu_s": cpu,  # the scanner's own CPU time (every thread) during the scan
        "workers": workers,
        "regions": list(run.target.regions),
        "check_ids": sorted(checks),
        "findings": dict(Counter(f.status.value for f in run.findings)),
        "errors": [
            {"check_id": f.check_id, "region": f.region, "resource_id": f.resource_id, "message": f.message}
            for f in run.findings
            if f.status.value == "ERROR"
        ],
        "calls": [
            {
                "id": c.id,
                "action": c.action,
                "region": c.region,
                "params": c.params,
                "pages": c.pages,
                "outcome": c.outcome.value,
                "error_code": c.error_code,
                "duration_ms": c.duration_ms,
                # the checks whose findings cite the call (empty for the runner's own calls)
                "checks": sorted(callers.get(c.id, ())),
            }
            for c in run.calls
        ],
        "peak_rss_kib": peak_rss_kib(),
        "baseline_rss_kib": baseline_kib,  # after imports and load_checks(), before the scan
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scan_once")
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--regions", required=True)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--checks", default="", help="comma-separated check ids (default: every registered check)")
    args = parser.parse_args(argv)
    if urlparse(args.endpoint).hostname not in LOOPBACK:
        parser.error("the benchmark scans a local emulator only (a loopback --endpoint)")
    offline_environment(args.endpoint)
    check_ids = tuple(c for c in args.checks.split(",") if c)
    summary = scan_summary(args.endpoint, tuple(args.regions.split(",")), args.workers, check_ids)
    json.dump(summary, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
