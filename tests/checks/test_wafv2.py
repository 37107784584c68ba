"""wafv2_network_protection_inventory (NETSEC-001.4) through the runner, over two regions."""

from __future__ import annotations

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import wafv2 as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, only

US, EU = "us-east-1", "eu-west-1"
CHECK = "wafv2_network_protection_inventory"

def test_web_acl_protecting_an_alb_in_the_second_region_passes(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    acl, alb = worlds.protected_alb(world, EU)
    idle = worlds.web_acl(world, "idle", US)
    f = only(run_scan([CHECK], regions=(US, EU)), CHECK)
    assert f.status is Status.PASS and f.resource_id == ACCOUNT and f.region == "global"
    acls = {a["web_acl"]: a for a in f.evidence["web_acls"]}
    assert acls[acl]["protects"] == [alb] and acls[acl]["region"] == EU
    assert acls[idle]["protects"] == [] and acls[idle]["region"] == US
    assert "1 WAF web ACL(s) protecting 1 resource(s)" in f.message


def test_cloudfront_web_acl_and_network_firewall_count(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    acl, distribution = worlds.protected_distribution(world)
    firewall = worlds.network_firewall(world, "inspect", EU)
    f = only(run_scan([CHECK], regions=(US, EU)), CHECK)
    assert f.status is Status.PASS
    assert [(a["web_acl"], a["scope"], a["protects"]) for a in f.evidence["web_acls"]] == [
        (acl, "CLOUDFRONT", [distribution])
    ]
    (fw,) = f.evidence["network_firewalls"]
    assert fw["firewall"] == firewall and fw["region"] == EU and fw["subnets"]


def test_only_unassociated_web_acls_fail(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.web_acl(World(), "idle", EU)
    f = only(run_scan([CHECK], regions=(US, EU)), CHECK)
    assert f.status is Status.FAIL and "1 web ACL(s) associated with nothing" in f.message
    assert f.evidence["network_firewalls"] == [] and f.evidence["unreadable"] == []


def test_nothing_at_all_fails(run_scan) -> None:  # type: ignore[no-untyped-def]
    f = only(run_scan([CHECK], regions=(US, EU)), CHECK)
    assert f.status is Status.FAIL and f.evidence["web_acls"] == [] and "us-east-1, eu-west-1" in f.message


def test_denied_region_is_error_when_nothing_else_protects(run_scan) -> None:  # type: ignore[no-untyped-def]
    faults.deny("network-firewall:ListFirewalls", region=EU)
    f = only(run_scan([CHECK], regions=(US, EU)), CHECK)
    assert f.status is Status.ERROR
    assert f.evidence["action"] == "network-firewall:ListFirewalls" and f.evidence["region"] == EU
    assert f.evidence["error_code"] == "AccessDeniedException"


def test_denied_region_does_not_hide_protection_elsewhere(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    worlds.protected_alb(world, US)
    faults.deny("wafv2:ListWebACLs", region=EU)
    f = only(run_scan([CHECK], regions=(US, EU)), CHECK)
    assert f.status is Status.PASS
    assert {"action": "wafv2:ListWebACLs", "region": EU, "error_code": "AccessDeniedException"} in f.evidence[
        "unreadable"
    ]
