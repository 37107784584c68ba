"""EC2/VPC checks (NETSEC-001, NETSEC-002.3, DOC-001.2) through the real runner, in two regions."""

from __future__ import annotations

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
    f = only(run, "ec2_nacl_no_internet_admin_ports", resource_id=nacl_arn(world, tight, EU))
    assert f.status is Status.PASS and f.region == EU
    assert f.evidence["reachable_from_internet"] == [] and f.evidence["blocked_by"] == ["10", "20", "30", "40"]


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
    good = worlds.tiered_vpc(world, US, public_azs=("a", "b"), private_azs=("a", "b"))
    lopsided = worlds.tiered_vpc(world, EU, public_azs=("a", "b"), private_azs=("a",))
    run = run_scan(["ec2_vpc_multi_az_subnets"], regions=BOTH)
    f = only(run, "ec2_vpc_multi_az_subnets", resource_id=world.arn("ec2", f"vpc/{good['vpc']}", US))
    assert f.status is Status.PASS and f.region == US
    assert f.evidence["tiers"]["public"] == {
        "us-east-1a": [good["public"]["us-east-1a"]],
        "us-east-1b": [good["public"]["us-east-1b"]],
    }
    f = only(run, "ec2_vpc_multi_az_subnets", resource_id=world.arn("ec2", f"vpc/{lopsided['vpc']}", EU))
    assert f.status is Status.FAIL and f.region == EU and "private (eu-west-1a)" in f.message
    assert f.evidence["tiers"]["private"] == {"eu-west-1a": [lopsided["private"]["eu-west-1a"]]}


def test_multi_az_error_and_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.delete_default_vpc(World(), EU)
    faults.deny("ec2:DescribeRouteTables", region=US)
    run = run_scan(["ec2_vpc_multi_az_subnets"], regions=BOTH)
    denied(run, "ec2_vpc_multi_az_subnets", "ec2:DescribeRouteTables", US)
    assert only(run, "ec2_vpc_multi_az_subnets", region=EU).status is Status.NOT_APPLICABLE
