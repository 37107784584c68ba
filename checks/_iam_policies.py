"""Helpers of the ACCT-002 checks in ``checks/iam.py``: the shared IAM snapshot and wording.

Kept apart so that ``checks/iam.py`` holds the checks themselves. All policy checks read
``GetAccountAuthorizationDetails`` once per scan (the gateway pages it and caches the merged
answer) and judge it with :mod:`scanner.analysis` (pure, table-tested).
"""

from __future__ import annotations

from typing import Any

from scanner.analysis.iam_conditions import condition_keys
from scanner.analysis.iam_inventory import PolicySource, policy_sources
from scanner.analysis.iam_statements import Problem
from scanner.analysis.policy import Grant, PolicyAnalysis, analyse
from scanner.context import CheckContext
from scanner.gateway import CallFailed

AUTHORIZATION_DETAILS = "iam:GetAccountAuthorizationDetails"
POLICY_TYPES = {"customer_managed": "AWS::IAM::ManagedPolicy", "inline": "AWS::IAM::Policy"}
USER = "AWS::IAM::User"
# Actions AWS defines without resource types: "Resource": "*" is the only way to grant them.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
NO_RESOURCE_TYPE_ACTIONS = ("cloudwatch:PutMetricData", "xray:PutTraceSegments", "xray:PutTelemetryRecords")


def authorization_details(ctx: CheckContext) -> dict[str, Any]:
    return ctx.read("iam", "GetAccountAuthorizationDetails")


def judged_policies(ctx: CheckContext) -> list[tuple[PolicySource, PolicyAnalysis]]:
    """Customer-managed (attached or not) and inline policies, each with its analysis."""
    judged = []
    for source in policy_sources(authorization_details(ctx)):
        if source.kind == "aws_managed":
            continue
        if source.document is None:
            analysis = PolicyAnalysis(problems=(Problem("document", "the answer carried no default version"),))
        else:
            analysis = analyse(source.document)
        judged.append((source, analysis))
    return judged


def policy_label(source: PolicySource) -> str:
    if source.kind == "inline":
        return f"Inline policy {source.name} of {source.owner}"
    return f"Customer-managed policy {source.name}"


def reach_phrase(source: PolicySource) -> str:
    if source.kind == "customer_managed" and not source.attached:
        return "unattached (grants nothing until attached)"
    return f"reaches {len(source.reaches)} principal(s)"


def boundary_message(source: PolicySource, what: str) -> str:
    """A policy used only as a permissions boundary: what it says limits, it grants nothing."""
    return (f"{policy_label(source)} is attached to no principal and used only as a permissions boundary for "
            f"{source.boundary_uses} principal(s): a boundary limits what they may do and grants nothing by "
            f"itself{what}.")


def grant_phrase(grant: Grant) -> str:
    parts = [grant.ref]
    if grant.not_action:
        parts.append(f"every action except {', '.join(grant.actions)}")
    if grant.conditional:
        parts.append("conditionally on " + ", ".join(condition_keys(grant.statement.condition)))
    if grant.narrowed_by:
        parts.append("what the Deny of " + ", ".join(n.ref for n in grant.narrowed_by) + " leaves")
    if grant.carve_outs:
        parts.append("before the partial Deny of " + ", ".join(c.ref for c in grant.carve_outs) + ", not subtracted")
    if grant.conditional_denies:
        parts.append("the conditional Deny of " + ", ".join(c.ref for c in grant.conditional_denies) + " not applied")
    return " ".join(parts[:1]) + (f" ({'; '.join(parts[1:])})" if parts[1:] else "")


def problems_evidence(analysis: PolicyAnalysis) -> list[dict[str, str | None]]:
    return [{"statement_ref": p.ref, "problem": p.message, "effect": p.effect} for p in analysis.problems]


def unreadable_may_deny(analysis: PolicyAnalysis) -> bool:
    """Could an unreadable part of the policy be a Deny (and so remove what the readable Allows
    grant)? Only a statement whose ``Effect`` reads ``Allow`` certainly cannot."""
    return any(p.effect != "Allow" for p in analysis.problems)


def problems_message(source: PolicySource, analysis: PolicyAnalysis) -> str:
    listed = "; ".join(f"{p.ref}: {p.message}" for p in analysis.problems)
    return f"Could not evaluate: {policy_label(source)} has statements the analyser cannot read ({listed})."


# OIDC issuers that federate CI/CD or cluster workloads, not people (good for ACCT-002.2,
# not the workforce federation ACCT-002.3 asks about).
WORKLOAD_OIDC_ISSUERS = (
    "token.actions.githubusercontent.com", "gitlab.com", "app.terraform.io", "oidc.eks.",
    "api.bitbucket.org", "oidc.circleci.com", "vstoken.dev.azure.com",
)
IDENTITY_CENTER_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"


def identity_center_instances(ctx: CheckContext) -> tuple[list[dict[str, Any]], list[CallFailed]]:
    """Instances in every scanned region: Identity Center lives in one region of the account."""
    found: list[dict[str, Any]] = []
    failures: list[CallFailed] = []
    for region in ctx.regions or (ctx.home_region,):
        try:
            instances = ctx.read("sso-admin", "ListInstances", region=region).get("Instances", [])
        except CallFailed as failure:
            failures.append(failure)
            continue
        found += [{"region": region, "InstanceArn": i.get("InstanceArn"), "Status": i.get("Status")} for i in instances]
    return found, failures
