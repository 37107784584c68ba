"""ELB checks (NETSEC-002.1, DOC-001.2) over elbv2 and Classic: PASS, FAIL, ERROR, NOT_APPLICABLE."""

from __future__ import annotations

from typing import Any

import pytest

from checks.elb import redirects_to_https
from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import elb as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, only, statuses

REGIONS = ["us-east-1", "eu-west-1"]


# --- elb_tls_listeners --------------------------------------------------------------------------

def test_tls_listeners_judged_per_internet_facing_lb(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    secure, _ = worlds.alb(world, "shop", region="us-east-1", http="redirect")
    tls_nlb = worlds.nlb(world, "api", region="us-east-1", protocol="TLS")
    ssl_clb = worlds.classic(world, "old-secure", region="us-east-1", protocols=("HTTPS", "SSL"))
    worlds.alb(world, "admin", region="us-east-1", scheme="internal", https=False, http="forward")
    leaky, listeners = worlds.alb(world, "shop", region="eu-west-1", http="redirect+forward-rule")
    tcp_nlb = worlds.nlb(world, "api", region="eu-west-1", protocol="TCP")
    http_clb = worlds.classic(world, "old-web", region="eu-west-1", protocols=("HTTP", "HTTPS"))
    run = run_scan(["elb_tls_listeners"], regions=REGIONS)
    assert statuses(run, "elb_tls_listeners") == {
        (secure, "us-east-1"): Status.PASS,
        (tls_nlb, "us-east-1"): Status.PASS,
        (ssl_clb, "us-east-1"): Status.PASS,
        (leaky, "eu-west-1"): Status.FAIL,
        (tcp_nlb, "eu-west-1"): Status.FAIL,
        (http_clb, "eu-west-1"): Status.FAIL,
    }  # the internal ALB is not a finding
    passed = only(run, "elb_tls_listeners", resource_id=secure)
    assert "HTTP:80 only redirect to HTTPS" in passed.message
    by_protocol = {f["protocol"]: f for f in passed.evidence["listeners"]}
    assert by_protocol["HTTPS"]["encrypted"] is True
    assert by_protocol["HTTPS"]["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert by_protocol["HTTP"]["redirects_to_https"] is True
    leaky_f = only(run, "elb_tls_listeners", resource_id=leaky)
    assert leaky_f.message.endswith("serves unencrypted listeners: HTTP:80.")
    http = next(f for f in leaky_f.evidence["listeners"] if f["protocol"] == "HTTP")
    assert http["listener"] == listeners["HTTP:80"]
    assert [r["actions"] for r in http["plaintext_rules"]] == [["forward"]]
    assert "TCP:443" in only(run, "elb_tls_listeners", resource_id=tcp_nlb).message
    clb = only(run, "elb_tls_listeners", resource_id=http_clb)
    assert clb.resource_type == "AWS::ElasticLoadBalancing::LoadBalancer" and "HTTP:80" in clb.message
    assert "HTTPS:443" not in clb.message


def test_plain_http_forwarding_alb_fails(run_scan) -> None:  # type: ignore[no-untyped-def]
    arn, _ = worlds.alb(World(), "web", https=False, http="forward")
    f = only(run_scan(["elb_tls_listeners"]), "elb_tls_listeners")
    assert f.status is Status.FAIL and f.resource_id == arn
    assert f.evidence["listeners"][0]["redirects_to_https"] is False


def test_http_fixed_response_and_same_protocol_redirect_fail(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    fixed, _ = worlds.alb(world, "maintenance", http="fixed-response")
    same, _ = worlds.alb(world, "loop", http="redirect-same-protocol")
    run = run_scan(["elb_tls_listeners"])
    for arn, action in ((fixed, "fixed-response"), (same, "redirect")):
        f = only(run, "elb_tls_listeners", resource_id=arn)
        assert f.status is Status.FAIL and f.message.endswith("serves unencrypted listeners: HTTP:80.")
        http = next(listener for listener in f.evidence["listeners"] if listener["protocol"] == "HTTP")
        assert http["redirects_to_https"] is False
        assert [r["actions"] for r in http["plaintext_rules"]] == [[action]]


REDIRECT_HTTPS = {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ([REDIRECT_HTTPS], True),
        # "#{protocol}" keeps the request's protocol: HTTP on an HTTP listener
        ([{"Type": "redirect", "RedirectConfig": {"Protocol": "#{protocol}", "Port": "443"}}], False),
        ([{"Type": "redirect", "RedirectConfig": {"Host": "www.example.com"}}], False),  # Protocol omitted
        ([{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTP", "Port": "8080"}}], False),
        # the client has already sent its request in clear; Security Hub ELB.1 also fails it
        ([{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}], False),
        ([{"Type": "forward", "TargetGroupArn": "arn:tg"}], False),
        ([{"Type": "authenticate-oidc"}, REDIRECT_HTTPS], False),
        ([], False),
    ],
    ids=["https", "#{protocol}", "no protocol", "http", "fixed-response", "forward", "authenticate first", "none"],
)
def test_redirects_to_https(actions: list[dict[str, Any]], expected: bool) -> None:
    assert redirects_to_https(actions) is expected


def test_only_internal_load_balancers_is_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    internal, _ = worlds.alb(world, "admin", scheme="internal", https=False, http="forward")
    clb = worlds.classic(world, "backend", scheme="internal", protocols=("HTTP",))
    f = only(run_scan(["elb_tls_listeners"]), "elb_tls_listeners")
    assert f.status is Status.NOT_APPLICABLE and f.resource_id == ACCOUNT
    assert f.evidence["internal_load_balancers"] == [internal, clb]
    assert "2 internal, not judged" in f.message


def test_denied_describe_listeners_is_error_for_that_lb(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    alb, _ = worlds.alb(world, "shop")
    clb = worlds.classic(world, "old-secure", protocols=("HTTPS",))
    faults.deny("elasticloadbalancing:DescribeListeners")
    run = run_scan(["elb_tls_listeners"])
    assert only(run, "elb_tls_listeners", resource_id=clb).status is Status.PASS
    f = only(run, "elb_tls_listeners", resource_id=alb)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "elbv2:DescribeListeners" and f.evidence["error_code"] == "AccessDenied"
    assert "elasticloadbalancing:DescribeListeners" in f.message


def test_denied_classic_listing_is_error_in_that_region(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    alb, _ = worlds.alb(world, "shop", region="us-east-1")
    worlds.alb(world, "shop", region="eu-west-1")
    faults.deny("elb:DescribeLoadBalancers", region="eu-west-1")
    run = run_scan(["elb_tls_listeners", "elb_multi_az"], regions=REGIONS)
    for check_id in ("elb_tls_listeners", "elb_multi_az"):
        assert only(run, check_id, resource_id=alb).status is Status.PASS
        f = only(run, check_id, region="eu-west-1")
        assert f.status is Status.ERROR and f.resource_id == ACCOUNT
        assert f.evidence["action"] == "elb:DescribeLoadBalancers"


# --- elb_multi_az -------------------------------------------------------------------------------

def test_multi_az_per_load_balancer_in_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    alb, _ = worlds.alb(world, "shop", region="us-east-1", zones=3)
    internal_clb = worlds.classic(world, "backend", region="us-east-1", scheme="internal", zones=2)
    one_nlb = worlds.nlb(world, "api", region="eu-west-1", zones=1)
    one_clb = worlds.classic(world, "old-web", region="eu-west-1", zones=1)
    run = run_scan(["elb_multi_az"], regions=REGIONS)
    assert statuses(run, "elb_multi_az") == {
        (alb, "us-east-1"): Status.PASS,
        (internal_clb, "us-east-1"): Status.PASS,
        (one_nlb, "eu-west-1"): Status.FAIL,
        (one_clb, "eu-west-1"): Status.FAIL,
    }
    assert only(run, "elb_multi_az", resource_id=alb).evidence["availability_zones"] == [
        "us-east-1a", "us-east-1b", "us-east-1c"]
    assert only(run, "elb_multi_az", resource_id=internal_clb).evidence["availability_zones"] == [
        "us-east-1a", "us-east-1b"]
    nlb_f = only(run, "elb_multi_az", resource_id=one_nlb)
    assert nlb_f.evidence["availability_zones"] == ["eu-west-1a"] and "eu-west-1a only" in nlb_f.message


def test_no_load_balancers_is_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    run = run_scan(["elb_multi_az", "elb_tls_listeners"])
    for check_id in ("elb_multi_az", "elb_tls_listeners"):
        f = only(run, check_id)
        assert f.status is Status.NOT_APPLICABLE and f.resource_id == ACCOUNT
