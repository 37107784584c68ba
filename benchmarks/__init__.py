"""govscan's benchmark (``make bench``): scan cost against a large emulated account.

Not part of the test suite. ``python -m benchmarks.bench`` seeds a synthetic account on a
local moto server (loopback only, never AWS) at several sizes, scans it through the real
session, gateway and runner in a child process, and checks two properties on the recorded
calls: no read is made twice within a scan (each list/describe API once per region), and
the cost grows linearly with the account. See docs/performance.md.
"""
