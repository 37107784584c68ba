"""``make bench``: scan cost against a large emulated account at several sizes.

    python -m benchmarks.bench [--sizes 1,2,4] [--latency-ms 50] [--quick] [--markdown PATH]

Starts a moto server on loopback (never AWS), seeds the synthetic account of
:mod:`benchmarks.seed` at the smallest size, scans it once to warm the emulator up (moto
builds each service's routes and backends on first use; that time is not govscan's), then
for each size grows the account, scans it in a child process (:mod:`benchmarks.scan_once`)
and records wall time, call records, HTTP requests and peak RSS. At the smallest size it
and the largest also scans with and without a per-call latency injected on the server, with
one worker and with eight, to show how much of the latency concurrency hides.

It prints the tables and PASS/FAIL lines and exits 1 if a property fails:

- no read is recorded twice in a scan (same action, region and parameters), and no
  list/describe API is called more than once per region, whatever the parameters;
- calls grow linearly with the account, and scan time no faster than the account.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks import properties
from benchmarks.seed import REGIONS, Unit, resources, seed_units
from benchmarks.server import moto_server, offline_environment, reset

REPO = Path(__file__).resolve().parent.parent
SCAN_TIMEOUT_S = 600  # one scan; a hung scan fails the benchmark instead of stalling it
QUICK_FACTOR = 0.2


@dataclass
class ScanResult:
    label: str
    workers: int
    wall_s: float
    cpu_s: float
    server_cpu_s: float
    calls: list[dict[str, Any]]
    server_requests: int
    peak_rss_kib: int
    baseline_rss_kib: int
    findings: dict[str, int]
    errors: list[dict[str, str]]
    check_ids: list[str]

    @property
    def pages(self) -> int:
        return sum(int(c.get("pages") or 0) for c in self.calls)


@dataclass
class SizeResult:
    size: int
    resources: int
    seed_s: float
    scan: ScanResult
    kinds: Counter[str] = field(default_factory=Counter)


def run_scan(
    endpoint: str,
    *,
    label: str,
    workers: int = 8,
    check_ids: list[str] | None = None,
    latency_s: float = 0.0,
    regions: tuple[str, ...] = REGIONS,
) -> ScanResult:
    """One scan in a child process; the server-side request log counts what reached moto."""
    from fixtures.moto_ext import faults

    faults.clear()  # forgets the request log and any delay
    if latency_s:
        faults.delay("*", latency_s)
    command = [
        sys.executable,
        "-m",
        "benchmarks.scan_once",
        "--endpoint",
        endpoint,
        "--regions",
        ",".join(regions),
        "--workers",
        str(workers),
    ]
    if check_ids:
        command += ["--checks", ",".join(check_ids)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    server_cpu = time.process_time()  # the moto server is this process's threads
    try:
        done = subprocess.run(  # noqa: S603 (our own module, fixed arguments)
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=SCAN_TIMEOUT_S, check=False
        )
    finally:
        server_cpu = time.process_time() - server_cpu
        server_requests = len(faults.calls())
        faults.clear()
    if done.returncode != 0:
        raise RuntimeError(f"scan {label} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    summary = json.loads(done.stdout)
    return ScanResult(
        label=label,
        workers=workers,
        wall_s=float(summary["wall_s"]),
        cpu_s=float(summary["cpu_s"]),
        server_cpu_s=server_cpu,
        calls=summary["calls"],
        server_requests=server_requests,
        peak_rss_kib=int(summary["peak_rss_kib"]),
        baseline_rss_kib=int(summary["baseline_rss_kib"]),
        findings=summary["findings"],
        errors=summary["errors"],
        check_ids=summary["check_ids"],
    )


@dataclass
class LatencyResult:
    size: int
    workers: int
    base: ScanResult  # no latency injected
    slow: ScanResult  # latency_ms added to every request

    @property
    def cost_s(self) -> float:
        return self.slow.wall_s - self.base.wall_s


@dataclass
class Report:
    sizes: list[SizeResult]
    latency: list[LatencyResult]
    latency_ms: int
    unit: Unit
    started: datetime
    load_before: tuple[float, float, float]
    warmup: ScanResult | None = None
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    checks: list[tuple[bool, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def benchmark(sizes: list[int], latency_ms: int, unit: Unit, log: Any = print) -> Report:
    with moto_server() as endpoint:
        reset(endpoint)
        report = Report(
            sizes=[],
            latency=[],
            latency_ms=latency_ms,
            unit=unit,
            started=datetime.now(UTC),
            load_before=os.getloadavg(),
        )
        seeded = 0
        for size in sizes:
            started = time.monotonic()
            seed_units(endpoint, unit, range(seeded, size))
            seed_s = time.monotonic() - started
            seeded = size
            if report.warmup is None:
                log(f"seeded {size}x in {seed_s:.1f}s; warm-up scan (moto builds its routes on first use)...")
                report.warmup = run_scan(endpoint, label="warm-up")
            check_ids = report.warmup.check_ids
            log(f"scanning {size}x ({sum(resources(unit, size).values())} resources)...")
            scan = run_scan(endpoint, label=f"{size}x", check_ids=check_ids)
            report.sizes.append(
                SizeResult(size, sum(resources(unit, size).values()), seed_s, scan, resources(unit, size))
            )
            if latency_ms and size in (sizes[0], sizes[-1]):
                log(f"scanning {size}x with 1 worker...")
                sequential = run_scan(endpoint, label=f"{size}x", workers=1, check_ids=check_ids)
                for workers, base in ((1, sequential), (8, scan)):
                    log(f"scanning {size}x with {latency_ms} ms per call, {workers} worker(s)...")
                    slow = run_scan(
                        endpoint, label=f"{size}x", workers=workers, check_ids=check_ids, latency_s=latency_ms / 1000
                    )
                    report.latency.append(LatencyResult(size, workers, base, slow))
        report.load_after = os.getloadavg()
    evaluate(report)
    return report


def evaluate(report: Report) -> None:
    checks = report.checks
    for result in report.sizes:
        calls = result.scan.calls
        repeated = properties.repeated_reads(calls)
        checks.append(
            (
                not repeated,
                f"{result.size}x: no read recorded twice (same action, region, params)"
                + "".join(f"\n      {v.describe()}" for v in repeated),
            )
        )
        lists = properties.repeated_list_apis(calls)
        checks.append(
            (
                not lists,
                f"{result.size}x: each list/describe API called once per region"
                + "".join(f"\n      {v.describe()}" for v in lists),
            )
        )
        polled = [c for c in calls if c["action"] in properties.POLLED]
        if len(polled) > 1:
            report.notes.append(
                f"{result.size}x: {polled[0]['action']} polled {len(polled)} times until the report was ready "
                "(by design: each poll is one call)"
            )
        if result.scan.server_requests != result.scan.pages:
            report.notes.append(
                f"{result.size}x: moto received {result.scan.server_requests} requests for "
                f"{result.scan.pages} pages (the difference is retries)"
            )
    if report.sizes:
        assert report.warmup is not None
        res = [r.resources for r in report.sizes]
        linear = properties.calls_linear(res, [len(r.scan.calls) for r in report.sizes])
        checks.append((linear.ok, f"call records grow linearly: {linear.detail}"))
        pages = properties.calls_linear(res, [r.scan.pages for r in report.sizes], noun="HTTP requests")
        checks.append((pages.ok, f"HTTP requests grow linearly: {pages.detail}"))
        timing = properties.time_not_superlinear(res, [r.scan.wall_s for r in report.sizes])
        checks.append((timing.ok, f"scan time not super-linear: {timing.detail}"))
        ids = {tuple(r.scan.check_ids) for r in report.sizes}
        checks.append((len(ids) == 1, f"every size ran the same {len(report.warmup.check_ids)} checks"))
    for size in sorted({r.size for r in report.latency}):
        sequential, concurrent = (r for r in report.latency if r.size == size)
        hidden = 1 - concurrent.cost_s / sequential.cost_s if sequential.cost_s > 0 else 0.0
        checks.append(
            (
                concurrent.slow.wall_s < sequential.slow.wall_s,
                f"{size}x: concurrency hides latency: with {report.latency_ms} ms per call, "
                f"{concurrent.workers} workers are {sequential.slow.wall_s / concurrent.slow.wall_s:.1f}x faster "
                f"than 1 and pay {hidden:.0%} less of the latency ({concurrent.cost_s:.1f}s instead of "
                f"{sequential.cost_s:.1f}s)",
            )
        )


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f}"


def render(report: Report, command: str) -> str:
    lines: list[str] = []
    unit = report.unit
    lines += [
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, boto3 {version('boto3')}, "
        f"botocore {version('botocore')}, moto {version('moto')}; {report.started:%Y-%m-%d %H:%M} UTC; "
        f"load average {report.load_before[0]:.1f} before, {report.load_after[0]:.1f} after.",
        "",
        f"Command: `{command}`",
        "",
        f"One size unit, over {len(REGIONS)} regions ({', '.join(REGIONS)}): "
        + ", ".join(f"{n} {kind}" for kind, n in resources(unit, 1).items())
        + f" ({unit.policies_per_principal} policies attached to each role and user).",
        "",
        f"{len(report.sizes[0].scan.check_ids) if report.sizes else 0} checks, every registered one "
        "(load_checks()), "
        f"{report.sizes[0].scan.workers if report.sizes else 8} workers.",
        "",
        "| size | resources | seeding s | scan wall s | scanner CPU s | moto CPU s | call records "
        "| HTTP requests (pages) | moto received | calls / resource | peak RSS MiB (at start) | findings |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report.sizes:
        s = r.scan
        findings = ", ".join(f"{n} {k}" for k, n in sorted(s.findings.items()))
        lines.append(
            f"| {r.size}x | {r.resources} | {r.seed_s:.1f} | {s.wall_s:.2f} | {s.cpu_s:.2f} | {s.server_cpu_s:.2f} "
            f"| {len(s.calls)} | {s.pages} | {s.server_requests} | {len(s.calls) / r.resources:.3f} "
            f"| {_mib(s.peak_rss_kib)} ({_mib(s.baseline_rss_kib)}) | {findings} |"
        )
    if report.sizes:
        res = [r.resources for r in report.sizes]
        slopes = properties.marginal_costs(res, [len(r.scan.calls) for r in report.sizes])
        times = properties.marginal_costs(res, [1000 * r.scan.wall_s for r in report.sizes])
        lines += [
            "",
            "Marginal cost per added resource between consecutive sizes: "
            + ", ".join(f"{c:.3f} calls / {t:.2f} ms" for c, t in zip(slopes, times, strict=True))
            + ".",
        ]
    if report.latency:
        lines += [
            "",
            f"Latency: the server adds {report.latency_ms} ms to every request (real AWS answers in tens of ms).",
            "",
            "| size | workers | scan wall s, no latency | with latency | latency cost s | call records "
            "| speed-up over 1 worker | longest check (its calls' time, with latency) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for run in report.latency:
            sequential = next(x for x in report.latency if x.size == run.size and x.workers == 1)
            check_id, seconds, count = properties.slowest_checks(run.slow.calls)[0]
            lines.append(
                f"| {run.size}x | {run.workers} | {run.base.wall_s:.2f} | {run.slow.wall_s:.2f} | {run.cost_s:.2f} "
                f"| {len(run.slow.calls)} | {sequential.slow.wall_s / run.slow.wall_s:.1f}x "
                f"| {check_id}: {count} calls, {seconds:.1f}s |"
            )
    if report.sizes:
        lines += ["", *_dominant_calls(report)]
    return "\n".join(lines)


def _dominant_calls(report: Report) -> list[str]:
    """Per-resource operations at each size, and where the largest scan spent its call time."""
    lines = [
        "Operations with a required parameter, calls per size: those that grow are per-resource reads "
        "(a bucket, a key, a table); the others take an account id, a contact type or a scope:",
        "",
        "| operation | " + " | ".join(f"{r.size}x" for r in report.sizes) + " | grows | called by |",
        "|---|" + "---|" * len(report.sizes) + "---|---|",
    ]
    counts = [properties.per_resource_calls(r.scan.calls) for r in report.sizes]
    largest = report.sizes[-1].scan.calls
    for action in counts[-1]:
        row = " | ".join(str(c.get(action, 0)) for c in counts)
        grows = "yes" if counts[-1][action] > counts[0].get(action, 0) else "no"
        lines.append(f"| {action} | {row} | {grows} | {', '.join(properties.callers(largest, action)) or '-'} |")
    spent: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for call in largest:
        spent[call["action"]][0] += 1
        spent[call["action"]][1] += int(call.get("duration_ms") or 0)
    total = sum(ms for _, ms in spent.values()) or 1
    lines += [
        "",
        f"Where the {report.sizes[-1].size}x scan's call time went (sum of call durations, calls overlap):",
        "",
        "| operation | calls | call time s | share |",
        "|---|---|---|---|",
    ]
    for action, (n, ms) in sorted(spent.items(), key=lambda item: -item[1][1])[:10]:
        lines.append(f"| {action} | {n} | {ms / 1000:.2f} | {ms / total:.0%} |")
    paged: Counter[str] = Counter()
    for call in largest:
        if int(call.get("pages") or 0) > 1:
            paged[call["action"]] += int(call["pages"])
    lines += [
        "",
        "Calls answered in several pages at that size: "
        + (", ".join(f"{action} ({pages} pages)" for action, pages in sorted(paged.items())) or "none")
        + ". moto ignores most page-size defaults; AWS pages more (docs/performance.md, 'HTTP requests').",
    ]
    return lines


def render_checks(report: Report) -> str:
    lines = [f"{'PASS' if ok else 'FAIL'} {text}" for ok, text in report.checks]
    lines += [f"NOTE {note}" for note in report.notes]
    errors = {(e["check_id"], e["message"]) for r in report.sizes for e in r.scan.errors}
    lines += [f"ERROR finding: {check_id}: {message}" for check_id, message in sorted(errors)]
    if not errors:
        lines.append("NOTE no ERROR findings: every check evaluated on the emulator")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,2,4", help="account sizes in units, ascending (default 1,2,4)")
    parser.add_argument("--latency-ms", type=int, default=50, help="per-call latency for the concurrency run (0: skip)")
    parser.add_argument("--quick", action="store_true", help=f"a unit {QUICK_FACTOR * 100:.0f}%% of the normal size")
    parser.add_argument("--markdown", type=Path, help="also write the tables and results to this file")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes takes integers, e.g. 1,2,4")
    if sorted(set(sizes)) != sizes or sizes[0] < 1:
        parser.error("--sizes must be distinct positive integers in ascending order")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    offline_environment()
    unit = Unit().scaled(QUICK_FACTOR) if args.quick else Unit()
    command = "python -m benchmarks.bench " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.monotonic()
    report = benchmark(sizes, args.latency_ms, unit, log=lambda text: print(text, file=sys.stderr, flush=True))
    tables = render(report, command.strip())
    results = render_checks(report)
    print(tables)
    print()
    print(results)
    print(f"\n(benchmark took {time.monotonic() - started:.0f}s)")
    if args.markdown:
        args.markdown.write_text(f"{tables}\n\n```\n{results}\n```\n", encoding="utf-8")
    return 0 if all(ok for ok, _ in report.checks) else 1


if __name__ == "__main__":
    sys.exit(main())
