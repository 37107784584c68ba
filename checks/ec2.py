"""EC2 and VPC: network exposure (NETSEC-001), EBS encryption (NETSEC-002.3), subnets across AZs (DOC-001.2).

Security-group and network-ACL semantics live in :mod:`scanner.analysis.network`; this module
reads the region's inventory once (every check asks the same unparameterised Describe calls,
so the gateway cache serves them all) and turns the analysis into findings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from scanner.analysis.network import (
    PREFIX_SETTINGS,
    Breadth,
    NaclReach,
    SgRule,
    check_prefix,
    nacl_admin_reach,
    narrow_public_sources,
    sg_admin_exposures,
    sg_all_traffic_exposure,
    sg_rules,
    sg_whole_vpc_rules,
)
from scanner.analysis.ports import AdminPort, admin_ports_from_setting
from scanner.context import CheckContext, error_evidence, error_message
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

SG = "AWS::EC2::SecurityGroup"
NACL = "AWS::EC2::NetworkAcl"
VPC = "AWS::EC2::VPC"
VOLUME = "AWS::EC2::Volume"
SG_PERMISSIONS = (
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeManagedPrefixLists",
    "ec2:GetManagedPrefixListEntries",
)
MAX_LISTED = 25  # network interfaces listed per group in the evidence (the count is always given)


class InvalidSetting(Exception):
    """A scan setting this module reads has a value it cannot use: an ERROR finding naming the
    setting (before any AWS call), never a verdict computed from a silently bent threshold."""

    def __init__(self, name: str, value: object, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name, self.value, self.problem = name, value, problem

    def finding(self, ctx: CheckContext) -> Finding:
        plain = isinstance(self.value, int | float | str) or (
            isinstance(self.value, list) and all(isinstance(v, int | str) for v in self.value)
        )
        shown = self.value if plain else repr(self.value)
        return ctx.finding(
            Status.ERROR,
            message=f"Could not evaluate: the setting {self.name} is invalid ({self.problem}).",
            evidence={"setting": self.name, "value": shown, "problem": self.problem},
        )


def breadth(ctx: CheckContext) -> Breadth:
    """The ``broad_public_prefix_v4``/``_v6`` settings (see scanner.analysis.network)."""
    prefixes: dict[int, int] = {}
    for version, default in ((4, 8), (6, 32)):
        name = PREFIX_SETTINGS[version]
        value = ctx.setting(name, default)
        try:
            prefixes[version] = check_prefix(version, value)
        except ValueError as exc:
            raise InvalidSetting(name, value, str(exc)) from exc
    return Breadth(prefixes[4], prefixes[6])


def admin_ports(ctx: CheckContext) -> tuple[AdminPort, ...]:
    value = ctx.setting("admin_ports", None)
    try:
        return admin_ports_from_setting(value)
    except ValueError as exc:
        raise InvalidSetting("admin_ports", value, str(exc)) from exc


def security_groups(ctx: CheckContext) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = ctx.read("ec2", "DescribeSecurityGroups").get("SecurityGroups", [])
    return groups


def group_attachments(ctx: CheckContext) -> dict[str, list[dict[str, Any]]]:
    """Group id -> the network interfaces that use it (instances, load balancers, Lambda, RDS...)."""
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for eni in ctx.read("ec2", "DescribeNetworkInterfaces").get("NetworkInterfaces", []):
        attachment = eni.get("Attachment") or {}
        user = attachment.get("InstanceId") or eni.get("RequesterId") or eni.get("Description") or ""
        for grp in eni.get("Groups") or []:
            by_group[grp["GroupId"]].append(
                {
                    "network_interface": eni["NetworkInterfaceId"],
                    "type": eni.get("InterfaceType", "interface"),
                    "used_by": user,
                }
            )
    return by_group


def referenced_prefix_lists(group: dict[str, Any]) -> list[str]:
    return sorted(
        {
            pl["PrefixListId"]
            for key in ("IpPermissions", "IpPermissionsEgress")
            for perm in group.get(key) or []
            for pl in perm.get("PrefixListIds") or []
        }
    )


@dataclass(frozen=True)
class PrefixLists:
    """The prefix lists the groups reference: id -> CIDR entries (``None`` for AWS-managed
    lists), and the ids whose entries could not be read, with the failed call."""

    entries: dict[str, list[str] | None]
    failures: dict[str, CallFailed]


def prefix_list_entries(ctx: CheckContext, groups: list[dict[str, Any]]) -> PrefixLists:
    """Entries of the prefix lists the groups reference.

    Only lists whose ``OwnerId`` is ``AWS`` (S3, DynamoDB, CloudFront origin-facing...) are
    taken as AWS service ranges rather than arbitrary internet hosts; they map to ``None``
    (not counted as the internet, and the evidence says so). Every other list -- the
    account's own, one shared with it, or an id DescribeManagedPrefixLists does not list at
    all (stale, or from elsewhere) -- is resolved with GetManagedPrefixListEntries; when that
    call fails the list is unresolved and each group referencing it is an ERROR naming the call.
    """
    referenced = {pl for g in groups for pl in referenced_prefix_lists(g)}
    if not referenced:
        return PrefixLists({}, {})
    owners = {
        pl["PrefixListId"]: pl.get("OwnerId")
        for pl in ctx.read("ec2", "DescribeManagedPrefixLists").get("PrefixLists", [])
    }
    resolved: dict[str, list[str] | None] = {}
    failures: dict[str, CallFailed] = {}
    for pl_id in sorted(referenced):
        if owners.get(pl_id) == "AWS":
            resolved[pl_id] = None
            continue
        try:
            entries = ctx.read("ec2", "GetManagedPrefixListEntries", PrefixListId=pl_id).get("Entries", [])
        except CallFailed as failure:
            failures[pl_id] = failure
            continue
        resolved[pl_id] = [e["Cidr"] for e in entries]
    return PrefixLists(resolved, failures)


def unresolved_group(ctx: CheckContext, group: dict[str, Any], prefix_lists: PrefixLists) -> Finding | None:
    """An ERROR finding for a group that references a prefix list whose entries could not be read."""
    failed = [pl for pl in referenced_prefix_lists(group) if pl in prefix_lists.failures]
    if not failed:
        return None
    failure = prefix_lists.failures[failed[0]]
    calls = tuple(dict.fromkeys((*ctx.touched, *(prefix_lists.failures[pl].call.id for pl in failed))))
    return ctx.finding(
        Status.ERROR,
        resource_id=ctx.arn("ec2", f"security-group/{group['GroupId']}"),
        resource_type=SG,
        message=f"{error_message(failure)} Security group {group['GroupId']} references prefix list(s) "
        f"{', '.join(failed)}, whose entries could not be read, so its sources are unknown.",
        evidence=error_evidence(failure) | {"group_id": group["GroupId"], "unresolved_prefix_lists": failed},
        calls=calls,
    )


def group_evidence(group: dict[str, Any], attached: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "group_id": group["GroupId"],
        "group_name": group.get("GroupName"),
        "vpc_id": group.get("VpcId"),
        "in_use": bool(attached),
        "network_interfaces_count": len(attached),
        "network_interfaces": attached[:MAX_LISTED],
    }


def usage_text(attached: list[dict[str, Any]]) -> str:
    return f"used by {len(attached)} network interface(s)" if attached else "not attached to anything"


def sg_finding(
    ctx: CheckContext,
    group: dict[str, Any],
    attached: list[dict[str, Any]],
    *,
    problem: str,
    ok: str,
    evidence: dict[str, Any],
) -> Finding:
    """One group's finding: FAIL with ``problem`` when it is not empty, else PASS with ``ok``."""
    name = (
        f"{'Default security group' if group.get('GroupName') == 'default' else 'Security group'} "
        f"{group['GroupId']} ({group.get('GroupName')}, {group.get('VpcId')})"
    )
    return ctx.finding(
        Status.FAIL if problem else Status.PASS,
        resource_id=ctx.arn("ec2", f"security-group/{group['GroupId']}"),
        resource_type=SG,
        evidence=group_evidence(group, attached) | evidence,
        message=f"{name} {problem or ok}; {usage_text(attached)}.",
    )


# What a security-group check says of one group: the problem ("" for PASS), the PASS wording, evidence.
Judgement = tuple[str, str, dict[str, Any]]


def judge_groups(ctx: CheckContext, judge: Callable[[dict[str, Any], list[SgRule]], Judgement]) -> Iterator[Finding]:
    """The walk the rule-based group checks share: NOT_APPLICABLE without groups, an ERROR for a
    group whose prefix lists cannot be resolved, else one finding per group from ``judge``."""
    groups = security_groups(ctx)
    if not groups:
        yield ctx.finding(Status.NOT_APPLICABLE, message=f"No security groups in {ctx.region}.", evidence={})
        return
    attachments = group_attachments(ctx)
    prefix_lists = prefix_list_entries(ctx, groups)
    for group in groups:
        if (error := unresolved_group(ctx, group, prefix_lists)) is not None:
            yield error
            continue
        problem, ok, evidence = judge(group, sg_rules(group, prefix_lists.entries))
        yield sg_finding(ctx, group, attachments.get(group["GroupId"], []), problem=problem, ok=ok, evidence=evidence)


@check(
    id="ec2_sg_no_internet_admin_ports",
    title="No security group admits the internet to administration or database ports",
    severity=Severity.HIGH,
    criteria=("NETSEC-001.1",),
    permissions=SG_PERMISSIONS,
    scope=Scope.REGIONAL,
    remediation="Remove the inbound rule or narrow its source to known addresses or a security group; reach "
    "instances through SSM Session Manager, a VPN or a bastion instead of opening SSH/RDP.",
)
def ec2_sg_no_internet_admin_ports(ctx: CheckContext) -> Iterator[Finding]:
    """SSH, RDP and database ports facing the internet are scanned within minutes of being
    opened and are the classic way into a workload. NETSEC-001.1 asks that security groups
    restrict internet access to what the workload serves. A port counts when any inbound rule
    covers it (tcp 20-25 covers 22; protocol -1 covers everything) from the internet (IPv4 or
    IPv6, see scanner.analysis.network for how broad public ranges and prefix lists count).
    The ports are a documented default list, replaceable with the ``admin_ports`` setting.
    Unused groups are judged too: attaching one later opens the port. An invalid setting is
    an ERROR naming it; a group whose prefix list cannot be resolved is an ERROR for that group."""
    try:
        ports, spread = admin_ports(ctx), breadth(ctx)
    except InvalidSetting as invalid:
        yield invalid.finding(ctx)
        return

    def judge(group: dict[str, Any], rules: list[SgRule]) -> Judgement:
        exposures = sg_admin_exposures(rules, ports, spread)
        shown = ", ".join(e.what for e in exposures[:5]) + (", ..." if len(exposures) > 5 else "")
        return (
            f"admits the internet to {shown}" if exposures else "",
            "admits the internet to no admin or database port",
            {
                "exposed_ports": [e.evidence() for e in exposures],
                "narrow_public_sources": narrow_public_sources(rules),
                "admin_ports_checked": [p.label() for p in ports],
            },
        )

    yield from judge_groups(ctx, judge)


@check(
    id="ec2_sg_no_internet_all_traffic",
    title="No security group admits the internet on all protocols or all ports",
    severity=Severity.HIGH,
    criteria=("NETSEC-001.1",),
    permissions=SG_PERMISSIONS,
    scope=Scope.REGIONAL,
    remediation="Replace the all-traffic inbound rule(s) with rules for the ports the workload serves "
    "(e.g. tcp/443).",
)
def ec2_sg_no_internet_all_traffic(ctx: CheckContext) -> Iterator[Finding]:
    """Admitting every protocol, or every tcp or udp port, from the internet turns the security
    group off: whatever listens on the instance, now or later, is exposed. "All traffic" is
    protocol -1, or every port 1-65535 of tcp, or of udp, after merging the group's inbound
    rules per protocol: tcp 0-32767 plus tcp 32768-65535 from 0.0.0.0/0 counts, and so does a
    port space split between IPv4 and IPv6 internet sources (each port is open to the
    internet). ICMP and port-less protocols (GRE, ESP) are not all traffic. See
    scanner.analysis.network.sg_all_traffic_exposure."""
    try:
        spread = breadth(ctx)
    except InvalidSetting as invalid:
        yield invalid.finding(ctx)
        return

    def judge(group: dict[str, Any], rules: list[SgRule]) -> Judgement:
        exposure = sg_all_traffic_exposure(rules, spread)
        sources = ", ".join(sorted({r.source for r in exposure.rules})) if exposure else ""
        return (
            f"admits {exposure.what} from {sources}" if exposure else "",
            "admits no all-protocol or all-port traffic from the internet",
            {"all_traffic_from_internet": exposure.evidence() if exposure else None},
        )

    yield from judge_groups(ctx, judge)


def vpc_cidrs(vpc: dict[str, Any]) -> list[str]:
    v4 = [
        a["CidrBlock"]
        for a in vpc.get("CidrBlockAssociationSet") or []
        if (a.get("CidrBlockState") or {}).get("State", "associated") == "associated"
    ]
    v6 = [
        a["Ipv6CidrBlock"]
        for a in vpc.get("Ipv6CidrBlockAssociationSet") or []
        if (a.get("Ipv6CidrBlockState") or {}).get("State", "associated") == "associated"
        and a.get("Ipv6CidrBlock")
    ]
    return (v4 or ([vpc["CidrBlock"]] if vpc.get("CidrBlock") else [])) + v6


def vpcs(ctx: CheckContext) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ctx.read("ec2", "DescribeVpcs").get("Vpcs", [])
    return found


@check(
    id="ec2_sg_intra_vpc_scoped",
    title="Security groups scope traffic within the VPC (no all-traffic rules from the whole VPC range)",
    severity=Severity.MEDIUM,
    criteria=("NETSEC-001.2",),
    permissions=(*SG_PERMISSIONS, "ec2:DescribeVpcs"),
    scope=Scope.REGIONAL,
    remediation="Reference the calling tier's security group (or a narrow subnet CIDR) and only the ports it "
    "needs, instead of all traffic from the VPC range.",
)
def ec2_sg_intra_vpc_scoped(ctx: CheckContext) -> Iterator[Finding]:
    """NETSEC-001.2 asks that security groups restrict traffic inside the VPC too, so that one
    compromised host cannot reach every port of every other. A group fails when an inbound rule
    admits all protocols (or every tcp/udp port) from a CIDR that contains a whole CIDR block of
    its VPC (the VPC range itself, a supernet such as 10.0.0.0/8, or the internet). Rules that
    reference security groups, and narrower CIDRs, pass. A group referencing a prefix list
    whose entries cannot be read is an ERROR for that group."""
    cidrs: dict[str, list[str]] = {}

    def judge(group: dict[str, Any], rules: list[SgRule]) -> Judgement:
        if not cidrs:  # read only when there is a group to judge
            cidrs.update({v["VpcId"]: vpc_cidrs(v) for v in vpcs(ctx)})
        blocks = cidrs.get(group.get("VpcId") or "", [])
        broad = sg_whole_vpc_rules(rules, blocks)
        sources = ", ".join(sorted({r.source for r in broad}))
        return (
            f"admits all traffic from {sources}, which spans its whole VPC ({', '.join(blocks)})" if broad else "",
            "has no all-traffic rule from the whole VPC range",
            {"vpc_cidrs": blocks, "whole_vpc_rules": [r.evidence() for r in broad]},
        )

    yield from judge_groups(ctx, judge)


@check(
    id="ec2_default_sg_closed",
    title="Default security groups allow no traffic",
    severity=Severity.MEDIUM,
    criteria=("NETSEC-001.2",),
    permissions=("ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces"),
    scope=Scope.REGIONAL,
    remediation="Remove every inbound and outbound rule from the default security group (it cannot be "
    "deleted) and give resources purpose-made groups.",
)
def ec2_default_sg_closed(ctx: CheckContext) -> Iterator[Finding]:
    """Every VPC has a default security group that AWS creates with an allow-all outbound rule
    and an inbound rule admitting its own members; anything launched without an explicit group
    lands in it. CIS AWS Foundations 5.4 and AWS Security Hub EC2.2 ask that it has no rules at
    all, so that forgetting to choose a group fails closed."""
    defaults = [g for g in security_groups(ctx) if g.get("GroupName") == "default"]
    if not defaults:
        yield ctx.finding(
            Status.NOT_APPLICABLE, message=f"No default security group in {ctx.region} (no VPC).", evidence={}
        )
        return
    attachments = group_attachments(ctx)
    for group in defaults:
        rules = sg_rules(group)
        inbound = sum(r.direction == "ingress" for r in rules)
        yield sg_finding(
            ctx,
            group,
            attachments.get(group["GroupId"], []),
            problem=f"has {inbound} inbound and {len(rules) - inbound} outbound rule(s)" if rules else "",
            ok="has no rules",
            evidence={"rules": [r.evidence() for r in rules]},
        )


def reach_summary(reach: list[NaclReach]) -> list[dict[str, Any]]:
    """Reachable ports grouped by the entries that admit them (the default NACL's rule 100 admits all)."""
    grouped: dict[tuple[int, ...], dict[str, Any]] = {}
    for r in reach:
        if not r.reachable:
            continue
        key = tuple(e.rule_number for e in r.admitted_by)
        item = grouped.setdefault(key, {"admitted_by": [e.evidence() for e in r.admitted_by], "ports": []})
        item["ports"].append(r.port.label())
    return list(grouped.values())


@check(
    id="ec2_nacl_no_internet_admin_ports",
    title="Network ACLs keep the internet away from administration and database ports",
    severity=Severity.MEDIUM,
    criteria=("NETSEC-001.3",),
    permissions=("ec2:DescribeNetworkAcls",),
    scope=Scope.REGIONAL,
    remediation="Add inbound deny entries for the admin/database ports from 0.0.0.0/0 and ::/0 with rule "
    "numbers lower than the allow entries (or allow only the ports the subnet serves).",
)
def ec2_nacl_no_internet_admin_ports(ctx: CheckContext) -> Iterator[Finding]:
    """NETSEC-001.3 asks that network ACLs restrict inbound and outbound traffic: a second,
    subnet-wide layer under the security groups. Inbound entries are evaluated as AWS does
    (ascending rule number, first match decides, implicit final deny), per admin port and per
    address family; the finding names the entry that admits the traffic.

    Outbound entries are evaluated the same way and reported as evidence
    (``egress_to_internet``: which admin ports the NACL lets out to internet destinations, and
    through which entries), but the verdict rests on inbound entries only, for two reasons.
    Outbound connections to admin or database ports of internet hosts (git over SSH, a
    partner's SFTP, a hosted database) are ordinary workload traffic, and AWS's default NACL
    allows all outbound: failing on them would fail nearly every account without showing an
    exposure. And NACLs are stateless: the replies to an inbound connection leave towards the
    client's ephemeral port, not the admin port, so outbound admin-port entries do not decide
    whether the internet reaches the admin port either. The auditor reads the egress evidence
    for NETSEC-001.3's "outbound". NACLs associated with no subnet are judged too; the evidence
    lists the subnets. An invalid ``admin_ports`` or breadth setting is an ERROR naming it."""
    try:
        ports, spread = admin_ports(ctx), breadth(ctx)
    except InvalidSetting as invalid:
        yield invalid.finding(ctx)
        return
    acls = ctx.read("ec2", "DescribeNetworkAcls").get("NetworkAcls", [])
    if not acls:
        yield ctx.finding(Status.NOT_APPLICABLE, message=f"No network ACLs in {ctx.region}.", evidence={})
        return
    for acl in acls:
        reach = nacl_admin_reach(acl, ports, breadth=spread)
        reachable = [r for r in reach if r.reachable]
        outbound = nacl_admin_reach(acl, ports, egress=True, breadth=spread)
        open_out = sum(r.reachable for r in outbound)
        subnets = sorted(a["SubnetId"] for a in acl.get("Associations") or [] if a.get("SubnetId"))
        evidence = {
            "network_acl_id": acl["NetworkAclId"],
            "vpc_id": acl.get("VpcId"),
            "is_default": bool(acl.get("IsDefault")),
            "subnets": subnets,
            "reachable_from_internet": reach_summary(reach),
            "blocked_by": sorted(
                {e.label for r in reach if not r.reachable for e in r.denied_by}, key=_rule_key
            ),
            "admin_ports_checked": len(ports),
            "egress_to_internet": reach_summary(outbound),
            "egress_admin_ports_open": open_out,
        }
        arn = ctx.arn("ec2", f"network-acl/{acl['NetworkAclId']}")
        where = f"subnets {', '.join(subnets)}" if subnets else "no subnet"
        egress_note = (
            f" Outbound it lets {open_out} of the admin ports out to the internet (reported, not judged)."
            if open_out
            else " Outbound it lets none of them out to the internet."
        )
        if reachable:
            first = reachable[0]
            entry = first.admitted_by[0]
            yield ctx.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type=NACL,
                evidence=evidence,
                message=f"Network ACL {acl['NetworkAclId']} ({where}) lets the internet reach "
                f"{len(reachable)} admin port(s), e.g. {first.port.label()} through inbound rule "
                f"{entry.label} ({entry.action} {entry.cidr}).{egress_note}",
            )
        else:
            yield ctx.finding(
                Status.PASS,
                resource_id=arn,
                resource_type=NACL,
                evidence=evidence,
                message=f"Network ACL {acl['NetworkAclId']} ({where}) denies the internet every "
                f"admin port ({len(ports)} checked).{egress_note}",
            )


def _rule_key(label: str) -> int:
    return 32767 if label == "*" else int(label)


@check(
    id="ec2_vpc_flow_logs",
    title="Every VPC has an active flow log",
    severity=Severity.MEDIUM,
    criteria=("NETSEC-001.4",),
    permissions=("ec2:DescribeVpcs", "ec2:DescribeFlowLogs"),
    scope=Scope.REGIONAL,
    remediation="aws ec2 create-flow-logs --resource-type VPC --resource-ids <vpc> --traffic-type ALL "
    "--log-destination-type cloud-watch-logs|s3 ...",
)
def ec2_vpc_flow_logs(ctx: CheckContext) -> Iterator[Finding]:
    """Flow logs record who talked to what (accepted and rejected connections): the network
    evidence for an investigation and the input GuardDuty-style analysis works on. Only a flow
    log on the VPC itself counts (subnet- or interface-level logs leave the rest of the VPC
    unrecorded); it must be ACTIVE and not failing delivery. The traffic type (ALL, ACCEPT,
    REJECT) is reported."""
    found = vpcs(ctx)
    if not found:
        yield ctx.finding(Status.NOT_APPLICABLE, message=f"No VPCs in {ctx.region}.", evidence={})
        return
    logs = ctx.read("ec2", "DescribeFlowLogs").get("FlowLogs", [])
    for vpc in found:
        mine = [
            {
                "flow_log_id": f.get("FlowLogId"),
                "status": f.get("FlowLogStatus"),
                "deliver_logs_status": f.get("DeliverLogsStatus"),
                "traffic_type": f.get("TrafficType"),
                "destination_type": f.get("LogDestinationType", "cloud-watch-logs"),
                "destination": f.get("LogDestination") or f.get("LogGroupName"),
            }
            for f in logs
            if f.get("ResourceId") == vpc["VpcId"]
        ]
        active = [f for f in mine if f["status"] == "ACTIVE" and f["deliver_logs_status"] != "FAILED"]
        evidence = {"vpc_id": vpc["VpcId"], "is_default": bool(vpc.get("IsDefault")), "flow_logs": mine}
        arn = ctx.arn("ec2", f"vpc/{vpc['VpcId']}")
        if active:
            yield ctx.finding(
                Status.PASS,
                resource_id=arn,
                resource_type=VPC,
                evidence=evidence,
                message=f"VPC {vpc['VpcId']} has active flow log {active[0]['flow_log_id']} "
                f"({active[0]['traffic_type']} traffic to {active[0]['destination_type']}).",
            )
        else:
            why = "flow logs exist but none is active and delivering" if mine else "no flow log"
            yield ctx.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type=VPC,
                evidence=evidence,
                message=f"VPC {vpc['VpcId']} has {why}.",
            )


@check(
    id="ec2_ebs_default_encryption",
    title="EBS encryption by default is on in the region",
    severity=Severity.MEDIUM,
    criteria=("NETSEC-002.3",),
    permissions=("ec2:GetEbsEncryptionByDefault",),
    scope=Scope.REGIONAL,
    remediation="aws ec2 enable-ebs-encryption-by-default --region <region> (optionally "
    "modify-ebs-default-kms-key-id to use a customer managed key).",
)
def ec2_ebs_default_encryption(ctx: CheckContext) -> Iterator[Finding]:
    """With encryption by default on, every new EBS volume and snapshot copy in the region is
    encrypted whatever the launching tool asks for: NETSEC-002.3's "encryption at rest enabled
    by default". The setting is per region, so each scanned region has its own finding."""
    enabled = bool(ctx.read("ec2", "GetEbsEncryptionByDefault").get("EbsEncryptionByDefault"))
    evidence = {"EbsEncryptionByDefault": enabled}
    if enabled:
        yield ctx.finding(
            Status.PASS, message=f"EBS encryption by default is on in {ctx.region}.", evidence=evidence
        )
    else:
        yield ctx.finding(
            Status.FAIL, message=f"EBS encryption by default is off in {ctx.region}.", evidence=evidence
        )


@check(
    id="ec2_ebs_volumes_encrypted",
    title="Every EBS volume is encrypted",
    severity=Severity.MEDIUM,
    criteria=("NETSEC-002.3",),
    permissions=("ec2:DescribeVolumes",),
    scope=Scope.REGIONAL,
    remediation="Snapshot the volume, copy the snapshot with encryption, create a volume from it and swap "
    "it in; turn on EBS encryption by default so new volumes are encrypted.",
)
def ec2_ebs_volumes_encrypted(ctx: CheckContext) -> Iterator[Finding]:
    """Volumes created before encryption by default was turned on stay unencrypted (EBS cannot
    encrypt a volume in place), and so do their snapshots."""
    volumes = ctx.read("ec2", "DescribeVolumes").get("Volumes", [])
    if not volumes:
        yield ctx.finding(Status.NOT_APPLICABLE, message=f"No EBS volumes in {ctx.region}.", evidence={})
        return
    for volume in volumes:
        encrypted = bool(volume.get("Encrypted"))
        evidence = {
            "volume_id": volume["VolumeId"],
            "encrypted": encrypted,
            "kms_key_id": volume.get("KmsKeyId"),
            "state": volume.get("State"),
            "size_gib": volume.get("Size"),
            "attached_to": [a.get("InstanceId") for a in volume.get("Attachments") or []],
        }
        yield ctx.finding(
            Status.PASS if encrypted else Status.FAIL,
            resource_id=ctx.arn("ec2", f"volume/{volume['VolumeId']}"),
            resource_type=VOLUME,
            message=f"EBS volume {volume['VolumeId']} is "
            + ("encrypted." if encrypted else "not encrypted."),
            evidence=evidence,
        )


def subnet_route_tables(
    route_tables: list[dict[str, Any]],
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(subnet id -> explicitly associated route table, VPC id -> main route table)."""
    explicit: dict[str, dict[str, Any]] = {}
    main: dict[str, Any] = {}
    for table in route_tables:
        for assoc in table.get("Associations") or []:
            if assoc.get("Main"):
                main[table["VpcId"]] = table
            elif assoc.get("SubnetId"):
                explicit[assoc["SubnetId"]] = table
    return explicit, main


def _active_routes(table: dict[str, Any] | None) -> list[dict[str, Any]]:
    # A route whose target is gone (deleted NAT gateway, stopped NAT instance) is a blackhole:
    # it carries nothing. https://docs.aws.amazon.com/vpc/latest/userguide/route-table-options.html
    return [r for r in (table or {}).get("Routes") or [] if r.get("State", "active") != "blackhole"]


def _destination(route: dict[str, Any]) -> str:
    return str(
        route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
        or route.get("DestinationPrefixListId") or ""
    )


_TARGET_KEYS = (
    "NatGatewayId", "InstanceId", "EgressOnlyInternetGatewayId", "TransitGatewayId", "VpcPeeringConnectionId",
    "NetworkInterfaceId", "CarrierGatewayId", "LocalGatewayId", "CoreNetworkArn", "GatewayId",
)
_EGRESS_KEYS = frozenset({"NatGatewayId", "InstanceId", "EgressOnlyInternetGatewayId"})
TIERS = ("public", "private-nat", "private-routed", "isolated")


def subnet_tier(table: dict[str, Any] | None) -> tuple[str, list[str]]:
    """(tier, the routes that decide it as "destination -> target") for a subnet's route table.

    - ``public``: a route to an internet gateway (igw-); a NAT gateway or an egress-only
      gateway does not make a subnet public.
      https://docs.aws.amazon.com/vpc/latest/userguide/configure-subnets.html#subnet-types
    - ``private-nat``: a default route (0.0.0.0/0 or ::/0) to a NAT gateway, a NAT instance
      (a route to an instance) or, for IPv6, an egress-only internet gateway: outbound-only
      internet access.
    - ``private-routed``: a default route to anything else (transit gateway, virtual private
      gateway, peering, a firewall or appliance endpoint): egress through another network.
    - ``isolated``: no default route (local routes, and perhaps specific ones such as gateway
      endpoints): a data tier.
    Blackhole routes are ignored."""
    igw = [r for r in _active_routes(table) if str(r.get("GatewayId", "")).startswith("igw-")]
    if igw:
        return "public", [f"{_destination(r)} -> {r['GatewayId']}" for r in igw]
    targets: list[tuple[str, str, str]] = []  # (destination, target key, target id)
    for route in _active_routes(table):
        key = next((k for k in _TARGET_KEYS if route.get(k)), None)
        if key and _destination(route) in ("0.0.0.0/0", "::/0"):
            targets.append((_destination(route), key, str(route[key])))
    if not targets:
        return "isolated", []
    shown = [f"{destination} -> {target}" for destination, _, target in targets]
    nat = any(key in _EGRESS_KEYS or target.startswith("eigw-") for _, key, target in targets)
    return ("private-nat" if nat else "private-routed"), shown


@check(
    id="ec2_vpc_multi_az_subnets",
    title="Each subnet tier of a VPC spans at least two Availability Zones",
    severity=Severity.LOW,
    criteria=("DOC-001.2",),
    permissions=("ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeRouteTables"),
    scope=Scope.REGIONAL,
    remediation="Add a subnet of the same tier in a second Availability Zone and spread the tier's resources "
    "over both: public = routed to the internet gateway; private-nat = default route to a NAT gateway (one per "
    "AZ, so an AZ outage does not cut the others' egress); private-routed = default route to the same transit "
    "or virtual private gateway; isolated = no default route.",
)
def ec2_vpc_multi_az_subnets(ctx: CheckContext) -> Iterator[Finding]:
    """DOC-001.2 asks for high availability across Availability Zones. A workload can only span
    AZs if each of its tiers has subnets in more than one. Subnets are grouped into tiers by
    the routing of their route table (explicit, else the VPC's main table), see
    :func:`subnet_tier`: public (internet gateway), private-nat (default route to a NAT gateway
    or instance, or an egress-only gateway), private-routed (default route elsewhere, e.g. a
    transit gateway) and isolated (no default route). Keeping these apart matters: an isolated
    data tier in one AZ is not hidden by a NAT-routed app tier spread over two. A tier with
    subnets in only one AZ fails; the evidence lists each tier's AZs, subnets and route tables.
    Evidence for the architecture, not proof that the resources are spread (see
    autoscaling_multi_az, elb_multi_az, rds_multi_az)."""
    found = vpcs(ctx)
    if not found:
        yield ctx.finding(Status.NOT_APPLICABLE, message=f"No VPCs in {ctx.region}.", evidence={})
        return
    subnets = ctx.read("ec2", "DescribeSubnets").get("Subnets", [])
    explicit, main = subnet_route_tables(ctx.read("ec2", "DescribeRouteTables").get("RouteTables", []))
    for vpc in found:
        vpc_id = vpc["VpcId"]
        tiers: dict[str, dict[str, list[str]]] = {}
        routing: dict[str, dict[str, list[str]]] = {}
        for subnet in (s for s in subnets if s.get("VpcId") == vpc_id):
            table = explicit.get(subnet["SubnetId"]) or main.get(vpc_id)
            tier, routes = subnet_tier(table)
            tiers.setdefault(tier, {}).setdefault(subnet["AvailabilityZone"], []).append(subnet["SubnetId"])
            table_id = str((table or {}).get("RouteTableId", "none"))
            routing.setdefault(tier, {}).setdefault(table_id, routes)
        ordered = [t for t in TIERS if t in tiers]
        evidence = {
            "vpc_id": vpc_id,
            "is_default": bool(vpc.get("IsDefault")),
            "tiers": {t: {az: sorted(ids) for az, ids in sorted(tiers[t].items())} for t in ordered},
            "tier_availability_zones": {t: sorted(tiers[t]) for t in ordered},
            "tier_route_tables": {t: dict(sorted(routing[t].items())) for t in ordered},
        }
        arn = ctx.arn("ec2", f"vpc/{vpc_id}")
        if not tiers:
            yield ctx.finding(
                Status.NOT_APPLICABLE,
                resource_id=arn,
                resource_type=VPC,
                evidence=evidence,
                message=f"VPC {vpc_id} has no subnets.",
            )
            continue
        single = [f"{t} ({next(iter(tiers[t]))})" for t in ordered if len(tiers[t]) < 2]
        spans = "; ".join(f"{t}: {', '.join(sorted(tiers[t]))}" for t in ordered)
        if single:
            yield ctx.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type=VPC,
                evidence=evidence,
                message=f"VPC {vpc_id}: tier(s) in a single AZ: {', '.join(single)} (AZs per tier: {spans}).",
            )
        else:
            yield ctx.finding(
                Status.PASS,
                resource_id=arn,
                resource_type=VPC,
                evidence=evidence,
                message=f"VPC {vpc_id}: every subnet tier spans two or more AZs ({spans}).",
            )
