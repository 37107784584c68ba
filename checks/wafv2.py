"""Other network protection in use (NETSEC-001.4): AWS WAF web ACLs and AWS Network Firewall.

GuardDuty and VPC flow logs, the other services NETSEC-001.4 can point to, have their own
checks (guardduty_enabled, ec2_vpc_flow_logs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from scanner.context import CheckContext
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

# Resource types a REGIONAL web ACL can protect; ListResourcesForWebACL answers one type per
# call and defaults to APPLICATION_LOAD_BALANCER, so each is asked for explicitly.
# https://docs.aws.amazon.com/waf/latest/APIReference/API_ListResourcesForWebACL.html
REGIONAL_RESOURCE_TYPES = (
    "APPLICATION_LOAD_BALANCER",
    "API_GATEWAY",
    "APPSYNC",
    "COGNITO_USER_POOL",
    "APP_RUNNER_SERVICE",
    "VERIFIED_ACCESS_INSTANCE",
)
CLOUDFRONT_REGION = "us-east-1"  # CLOUDFRONT-scope web ACLs and CloudFront itself answer here


def regional_web_acls(ctx: CheckContext, region: str) -> list[dict[str, Any]]:
    acls = ctx.read("wafv2", "ListWebACLs", region=region, Scope="REGIONAL").get("WebACLs", [])
    inventory = []
    for acl in acls:
        protected: list[str] = []
        for kind in REGIONAL_RESOURCE_TYPES:
            answer = ctx.read("wafv2", "ListResourcesForWebACL", region=region, WebACLArn=acl["ARN"], ResourceType=kind)
            protected.extend(answer.get("ResourceArns", []))
        inventory.append(
            {
                "web_acl": acl["ARN"],
                "name": acl.get("Name"),
                "scope": "REGIONAL",
                "region": region,
                "protects": protected,
            }
        )
    return inventory


def cloudfront_web_acls(ctx: CheckContext) -> list[dict[str, Any]]:
    """CLOUDFRONT-scope web ACLs and the distributions naming them (``WebACLId`` holds the
    WAFv2 web ACL's ARN)."""
    acls = ctx.read("wafv2", "ListWebACLs", region=CLOUDFRONT_REGION, Scope="CLOUDFRONT").get("WebACLs", [])
    if not acls:
        return []
    listing = ctx.read("cloudfront", "ListDistributions", region=CLOUDFRONT_REGION).get("DistributionList") or {}
    by_acl: dict[str, list[str]] = {}
    for dist in listing.get("Items") or []:
        if dist.get("WebACLId"):
            by_acl.setdefault(dist["WebACLId"], []).append(dist["ARN"])
    return [
        {
            "web_acl": a["ARN"],
            "name": a.get("Name"),
            "scope": "CLOUDFRONT",
            "region": "global",
            "protects": by_acl.get(a["ARN"], []),
        }
        for a in acls
    ]


def network_firewalls(ctx: CheckContext, region: str) -> list[dict[str, Any]]:
    """Network Firewall firewalls with the VPC and subnets of their endpoints. A firewall is
    taken to protect its VPC; whether route tables send traffic through its endpoints is not
    judged here."""
    listed = ctx.read("network-firewall", "ListFirewalls", region=region).get("Firewalls", [])
    inventory = []
    for item in listed:
        answer = ctx.read("network-firewall", "DescribeFirewall", region=region, FirewallArn=item["FirewallArn"])
        firewall = answer.get("Firewall") or {}
        subnets = [m.get("SubnetId") for m in firewall.get("SubnetMappings") or []]
        inventory.append(
            {
                "firewall": item["FirewallArn"],
                "name": item.get("FirewallName"),
                "region": region,
                "vpc_id": firewall.get("VpcId"),
                "subnets": subnets,
                "status": (answer.get("FirewallStatus") or {}).get("Status"),
            }
        )
    return inventory


@check(
    id="wafv2_network_protection_inventory",
    title="AWS WAF or AWS Network Firewall protects something in the account",
    severity=Severity.LOW,
    criteria=("NETSEC-001.4",),
    permissions=(
        "wafv2:ListWebACLs",
        "wafv2:ListResourcesForWebACL",
        "cloudfront:ListDistributions",
        "network-firewall:ListFirewalls",
        "network-firewall:DescribeFirewall",
    ),
    scope=Scope.GLOBAL,
    remediation="Put internet-facing load balancers, APIs and CloudFront distributions behind an AWS WAF web "
    "ACL (e.g. with the AWS managed core rule set), or inspect VPC traffic with AWS Network Firewall.",
)
def wafv2_network_protection_inventory(ctx: CheckContext) -> Iterator[Finding]:
    """NETSEC-001.4 asks which other AWS network security services protect the workload. This is
    the inventory of AWS WAF web ACLs (regional ones in every scanned region, CloudFront ones
    globally) with what each protects, and of AWS Network Firewall firewalls with their VPC. It
    passes when at least one web ACL is associated with a resource or one firewall is deployed
    in a VPC; a web ACL associated with nothing protects nothing. Otherwise it fails with low
    severity: GuardDuty and flow logs (their own checks) can evidence the criterion too. A
    region whose inventory cannot be read is an ERROR only when nothing protective was found
    elsewhere, since one protected resource already settles the verdict."""
    web_acls: list[dict[str, Any]] = []
    firewalls: list[dict[str, Any]] = []
    failures: list[CallFailed] = []
    readers: list[tuple[list[dict[str, Any]], Callable[[], list[dict[str, Any]]]]] = [
        (web_acls, partial(cloudfront_web_acls, ctx))
    ]
    for region in ctx.regions:
        readers.append((web_acls, partial(regional_web_acls, ctx, region)))
        readers.append((firewalls, partial(network_firewalls, ctx, region)))
    for target, read in readers:
        try:
            target.extend(read())
        except CallFailed as failure:
            failures.append(failure)
    protecting_acls = [a for a in web_acls if a["protects"]]
    deployed = [f for f in firewalls if f["vpc_id"] and f["subnets"]]
    evidence = {
        "regions": list(ctx.regions),
        "web_acls": web_acls,
        "network_firewalls": firewalls,
        "unreadable": [{"action": f.action, "region": f.call.region, "error_code": f.error_code} for f in failures],
    }
    if protecting_acls or deployed:
        parts = []
        if protecting_acls:
            count = sum(len(a["protects"]) for a in protecting_acls)
            parts.append(f"{len(protecting_acls)} WAF web ACL(s) protecting {count} resource(s)")
        if deployed:
            parts.append(
                f"{len(deployed)} Network Firewall firewall(s) in "
                + ", ".join(sorted({str(f["vpc_id"]) for f in deployed}))
            )
        yield ctx.finding(
            Status.PASS, message="Network protection in use: " + "; ".join(parts) + ".", evidence=evidence
        )
    elif failures:
        yield ctx.error(failures[0])
    else:
        idle = f" ({len(web_acls)} web ACL(s) associated with nothing)" if web_acls else ""
        yield ctx.finding(
            Status.FAIL,
            evidence=evidence,
            message=f"No AWS WAF web ACL protects a resource and no AWS Network Firewall is "
            f"deployed in {', '.join(ctx.regions)}{idle}.",
        )
