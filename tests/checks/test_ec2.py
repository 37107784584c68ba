"""EC2/VPC checks (NETSEC-001, NETSEC-002.3, DOC-001.2) through the real runner, in two regions."""

from __future__ import annotations

from typing import Any

import pytest

from checks.ec2 import subnet_tier
from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import ec2 as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, only, statuses

US, EU = "us-east-1", "eu-west-1"
BOTH = (US, EU)


def sg_arn(world: World, group_id: str, region: str) -> str:
    return world.arn("ec2", f"security-group/{group_id}", region)


def denied(run, check_id: str, action: str, region: str = US) -> None:  # type: ignore[no-untyped-def]
    f = only(run, check_id, region=region)
    assert f.status is Status.ERROR and f.resource_id == ACCOUNT
    assert f.evidence["action"] == action and f.evidence["error_code"] == "UnauthorizedOperation"
    assert action in f.message


# --- ec2_sg_no_internet_admin_ports --------------------------------------------------------------


def test_admin_ports_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    ssh = worlds.security_group(world, EU, "ssh-range", [worlds.tcp(20, 25, v4=("0.0.0.0/0",))])
    eni = worlds.attach(world, EU, ssh)
    rdp = worlds.security_group(world, EU, "rdp-v6", [worlds.tcp(3389, v6=("::/0",))])
    web = worlds.security_group(world, US, "web", [worlds.tcp(443, v4=("0.0.0.0/0",), v6=("::/0",))])
    partner = worlds.security_group(world, US, "partner", [worlds.tcp(22, v4=("198.51.99.0/24",))])
    run = run_scan(["ec2_sg_no_internet_admin_ports"], regions=BOTH)

    f = only(run, "ec2_sg_no_internet_admin_ports", resource_id=sg_arn(world, ssh, EU))
    assert f.status is Status.FAIL and f.region == EU
    exposed = {e["port"]: e for e in f.evidence["exposed_ports"]}
    assert list(exposed) == ["tcp/20 (FTP data)", "tcp/21 (FTP)", "tcp/22 (SSH)", "tcp/23 (Telnet)"]
    assert exposed["tcp/22 (SSH)"]["rules"] == [{"direction": "ingress", "traffic": "tcp/20-25", "cidr": "0.0.0.0/0"}]
    assert f.evidence["in_use"] is True and f.evidence["network_interfaces"][0]["network_interface"] == eni
    assert "tcp/20 (FTP data)" in f.message and "used by 1 network interface" in f.message

    f = only(run, "ec2_sg_no_internet_admin_ports", resource_id=sg_arn(world, rdp, EU))
    assert f.status is Status.FAIL and f.evidence["in_use"] is False and "not attached to anything" in f.message
    assert [e["port"] for e in f.evidence["exposed_ports"]] == ["tcp/3389 (RDP)"]

    assert only(run, "ec2_sg_no_internet_admin_ports", resource_id=sg_arn(world, web, US)).status is Status.PASS
    f = only(run, "ec2_sg_no_internet_admin_ports", resource_id=sg_arn(world, partner, US))
    assert f.status is Status.PASS and f.evidence["narrow_public_sources"] == ["198.51.99.0/24"]
    for region in BOTH:  # the default groups admit nothing from the internet
        assert (
            only(
                run,
                "ec2_sg_no_internet_admin_ports",
                resource_id=sg_arn(world, worlds.default_sg(world, region), region),
            ).status
            is Status.PASS
        )


def test_customer_prefix_list_with_the_internet_fails(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    pl = worlds.customer_prefix_list(world, US, "everyone", ("0.0.0.0/0",))
    group = worlds.security_group(
        world,
        US,
        "db",
        [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "PrefixListIds": [{"PrefixListId": pl}]}],
    )
    f = only(
        run_scan(["ec2_sg_no_internet_admin_ports"]),
        "ec2_sg_no_internet_admin_ports",
        resource_id=sg_arn(world, group, US),
    )
    assert f.status is Status.FAIL
    assert f.evidence["exposed_ports"][0]["rules"][0]["prefix-list"] == pl


def test_admin_ports_setting_replaces_the_list(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    group = worlds.security_group(
        world, US, "mixed", [worlds.tcp(8080, v4=("0.0.0.0/0",)), worlds.tcp(22, v4=("0.0.0.0/0",))]
    )
    run = run_scan(["ec2_sg_no_internet_admin_ports"], settings={"admin_ports": [8080]})
    f = only(run, "ec2_sg_no_internet_admin_ports", resource_id=sg_arn(world, group, US))
    assert f.status is Status.FAIL and [e["port"] for e in f.evidence["exposed_ports"]] == ["tcp/8080 (configured)"]
    assert f.evidence["admin_ports_checked"] == ["tcp/8080 (configured)"]


def test_prefix_lists_aws_managed_customer_and_stale(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    ec2 = world.client("ec2", US)
    s3_list = next(
        p["PrefixListId"] for p in ec2.describe_managed_prefix_lists()["PrefixLists"]
        if p["OwnerId"] == "AWS" and p["PrefixListName"].endswith(".s3")
    )
    office = worlds.customer_prefix_list(world, US, "office", ("198.51.99.0/24",))
    stale = "pl-0badc0ffee0000000"  # referenced, but listed nowhere (deleted, or from elsewhere)

    def ssh_from(pl: str) -> dict[str, Any]:
        return {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "PrefixListIds": [{"PrefixListId": pl}]}

    aws_group = worlds.security_group(world, US, "to-s3", [ssh_from(s3_list)])
    office_group = worlds.security_group(world, US, "office-ssh", [ssh_from(office)])
    stale_group = worlds.security_group(world, US, "stale-ssh", [ssh_from(stale)])
    checks = ["ec2_sg_no_internet_admin_ports", "ec2_sg_no_internet_all_traffic", "ec2_sg_intra_vpc_scoped"]
    run = run_scan(checks)
    for check_id in checks:
        f = only(run, check_id, resource_id=sg_arn(world, stale_group, US))
        assert f.status is Status.ERROR and f.resource_type == "AWS::EC2::SecurityGroup"
        assert f.evidence["action"] == "ec2:GetManagedPrefixListEntries"
        assert f.evidence["error_code"] == "InvalidPrefixListID.NotFound"
        assert f.evidence["unresolved_prefix_lists"] == [stale] and stale in f.message
        assert "ec2:GetManagedPrefixListEntries" in f.message
        assert only(run, check_id, resource_id=sg_arn(world, office_group, US)).status is Status.PASS
    f = only(run, "ec2_sg_no_internet_admin_ports", resource_id=sg_arn(world, aws_group, US))
    assert f.status is Status.PASS
    f = only(run, "ec2_sg_no_internet_admin_ports", resource_id=sg_arn(world, office_group, US))
    assert f.evidence["narrow_public_sources"] == [office]
    entries_read = {c.params.get("PrefixListId") for c in run.calls if c.action == "ec2:GetManagedPrefixListEntries"}
    assert entries_read == {office, stale}  # the AWS-managed list is not resolved


def test_denied_prefix_list_entries_is_error_for_the_group(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    pl = worlds.customer_prefix_list(world, US, "everyone", ("0.0.0.0/0",))
    db_from_list = {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "PrefixListIds": [{"PrefixListId": pl}]}
    group = worlds.security_group(world, US, "db", [db_from_list])
    plain = worlds.security_group(world, US, "ssh", [worlds.tcp(22, v4=("0.0.0.0/0",))])
    faults.deny("ec2:GetManagedPrefixListEntries")
    run = run_scan(["ec2_sg_no_internet_admin_ports"])
    f = only(run, "ec2_sg_no_internet_admin_ports", resource_id=sg_arn(world, group, US))
    assert f.status is Status.ERROR and f.evidence["error_code"] == "UnauthorizedOperation"
    assert only(run, "ec2_sg_no_internet_admin_ports", resource_id=sg_arn(world, plain, US)).status is Status.FAIL


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        ({"broad_public_prefix_v4": 0}, "broad_public_prefix_v4"),
        ({"broad_public_prefix_v6": 0}, "broad_public_prefix_v6"),
        ({"broad_public_prefix_v6": 129}, "broad_public_prefix_v6"),
        ({"broad_public_prefix_v4": "eight"}, "broad_public_prefix_v4"),
        ({"admin_ports": ["ssh"]}, "admin_ports"),
    ],
)
def test_invalid_network_setting_is_error_naming_it(run_scan, settings: dict[str, Any], setting: str) -> None:  # type: ignore[no-untyped-def]
    world = World()
    worlds.security_group(world, US, "open", [worlds.all_traffic(v4=("0.0.0.0/0",), v6=("::/0",))])
    checks = ["ec2_sg_no_internet_admin_ports", "ec2_nacl_no_internet_admin_ports"]
    if setting != "admin_ports":
        checks.append("ec2_sg_no_internet_all_traffic")
    run = run_scan(checks, settings=settings)
    for check_id in checks:
        f = only(run, check_id)
        assert f.status is Status.ERROR and f.resource_id == ACCOUNT
        assert f.evidence["setting"] == setting and f.evidence["value"] == settings[setting]
        assert f"setting {setting} is invalid" in f.message


def test_admin_ports_denied_describe_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    faults.deny("ec2:DescribeSecurityGroups", region=EU)
    run = run_scan(["ec2_sg_no_internet_admin_ports"], regions=BOTH)
    denied(run, "ec2_sg_no_internet_admin_ports", "ec2:DescribeSecurityGroups", EU)
    assert {s for (_, r), s in statuses(run, "ec2_sg_no_internet_admin_ports").items() if r == US} == {Status.PASS}


def test_admin_ports_denied_interfaces_is_error_not_unattached(run_scan) -> None:  # type: ignore[no-untyped-def]
    faults.deny("ec2:DescribeNetworkInterfaces")
    denied(
        run_scan(["ec2_sg_no_internet_admin_ports"]), "ec2_sg_no_internet_admin_ports", "ec2:DescribeNetworkInterfaces"
    )


def test_admin_ports_not_applicable_without_groups(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.delete_default_vpc(World(), EU)
    run = run_scan(["ec2_sg_no_internet_admin_ports"], regions=BOTH)
    f = only(run, "ec2_sg_no_internet_admin_ports", region=EU)
    assert f.status is Status.NOT_APPLICABLE and f.resource_id == ACCOUNT
    assert only(run, "ec2_sg_no_internet_admin_ports", region=US).status is Status.PASS


# --- ec2_sg_no_internet_all_traffic --------------------------------------------------------------


def test_all_traffic_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    open_eu = worlds.security_group(world, EU, "open", [worlds.all_traffic(v6=("::/0",))])
    ports_us = worlds.security_group(world, US, "ports", [worlds.tcp(0, 65535, v4=("0.0.0.0/0",))])
    ssh_us = worlds.security_group(world, US, "ssh", [worlds.tcp(22, v4=("0.0.0.0/0",))])
    run = run_scan(["ec2_sg_no_internet_all_traffic"], regions=BOTH)
    f = only(run, "ec2_sg_no_internet_all_traffic", resource_id=sg_arn(world, open_eu, EU))
    assert f.status is Status.FAIL and f.region == EU and "::/0" in f.message
    assert f.evidence["all_traffic_from_internet"]["rules"] == [
        {"direction": "ingress", "traffic": "all traffic", "cidr": "::/0"}
    ]
    f = only(run, "ec2_sg_no_internet_all_traffic", resource_id=sg_arn(world, ports_us, US))
    assert f.status is Status.FAIL and f.evidence["all_traffic_from_internet"]["rules"][0]["traffic"] == "tcp/0-65535"
    assert only(run, "ec2_sg_no_internet_all_traffic", resource_id=sg_arn(world, ssh_us, US)).status is Status.PASS


def test_all_traffic_split_port_ranges_fail(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    split = worlds.security_group(
        world, US, "split", [worlds.tcp(0, 32767, v4=("0.0.0.0/0",)), worlds.tcp(32768, 65535, v4=("0.0.0.0/0",))]
    )
    partial = worlds.security_group(
        world, US, "partial", [worlds.tcp(0, 32767, v4=("0.0.0.0/0",)), worlds.tcp(32768, 65535, v4=("10.0.0.0/8",))]
    )
    run = run_scan(["ec2_sg_no_internet_all_traffic"])
    f = only(run, "ec2_sg_no_internet_all_traffic", resource_id=sg_arn(world, split, US))
    assert f.status is Status.FAIL and "admits every tcp port from 0.0.0.0/0" in f.message
    exposure = f.evidence["all_traffic_from_internet"]
    assert exposure["port"] == "every tcp port"
    assert [r["traffic"] for r in exposure["rules"]] == ["tcp/0-32767", "tcp/32768-65535"]
    f = only(run, "ec2_sg_no_internet_all_traffic", resource_id=sg_arn(world, partial, US))
    assert f.status is Status.PASS and f.evidence["all_traffic_from_internet"] is None


def test_all_traffic_error_and_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.delete_default_vpc(World(), EU)
    faults.deny("ec2:DescribeSecurityGroups", region=US)
    run = run_scan(["ec2_sg_no_internet_all_traffic"], regions=BOTH)
    denied(run, "ec2_sg_no_internet_all_traffic", "ec2:DescribeSecurityGroups", US)
    assert only(run, "ec2_sg_no_internet_all_traffic", region=EU).status is Status.NOT_APPLICABLE


# --- ec2_sg_intra_vpc_scoped ---------------------------------------------------------------------


def test_intra_vpc_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    flat = worlds.security_group(world, EU, "flat", [worlds.all_traffic(v4=("172.16.0.0/12",))])
    app = worlds.security_group(world, EU, "app", [worlds.tcp(8080, v4=("172.31.0.0/16",))])
    web = worlds.security_group(world, US, "web", [worlds.tcp(443, v4=("172.31.0.0/16",))])
    tiered = worlds.security_group(world, US, "db", [worlds.all_traffic(groups=(web,))])
    run = run_scan(["ec2_sg_intra_vpc_scoped"], regions=BOTH)
    f = only(run, "ec2_sg_intra_vpc_scoped", resource_id=sg_arn(world, flat, EU))
    assert f.status is Status.FAIL and f.region == EU
    assert f.evidence["vpc_cidrs"] == ["172.31.0.0/16"]
    assert f.evidence["whole_vpc_rules"] == [
        {"direction": "ingress", "traffic": "all traffic", "cidr": "172.16.0.0/12"}
    ]
    assert only(run, "ec2_sg_intra_vpc_scoped", resource_id=sg_arn(world, app, EU)).status is Status.PASS
    f = only(run, "ec2_sg_intra_vpc_scoped", resource_id=sg_arn(world, tiered, US))
    assert f.status is Status.PASS and f.evidence["whole_vpc_rules"] == []


def test_intra_vpc_error_and_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.delete_default_vpc(World(), EU)
    faults.deny("ec2:DescribeVpcs", region=US)
    run = run_scan(["ec2_sg_intra_vpc_scoped"], regions=BOTH)
    denied(run, "ec2_sg_intra_vpc_scoped", "ec2:DescribeVpcs", US)
    assert only(run, "ec2_sg_intra_vpc_scoped", region=EU).status is Status.NOT_APPLICABLE


# --- ec2_default_sg_closed -----------------------------------------------------------------------


def test_default_sg_open_in_one_region_closed_in_the_other(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    closed = worlds.close_default_sg(world, EU)
    run = run_scan(["ec2_default_sg_closed"], regions=BOTH)
    f = only(run, "ec2_default_sg_closed", resource_id=sg_arn(world, worlds.default_sg(world, US), US))
    assert f.status is Status.FAIL and f.region == US
    assert {"direction": "egress", "traffic": "all traffic", "cidr": "0.0.0.0/0"} in f.evidence["rules"]
    f = only(run, "ec2_default_sg_closed", resource_id=sg_arn(world, closed, EU))
    assert f.status is Status.PASS and f.evidence["rules"] == [] and f.region == EU


def test_default_sg_error_and_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.delete_default_vpc(World(), EU)
    faults.deny("ec2:DescribeSecurityGroups", region=US)
    run = run_scan(["ec2_default_sg_closed"], regions=BOTH)
    denied(run, "ec2_default_sg_closed", "ec2:DescribeSecurityGroups", US)
    assert only(run, "ec2_default_sg_closed", region=EU).status is Status.NOT_APPLICABLE


# --- ec2_nacl_no_internet_admin_ports ------------------------------------------------------------


def nacl_arn(world: World, acl: str, region: str) -> str:
    return world.arn("ec2", f"network-acl/{acl}", region)


def test_nacl_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    tight = worlds.tighten_default_nacl(world, EU)
    open_us = worlds.default_nacl(world, US)
    run = run_scan(["ec2_nacl_no_internet_admin_ports"], regions=BOTH)
    f = only(run, "ec2_nacl_no_internet_admin_ports", resource_id=nacl_arn(world, open_us, US))
    assert f.status is Status.FAIL and f.region == US
    assert "through inbound rule 100 (allow 0.0.0.0/0)" in f.message
    (group,) = f.evidence["reachable_from_internet"]
    assert group["admitted_by"] == [
        {"rule_number": "100", "direction": "ingress", "action": "allow", "traffic": "all traffic", "cidr": "0.0.0.0/0"}
    ]
    assert "tcp/22 (SSH)" in group["ports"] and f.evidence["is_default"] is True
    # outbound is reported (the default NACL's egress rule 100 lets every admin port out), not judged
    (out,) = f.evidence["egress_to_internet"]
    assert out["admitted_by"] == [
        {"rule_number": "100", "direction": "egress", "action": "allow", "traffic": "all traffic", "cidr": "0.0.0.0/0"}
    ]
    assert f.evidence["egress_admin_ports_open"] == f.evidence["admin_ports_checked"] == len(out["ports"])
    assert "reported, not judged" in f.message
    f = only(run, "ec2_nacl_no_internet_admin_ports", resource_id=nacl_arn(world, tight, EU))
    assert f.status is Status.PASS and f.region == EU
    assert f.evidence["reachable_from_internet"] == [] and f.evidence["blocked_by"] == ["10", "20", "30", "40"]
    assert f.evidence["egress_admin_ports_open"] == f.evidence["admin_ports_checked"]  # egress left open: still PASS


def test_nacl_deny_ssh_first_leaves_other_admin_ports_open(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    subnet = world.client("ec2", US).describe_subnets()["Subnets"][0]["SubnetId"]
    acl = worlds.custom_nacl(world, US, subnet_id=subnet)
    worlds.nacl_entry(world, US, acl, 50, "deny", protocol="6", ports=(22, 22))
    worlds.nacl_entry(world, US, acl, 100, "allow", protocol="6", ports=(0, 65535))
    worlds.nacl_entry(world, US, acl, 100, "allow", egress=True)
    f = only(
        run_scan(["ec2_nacl_no_internet_admin_ports"]),
        "ec2_nacl_no_internet_admin_ports",
        resource_id=nacl_arn(world, acl, US),
    )
    assert f.status is Status.FAIL and f.evidence["subnets"] == [subnet]
    ports = f.evidence["reachable_from_internet"][0]["ports"]
    assert "tcp/22 (SSH)" not in ports and "tcp/3389 (RDP)" in ports
    assert f.evidence["blocked_by"] == ["50", "*"]  # ssh by rule 50, the udp ports by the implicit deny


def test_new_custom_nacl_denies_everything(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    acl = worlds.custom_nacl(world, US)
    f = only(
        run_scan(["ec2_nacl_no_internet_admin_ports"]),
        "ec2_nacl_no_internet_admin_ports",
        resource_id=nacl_arn(world, acl, US),
    )
    assert f.status is Status.PASS and f.evidence["subnets"] == [] and f.evidence["blocked_by"] == ["*"]
    assert f.evidence["egress_to_internet"] == [] and f.evidence["egress_admin_ports_open"] == 0
    assert "Outbound it lets none of them out" in f.message


def test_nacl_egress_to_some_admin_ports_is_evidence(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    acl = worlds.custom_nacl(world, US)
    worlds.nacl_entry(world, US, acl, 100, "allow", protocol="6", ports=(443, 443))
    worlds.nacl_entry(world, US, acl, 100, "allow", protocol="6", ports=(22, 22), egress=True)
    worlds.nacl_entry(world, US, acl, 110, "allow", protocol="6", ports=(1024, 65535), egress=True)
    f = only(
        run_scan(["ec2_nacl_no_internet_admin_ports"]),
        "ec2_nacl_no_internet_admin_ports",
        resource_id=nacl_arn(world, acl, US),
    )
    assert f.status is Status.PASS
    by_rule = {tuple(e["rule_number"] for e in g["admitted_by"]): g["ports"] for g in f.evidence["egress_to_internet"]}
    assert by_rule[("100",)] == ["tcp/22 (SSH)"]
    assert "tcp/3306 (MySQL/MariaDB)" in by_rule[("110",)] and "tcp/22 (SSH)" not in by_rule[("110",)]


def test_nacl_error_and_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.delete_default_vpc(World(), EU)
    faults.deny("ec2:DescribeNetworkAcls", region=US)
    run = run_scan(["ec2_nacl_no_internet_admin_ports"], regions=BOTH)
    denied(run, "ec2_nacl_no_internet_admin_ports", "ec2:DescribeNetworkAcls", US)
    assert only(run, "ec2_nacl_no_internet_admin_ports", region=EU).status is Status.NOT_APPLICABLE


# --- ec2_vpc_flow_logs ---------------------------------------------------------------------------


def test_flow_logs_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    vpc_us, log_id = worlds.flow_log(world, US)
    vpc_eu = worlds.default_vpc(world, EU)
    run = run_scan(["ec2_vpc_flow_logs"], regions=BOTH)
    f = only(run, "ec2_vpc_flow_logs", resource_id=world.arn("ec2", f"vpc/{vpc_us}", US))
    assert f.status is Status.PASS and f.region == US
    assert f.evidence["flow_logs"][0]["flow_log_id"] == log_id and f.evidence["flow_logs"][0]["traffic_type"] == "ALL"
    f = only(run, "ec2_vpc_flow_logs", resource_id=world.arn("ec2", f"vpc/{vpc_eu}", EU))
    assert f.status is Status.FAIL and f.region == EU and f.evidence["flow_logs"] == []


def test_flow_log_failing_delivery_does_not_count(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    vpc, log_id = worlds.flow_log(world, US, log_group=False)
    f = only(run_scan(["ec2_vpc_flow_logs"]), "ec2_vpc_flow_logs", resource_id=world.arn("ec2", f"vpc/{vpc}", US))
    assert f.status is Status.FAIL and "none is active and delivering" in f.message
    assert f.evidence["flow_logs"][0]["flow_log_id"] == log_id
    assert f.evidence["flow_logs"][0]["deliver_logs_status"] == "FAILED"


def test_flow_logs_error_and_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.delete_default_vpc(World(), EU)
    faults.deny("ec2:DescribeFlowLogs", region=US)
    run = run_scan(["ec2_vpc_flow_logs"], regions=BOTH)
    denied(run, "ec2_vpc_flow_logs", "ec2:DescribeFlowLogs", US)
    assert only(run, "ec2_vpc_flow_logs", region=EU).status is Status.NOT_APPLICABLE


# --- ec2_ebs_default_encryption / ec2_ebs_volumes_encrypted --------------------------------------


def test_ebs_default_encryption_per_region(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.ebs_encryption_by_default(World(), EU)
    run = run_scan(["ec2_ebs_default_encryption"], regions=BOTH)
    f = only(run, "ec2_ebs_default_encryption", region=EU)
    assert f.status is Status.PASS and f.resource_id == ACCOUNT and f.evidence == {"EbsEncryptionByDefault": True}
    f = only(run, "ec2_ebs_default_encryption", region=US)
    assert f.status is Status.FAIL and f.evidence == {"EbsEncryptionByDefault": False}


def test_ebs_default_encryption_denied_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    faults.deny("ec2:GetEbsEncryptionByDefault", region=EU)
    run = run_scan(["ec2_ebs_default_encryption"], regions=BOTH)
    denied(run, "ec2_ebs_default_encryption", "ec2:GetEbsEncryptionByDefault", EU)
    assert only(run, "ec2_ebs_default_encryption", region=US).status is Status.FAIL


def test_ebs_volumes(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    good = worlds.volume(world, US, encrypted=True)
    bad = worlds.volume(world, US, encrypted=False)
    run = run_scan(["ec2_ebs_volumes_encrypted"], regions=BOTH)
    f = only(run, "ec2_ebs_volumes_encrypted", resource_id=world.arn("ec2", f"volume/{good}", US))
    assert f.status is Status.PASS and f.evidence["encrypted"] is True and f.region == US
    f = only(run, "ec2_ebs_volumes_encrypted", resource_id=world.arn("ec2", f"volume/{bad}", US))
    assert f.status is Status.FAIL and f.evidence["encrypted"] is False
    assert only(run, "ec2_ebs_volumes_encrypted", region=EU).status is Status.NOT_APPLICABLE


def test_ebs_volumes_denied_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.volume(World(), US, encrypted=True)
    faults.deny("ec2:DescribeVolumes")
    denied(run_scan(["ec2_ebs_volumes_encrypted"]), "ec2_ebs_volumes_encrypted", "ec2:DescribeVolumes")


# --- ec2_vpc_multi_az_subnets --------------------------------------------------------------------


def test_multi_az_tiers_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    good = worlds.tiered_vpc(world, US, public_azs=("a", "b"), nat_azs=("a", "b"), private_azs=("a", "b"))
    # the audit's case: a NAT-routed app tier over two AZs used to hide an isolated data tier in one
    lopsided = worlds.tiered_vpc(world, EU, public_azs=("a", "b"), nat_azs=("a", "b"), private_azs=("a",))
    run = run_scan(["ec2_vpc_multi_az_subnets"], regions=BOTH)
    f = only(run, "ec2_vpc_multi_az_subnets", resource_id=world.arn("ec2", f"vpc/{good['vpc']}", US))
    assert f.status is Status.PASS and f.region == US
    assert f.evidence["tiers"]["public"] == {
        "us-east-1a": [good["public"]["us-east-1a"]],
        "us-east-1b": [good["public"]["us-east-1b"]],
    }
    assert f.evidence["tier_availability_zones"] == {
        "public": ["us-east-1a", "us-east-1b"],
        "private-nat": ["us-east-1a", "us-east-1b"],
        "isolated": ["us-east-1a", "us-east-1b"],
    }
    assert f.evidence["tier_route_tables"]["private-nat"] == {
        good["nat_route_table"]: [f"0.0.0.0/0 -> {good['nat_gateway']}"]
    }
    assert f.evidence["tier_route_tables"]["public"] == {good["public_route_table"]: [f"0.0.0.0/0 -> {good['igw']}"]}
    f = only(run, "ec2_vpc_multi_az_subnets", resource_id=world.arn("ec2", f"vpc/{lopsided['vpc']}", EU))
    assert f.status is Status.FAIL and f.region == EU
    assert "tier(s) in a single AZ: isolated (eu-west-1a)" in f.message
    assert "private-nat: eu-west-1a, eu-west-1b" in f.message
    assert f.evidence["tiers"]["isolated"] == {"eu-west-1a": [lopsided["private"]["eu-west-1a"]]}
    assert "same route table" not in f.remediation and "private-nat" in f.remediation


def _table(*routes: dict[str, Any]) -> dict[str, Any]:
    return {"RouteTableId": "rtb-1", "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}, *routes]}


@pytest.mark.parametrize(
    ("table", "tier", "shown"),
    [
        (_table({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}), "public", ["0.0.0.0/0 -> igw-1"]),
        (_table({"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1"}), "public", ["::/0 -> igw-1"]),
        (_table({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"}), "private-nat", ["0.0.0.0/0 -> nat-1"]),
        (  # a NAT instance: AWS reports both the instance and its interface
            _table({"DestinationCidrBlock": "0.0.0.0/0", "InstanceId": "i-1", "NetworkInterfaceId": "eni-1"}),
            "private-nat",
            ["0.0.0.0/0 -> i-1"],
        ),
        (
            _table({"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-1"}),
            "private-nat",
            ["::/0 -> eigw-1"],
        ),
        (
            _table({"DestinationCidrBlock": "0.0.0.0/0", "TransitGatewayId": "tgw-1"}),
            "private-routed",
            ["0.0.0.0/0 -> tgw-1"],
        ),
        (_table(), "isolated", []),
        (  # a gateway endpoint route is not a default route
            _table({"DestinationPrefixListId": "pl-s3", "GatewayId": "vpce-1"}),
            "isolated",
            [],
        ),
        (  # the NAT gateway was deleted: the route is a blackhole and carries nothing
            _table({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "State": "blackhole"}),
            "isolated",
            [],
        ),
        (None, "isolated", []),
    ],
)
def test_subnet_tier(table: dict[str, Any] | None, tier: str, shown: list[str]) -> None:
    assert subnet_tier(table) == (tier, shown)


def test_multi_az_error_and_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.delete_default_vpc(World(), EU)
    faults.deny("ec2:DescribeRouteTables", region=US)
    run = run_scan(["ec2_vpc_multi_az_subnets"], regions=BOTH)
    denied(run, "ec2_vpc_multi_az_subnets", "ec2:DescribeRouteTables", US)
    assert only(run, "ec2_vpc_multi_az_subnets", region=EU).status is Status.NOT_APPLICABLE
