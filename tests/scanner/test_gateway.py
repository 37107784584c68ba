"""The gateway: read-only by construction, cached per scan across threads, every call recorded."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from scanner import __version__
from scanner.gateway import (
    CallFailed,
    CallLog,
    ClientFactory,
    Gateway,
    ReadOnlyViolation,
    ScanStopped,
    botocore_config,
)
from scanner.models import CallOutcome
from scanner.permissions import is_read_only


def make_gateway() -> tuple[Gateway, list[str]]:
    """A gateway whose every outgoing HTTP request is counted (before-send fires per request)."""
    session = boto3.Session(region_name="us-east-1")
    sent: list[str] = []
    session._session.register("before-send", lambda request, **_: sent.append(f"{request.method} {request.url}"))
    clients = ClientFactory(session, botocore_config(__version__, endpoint_url=None), None)
    return Gateway(clients, CallLog()), sent


@pytest.mark.parametrize(
    ("service", "operation"),
    [
        ("ec2", "RunInstances"),
        ("ec2", "AuthorizeSecurityGroupIngress"),
        ("s3", "DeleteBucket"),
        ("s3", "PutBucketPolicy"),
        ("iam", "CreateUser"),
        ("iam", "AttachRolePolicy"),
        ("cloudtrail", "StopLogging"),
        ("cloudformation", "DetectStackDrift"),
        ("secretsmanager", "GetSecretValue"),
        ("s3", "GetObject"),
        ("ssm", "GetParameter"),
    ],
)
def test_refuses_non_reads_before_anything_is_sent(aws: None, service: str, operation: str) -> None:
    gateway, sent = make_gateway()
    with pytest.raises(ReadOnlyViolation) as raised:
        gateway.read(service, operation, "us-east-1", {})
    assert sent == []
    assert gateway.clients._clients == {}, "not even a client was created"
    (call,) = gateway.calls.snapshot()
    assert call.outcome is CallOutcome.REFUSED
    assert call.action == f"{service}:{operation}"
    assert raised.value.call is call


def test_refused_mutation_leaves_the_world_unchanged(aws: None) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    sg = ec2.create_security_group(GroupName="probe", Description="probe", VpcId=vpc)["GroupId"]
    gateway, sent = make_gateway()
    with pytest.raises(ReadOnlyViolation):
        gateway.read(
            "ec2",
            "AuthorizeSecurityGroupIngress",
            "us-east-1",
            {"GroupId": sg, "IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]},
        )
    assert sent == []
    group = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]
    assert group["IpPermissions"] == []


@pytest.mark.parametrize(
    ("service", "operation", "expected"),
    [
        ("ec2", "DescribeSecurityGroups", True),
        ("iam", "GetAccountAuthorizationDetails", True),
        ("iam", "GenerateCredentialReport", True),
        ("sts", "AssumeRole", True),
        ("cloudtrail", "LookupEvents", True),
        ("dynamodb", "BatchGetItem", True),
        ("iam", "UpdateAccountPasswordPolicy", False),
        ("ec2", "CreateTags", False),
        ("secretsmanager", "GetSecretValue", False),
        ("s3", "GetObject", False),
    ],
)
def test_read_only_allow_list(service: str, operation: str, expected: bool) -> None:
    assert is_read_only(service, operation) is expected


def test_same_read_from_many_threads_goes_out_once(aws: None) -> None:
    gateway, sent = make_gateway()
    barrier = threading.Barrier(10)

    def read() -> str:
        barrier.wait()
        call, response = gateway.read("ec2", "DescribeSecurityGroups", "us-east-1", {})
        assert response is not None and response["SecurityGroups"]
        return call.id

    with ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(lambda _: read(), range(10)))
    assert len(set(ids)) == 1
    assert len(sent) == 1
    assert len(gateway.calls.snapshot()) == 1


def test_different_regions_and_params_are_different_calls(aws: None) -> None:
    gateway, sent = make_gateway()
    gateway.read("ec2", "DescribeVpcs", "us-east-1", {})
    gateway.read("ec2", "DescribeVpcs", "eu-west-1", {})
    gateway.read("ec2", "DescribeVpcs", "us-east-1", {"Filters": [{"Name": "isDefault", "Values": ["true"]}]})
    gateway.read("ec2", "DescribeVpcs", "us-east-1", {})
    assert len(sent) == 3
    assert [c.region for c in gateway.calls.snapshot()] == ["us-east-1", "eu-west-1", "us-east-1"]


def test_pagination_merges_every_page(aws: None) -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    for n in range(120):
        logs.create_log_group(logGroupName=f"/app/group-{n:03d}")
    gateway, sent = make_gateway()
    call, response = gateway.read("logs", "DescribeLogGroups", "us-east-1", {"PaginationConfig": {"PageSize": 50}})
    assert response is not None
    assert len(response["logGroups"]) == 120
    assert call.pages == 3 and len(sent) == 3
    assert "nextToken" not in response


def test_absent_is_data_not_failure(aws: None) -> None:
    gateway, _ = make_gateway()
    call, response = gateway.read("iam", "GetAccountPasswordPolicy", "us-east-1", {}, absent=("NoSuchEntity",))
    assert response is None
    assert call.outcome is CallOutcome.ABSENT and call.error_code == "NoSuchEntity"


def test_unexpected_error_is_a_failure_naming_the_call(aws: None) -> None:
    gateway, _ = make_gateway()
    with pytest.raises(CallFailed) as raised:
        gateway.read("iam", "GetAccountPasswordPolicy", "us-east-1", {})  # NoSuchEntity not declared absent
    call = raised.value.call
    assert call.action == "iam:GetAccountPasswordPolicy"
    assert call.outcome is CallOutcome.FAILED and call.error_code == "NoSuchEntity"
    # the failure is cached: a second asker gets the same recorded call, nothing is re-sent
    with pytest.raises(CallFailed) as again:
        gateway.read("iam", "GetAccountPasswordPolicy", "us-east-1", {})
    assert again.value.call is call


def test_denied_call_is_classified_denied(aws: None) -> None:
    from fixtures.moto_ext import faults

    faults.deny("ec2:DescribeSecurityGroups")
    gateway, _ = make_gateway()
    with pytest.raises(CallFailed) as raised:
        gateway.read("ec2", "DescribeSecurityGroups", "us-east-1", {})
    assert raised.value.call.outcome is CallOutcome.DENIED
    assert raised.value.error_code == "UnauthorizedOperation"


def test_secret_looking_params_are_redacted_in_the_record(aws: None) -> None:
    gateway, _ = make_gateway()
    gateway.read("iam", "ListUsers", "us-east-1", {})
    with pytest.raises(ReadOnlyViolation):
        gateway.read("iam", "CreateLoginProfile", "us-east-1", {"UserName": "u", "Password": "hunter2"})
    recorded = gateway.calls.snapshot()[-1]
    assert recorded.params == {"UserName": "u", "Password": "<redacted>"}


def test_unparsable_answer_is_a_failed_call_for_every_asker(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """An HTML error page (a proxy, an emulator crash) is a FAILED call naming it, never data."""
    import botocore.parsers

    gateway, _ = make_gateway()

    def broken(self, response, shape):  # type: ignore[no-untyped-def]
        raise botocore.parsers.ResponseParserError("Unable to parse response: <html>500</html>")

    monkeypatch.setattr(botocore.parsers.QueryParser, "_do_parse", broken)
    barrier = threading.Barrier(4)

    def ask() -> CallFailed:
        barrier.wait()
        with pytest.raises(CallFailed) as raised:
            gateway.read("ec2", "DescribeVpcs", "us-east-1", {})
        return raised.value

    with ThreadPoolExecutor(4) as pool:
        failures = list(pool.map(lambda _: ask(), range(4)))
    assert {f.call.id for f in failures} == {failures[0].call.id}
    assert failures[0].call.outcome is CallOutcome.FAILED
    assert failures[0].error_code == "ResponseParserError"


def test_stopped_gateway_sends_nothing_more(aws: None) -> None:
    gateway, sent = make_gateway()
    gateway.read("ec2", "DescribeVpcs", "us-east-1", {})
    gateway.stop()
    with pytest.raises(ScanStopped, match="ec2:DescribeSecurityGroups was not sent"):
        gateway.read("ec2", "DescribeSecurityGroups", "us-east-1", {})
    assert len(sent) == 1 and len(gateway.calls.snapshot()) == 1
    assert not issubclass(ScanStopped, Exception)  # no check's `except Exception` can turn it into a finding
