"""The benchmark's machinery (benchmarks/, `make bench`): its properties, and one tiny run.

The tiny run seeds a few resources of each kind on the test moto server, scans them with
every registered check through the benchmark's child process, and asserts the property the
benchmark is for: within one scan no read is made twice, and each list/describe API is
called once per region whatever the number of checks that use it.
"""

from __future__ import annotations

import pytest

from benchmarks import properties
from benchmarks.bench import run_scan
from benchmarks.scan_once import main as scan_once_main
from benchmarks.seed import REGIONS, Unit, resources, seed_units


def call(action: str, region: str = "us-east-1", checks: tuple[str, ...] = ("a_check",), **params: object) -> dict:
    return {"action": action, "region": region, "params": params, "pages": 1, "checks": list(checks)}


def test_a_list_api_read_with_two_parameter_sets_is_reported_with_its_checks():
    calls = [
        call("cloudtrail:DescribeTrails", checks=("trail_a", "trail_b"), includeShadowTrails=True),
        call("cloudtrail:DescribeTrails", checks=("trail_kms",), includeShadowTrails=False),
        call("cloudtrail:DescribeTrails", region="eu-west-1", includeShadowTrails=False),
    ]
    [violation] = properties.repeated_list_apis(calls)
    assert (violation.action, violation.region, violation.count) == ("cloudtrail:DescribeTrails", "us-east-1", 2)
    assert violation.uses == (
        ('{"includeShadowTrails":false}', ("trail_kms",)),
        ('{"includeShadowTrails":true}', ("trail_a", "trail_b")),
    )
    assert properties.repeated_reads(calls) == []


def test_identical_reads_are_reported_and_polls_and_per_resource_reads_are_not():
    calls = [
        call("ec2:DescribeSecurityGroups"),
        call("ec2:DescribeSecurityGroups", checks=("other_check",)),
        call("iam:GenerateCredentialReport"),
        call("iam:GenerateCredentialReport"),
        call("s3:GetBucketPolicy", Bucket="one"),
        call("s3:GetBucketPolicy", Bucket="two"),
    ]
    [repeated] = properties.repeated_reads(calls)
    assert (repeated.action, repeated.count, repeated.checks) == ("ec2:DescribeSecurityGroups", 2,
                                                                  ("a_check", "other_check"))
    assert [v.action for v in properties.repeated_list_apis(calls)] == ["ec2:DescribeSecurityGroups"]
    assert properties.per_resource_calls(calls) == {"s3:GetBucketPolicy": 2}


def test_linearity_is_judged_on_the_marginal_cost():
    # 100 fixed list calls + 0.5 call per resource: linear, although calls per resource falls.
    assert properties.calls_linear([1000, 2000, 4000], [600, 1100, 2100]).ok
    # Quadratic growth: each added resource costs more than the last.
    assert not properties.calls_linear([1000, 2000, 4000], [600, 2100, 8100]).ok
    assert properties.time_not_superlinear([1000, 2000, 4000], [5.0, 8.0, 15.0]).ok
    assert not properties.time_not_superlinear([1000, 2000, 4000], [5.0, 8.0, 30.0]).ok


def test_the_scan_child_refuses_anything_but_a_loopback_endpoint():
    with pytest.raises(SystemExit) as exit_info:
        scan_once_main(["--endpoint", "https://ec2.us-east-1.amazonaws.com", "--regions", "us-east-1"])
    assert exit_info.value.code == 2


@pytest.mark.slow
def test_a_tiny_benchmark_scan_reads_each_list_once_per_region(moto_endpoint: str):
    unit = Unit().scaled(0.05)
    seed_units(moto_endpoint, unit, range(1))
    scan = run_scan(moto_endpoint, label="smoke")

    assert scan.check_ids, "no check registered"
    assert {c["region"] for c in scan.calls} >= set(REGIONS)
    assert scan.findings.get("PASS", 0) + scan.findings.get("FAIL", 0) > 0
    assert scan.server_requests == scan.pages, "moto saw retries or requests the gateway did not record"
    assert [v.describe() for v in properties.repeated_reads(scan.calls)] == []
    assert [v.describe() for v in properties.repeated_list_apis(scan.calls)] == []
    per_bucket = properties.per_resource_calls(scan.calls).get("s3:GetBucketPolicy")
    assert per_bucket in (None, resources(unit, 1)["S3 buckets"])
