"""Elastic Load Balancing (ALB, NLB, GWLB through elbv2; Classic Load Balancers through elb):
encrypted internet-facing endpoints (NETSEC-002.1) and multi-AZ placement (DOC-001.2)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scanner.context import CheckContext
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

V2 = "AWS::ElasticLoadBalancingV2::LoadBalancer"
CLASSIC = "AWS::ElasticLoadBalancing::LoadBalancer"
# Listener protocols whose traffic is encrypted between client and load balancer. QUIC always
# carries TLS 1.3 (RFC 9001); TCP_QUIC also accepts plain TCP, so it is not in the list.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/create-https-listener.html
# https://docs.aws.amazon.com/elasticloadbalancing/latest/network/create-tls-listener.html
ENCRYPTED_V2 = frozenset({"HTTPS", "TLS", "QUIC"})
ENCRYPTED_CLASSIC = frozenset({"HTTPS", "SSL"})


@dataclass(frozen=True)
class LoadBalancer:
    arn: str
    resource_type: str
    name: str
    kind: str  # application | network | gateway | classic
    scheme: str
    zones: tuple[str, ...]
    record: dict[str, Any]

    @property
    def label(self) -> str:
        kind = "Classic" if self.kind == "classic" else self.kind.capitalize()
        return f"{kind} load balancer {self.name}"


def load_balancers(ctx: CheckContext) -> list[LoadBalancer]:
    """Every load balancer of the region, elbv2 first, then Classic (both listings unfiltered and
    shared by the elb checks through the cache)."""
    found: list[LoadBalancer] = []
    for lb in ctx.read("elbv2", "DescribeLoadBalancers").get("LoadBalancers", []):
        zones = tuple(sorted({z["ZoneName"] for z in lb.get("AvailabilityZones", []) if z.get("ZoneName")}))
        found.append(LoadBalancer(lb["LoadBalancerArn"], V2, lb["LoadBalancerName"], lb.get("Type", "application"),
                                  lb.get("Scheme", ""), zones, lb))
    for lb in ctx.read("elb", "DescribeLoadBalancers").get("LoadBalancerDescriptions", []):
        name = lb["LoadBalancerName"]
        found.append(LoadBalancer(ctx.arn("elasticloadbalancing", f"loadbalancer/{name}"), CLASSIC, name, "classic",
                                  lb.get("Scheme", ""), tuple(sorted(set(lb.get("AvailabilityZones", [])))), lb))
    return found


def redirects_to_https(actions: list[dict[str, Any]]) -> bool:
    """Every action of the rule is a redirect whose target protocol is HTTPS.

    ``#{protocol}`` (also the default when ``Protocol`` is omitted) keeps the request's own
    protocol, so on an HTTP listener it redirects to HTTP: not a redirect to HTTPS. A
    ``fixed-response`` action answers over plain HTTP after the client already sent its request
    (path, headers, cookies) in clear, so it does not count either -- as in AWS Security Hub
    ELB.1, which accepts only a redirect to HTTPS on HTTP listeners.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html#redirect-actions
    """
    return bool(actions) and all(
        a.get("Type") == "redirect" and (a.get("RedirectConfig") or {}).get("Protocol") == "HTTPS" for a in actions
    )


def v2_listener_facts(ctx: CheckContext, listener: dict[str, Any]) -> dict[str, Any]:
    """One elbv2 listener: protocol, and for HTTP whether every rule (the default one included)
    only redirects to HTTPS. A single forwarding rule on an HTTP listener serves plaintext."""
    facts: dict[str, Any] = {"listener": listener["ListenerArn"], "protocol": listener.get("Protocol"),
                             "port": listener.get("Port")}
    protocol = listener.get("Protocol")
    if protocol in ENCRYPTED_V2:
        facts.update({"encrypted": True, "redirects_to_https": False, "ssl_policy": listener.get("SslPolicy")})
        return facts
    if protocol == "HTTP":
        rules = ctx.read("elbv2", "DescribeRules", ListenerArn=listener["ListenerArn"]).get("Rules", [])
        plaintext = [r for r in rules if not redirects_to_https(r.get("Actions", []))]
        facts.update({"encrypted": False, "redirects_to_https": not plaintext and bool(rules)})
        if plaintext:
            facts["plaintext_rules"] = [
                {"rule": r.get("RuleArn"), "priority": r.get("Priority"),
                 "actions": [a.get("Type") for a in r.get("Actions", [])]} for r in plaintext
            ]
        return facts
    facts.update({"encrypted": False, "redirects_to_https": False})
    return facts


def classic_listener_facts(description: dict[str, Any]) -> dict[str, Any]:
    listener = description.get("Listener", {})
    protocol = str(listener.get("Protocol", "")).upper()
    return {"protocol": protocol, "port": listener.get("LoadBalancerPort"),
            "instance_protocol": listener.get("InstanceProtocol"), "encrypted": protocol in ENCRYPTED_CLASSIC,
            "redirects_to_https": False, "policies": description.get("PolicyNames", [])}


def listener_label(facts: dict[str, Any]) -> str:
    return f"{facts['protocol']}:{facts['port']}"


@check(
    id="elb_tls_listeners",
    title="Internet-facing load balancers only serve HTTPS/TLS (HTTP only redirects to HTTPS)",
    severity=Severity.HIGH,
    criteria=("NETSEC-002.1",),
    permissions=(
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeRules",
    ),
    scope=Scope.REGIONAL,
    remediation="Serve HTTPS (ALB, Classic) or TLS (NLB) with an ACM certificate; on an ALB, make every rule of "
    "the HTTP listener a redirect to HTTPS (HTTP_301), or remove the HTTP listener. Classic Load Balancers "
    "cannot redirect: migrate them to an ALB.",
)
def elb_tls_listeners(ctx: CheckContext) -> Iterator[Finding]:
    """Traffic between users and an internet-facing load balancer crosses the internet: the
    checklist asks that endpoints exposed to the internet encrypt it. Each listener must be
    HTTPS/TLS (QUIC counts: it always carries TLS 1.3), or an ALB HTTP listener whose rules all
    redirect to HTTPS (a single forwarding or fixed-response rule serves plaintext, and so does
    a redirect to ``#{protocol}``). NLB TCP/UDP listeners are
    reported as unencrypted even when the targets terminate TLS themselves (TLS passthrough):
    the load balancer cannot show that, so record it in the manual evidence. Internal load
    balancers are not internet endpoints and are not findings; gateway load balancers are
    always internal."""
    all_lbs = load_balancers(ctx)
    public = [lb for lb in all_lbs if lb.scheme == "internet-facing"]
    if not public:
        internal = [lb.arn for lb in all_lbs]
        message = (f"No internet-facing load balancers in {ctx.region}"
                   + (f" ({len(internal)} internal, not judged)." if internal else "."))
        yield ctx.finding(Status.NOT_APPLICABLE, message=message, evidence={"internal_load_balancers": internal})
        return
    for lb in public:
        try:
            if lb.kind == "classic":
                listeners = [classic_listener_facts(d) for d in lb.record.get("ListenerDescriptions", [])]
            else:
                answer = ctx.read("elbv2", "DescribeListeners", LoadBalancerArn=lb.arn)
                listeners = [v2_listener_facts(ctx, listener) for listener in answer.get("Listeners", [])]
        except CallFailed as failure:
            yield ctx.error(failure, resource_id=lb.arn, resource_type=lb.resource_type)
            continue
        evidence = {"name": lb.name, "type": lb.kind, "scheme": lb.scheme,
                    "dns_name": lb.record.get("DNSName"), "listeners": listeners}
        if not listeners:
            yield ctx.finding(Status.NOT_APPLICABLE, resource_id=lb.arn, resource_type=lb.resource_type,
                              message=f"{lb.label} has no listeners, so it serves no traffic.", evidence=evidence)
            continue
        plaintext = [f for f in listeners if not f["encrypted"] and not f["redirects_to_https"]]
        if plaintext:
            names = ", ".join(listener_label(f) for f in plaintext)
            yield ctx.finding(Status.FAIL, resource_id=lb.arn, resource_type=lb.resource_type, evidence=evidence,
                              message=f"Internet-facing {lb.label} serves unencrypted listeners: {names}.")
        else:
            redirects = [listener_label(f) for f in listeners if f["redirects_to_https"]]
            extra = f" ({', '.join(redirects)} only redirect to HTTPS)" if redirects else ""
            yield ctx.finding(Status.PASS, resource_id=lb.arn, resource_type=lb.resource_type, evidence=evidence,
                              message=f"Internet-facing {lb.label} serves only HTTPS/TLS{extra}.")


@check(
    id="elb_multi_az",
    title="Load balancers span at least two Availability Zones",
    severity=Severity.MEDIUM,
    criteria=("DOC-001.2",),
    permissions=("elasticloadbalancing:DescribeLoadBalancers",),
    scope=Scope.REGIONAL,
    remediation="Enable a subnet in a second Availability Zone (aws elbv2 set-subnets, or aws elb "
    "enable-availability-zones-for-load-balancer / attach-load-balancer-to-subnets for Classic) and "
    "register targets there.",
)
def elb_multi_az(ctx: CheckContext) -> Iterator[Finding]:
    """A load balancer with nodes in one Availability Zone goes down with that zone, however many
    targets stand behind it elsewhere. The checklist asks for high availability across AZs. Every
    load balancer, internal or internet-facing, must have at least two enabled Availability Zones
    (AWS requires two for an ALB; NLBs, GWLBs and Classic Load Balancers accept one).
    https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/how-elastic-load-balancing-works.html"""
    all_lbs = load_balancers(ctx)
    if not all_lbs:
        yield ctx.finding(Status.NOT_APPLICABLE, message=f"No load balancers in {ctx.region}.", evidence={})
        return
    for lb in all_lbs:
        evidence = {"name": lb.name, "type": lb.kind, "scheme": lb.scheme, "availability_zones": list(lb.zones)}
        if len(lb.zones) >= 2:
            yield ctx.finding(Status.PASS, resource_id=lb.arn, resource_type=lb.resource_type, evidence=evidence,
                              message=f"{lb.label} spans {len(lb.zones)} Availability Zones.")
        else:
            where = lb.zones[0] if lb.zones else "no Availability Zone"
            yield ctx.finding(Status.FAIL, resource_id=lb.arn, resource_type=lb.resource_type, evidence=evidence,
                              message=f"{lb.label} runs in {where} only.")
