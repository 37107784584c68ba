"""CloudFormation: infrastructure deployed as code, whose templates are sound and whose live
resources still match them (REL-001.1).

All three checks read the stacks of a region once (``DescribeStacks``, shared through the
gateway cache). Stacks that deploy nothing (``REVIEW_IN_PROGRESS``: a change set never executed;
``ROLLBACK_COMPLETE``/``CREATE_FAILED``: creation failed and rolled back) are left out.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html#cfn-console-view-stack-data-resources-status-codes
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from scanner.context import CheckContext
from scanner.gateway import CallFailed
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

STACK = "AWS::CloudFormation::Stack"
NOT_DEPLOYED = frozenset({"REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "CREATE_FAILED", "DELETE_COMPLETE"})
STACK_NAME_TAG = "aws:cloudformation:stack-name"
MAX_LISTED = 50


def deployed_stacks(ctx: CheckContext) -> list[dict[str, Any]]:
    stacks: list[dict[str, Any]] = ctx.read("cloudformation", "DescribeStacks").get("Stacks", [])
    return [s for s in stacks if s.get("StackStatus") not in NOT_DEPLOYED]


def _iac_markers(ctx: CheckContext) -> list[tuple[str, str | None]]:
    """Tags that mark a resource as deployed by code: CloudFormation's own, plus the setting
    ``iac_tag_keys`` (entries ``key`` or ``key=value``, e.g. ``managed-by=terraform``)."""
    markers: list[tuple[str, str | None]] = [(STACK_NAME_TAG, None)]
    for entry in ctx.setting("iac_tag_keys", ()):
        key, sep, value = str(entry).partition("=")
        markers.append((key, value if sep else None))
    return markers


def _managed_by(tags: dict[str, str], markers: list[tuple[str, str | None]]) -> str | None:
    for key, value in markers:
        if key in tags and (value is None or tags[key] == value):
            return tags[key] if key == STACK_NAME_TAG else f"{key}={tags[key]}"
    return None


@check(
    id="cloudformation_stacks_present",
    title="Infrastructure is deployed by CloudFormation stacks",
    severity=Severity.MEDIUM,
    criteria=("REL-001.1",),
    permissions=("cloudformation:DescribeStacks", "tag:GetResources"),
    scope=Scope.REGIONAL,
    remediation="Deploy the workload's resources through CloudFormation (or CDK/SAM), and import resources "
    "created by hand into a stack (CloudFormation resource import, or IaC generator).",
)
def cloudformation_stacks_present(ctx: CheckContext) -> Iterator[Finding]:
    """Infrastructure built by hand cannot be rebuilt, reviewed or rolled back. CloudFormation tags
    every resource it creates that supports tags with ``aws:cloudformation:stack-name``, so the
    Resource Groups Tagging API tells, for the region's tagged resources, which a stack manages.
    The share is managed / all (stacks themselves excluded); PASS when stacks exist and the share
    is at least ``iac_min_share`` (default 0.8). Untaggable resources and resources never tagged
    are invisible to this API: the share is over what it lists. Other IaC tools can be credited
    with the ``iac_tag_keys`` setting (their tags); otherwise their evidence stays manual.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-resource-tags.html"""
    min_share = float(ctx.setting("iac_min_share", 0.8))
    markers = _iac_markers(ctx)
    stacks = deployed_stacks(ctx)
    mappings = ctx.read("resourcegroupstaggingapi", "GetResources").get("ResourceTagMappingList", [])
    managed: Counter[str] = Counter()
    unmanaged: list[str] = []
    for mapping in mappings:
        arn = mapping["ResourceARN"]
        if arn.split(":")[2] == "cloudformation":
            continue  # a stack (or stack set) is the deployment, not the deployed infrastructure
        owner = _managed_by({t["Key"]: t["Value"] for t in mapping.get("Tags", [])}, markers)
        if owner is None:
            unmanaged.append(arn)
        else:
            managed[owner] += 1
    total = sum(managed.values()) + len(unmanaged)
    share = round(sum(managed.values()) / total, 3) if total else None
    evidence: dict[str, Any] = {
        "stacks": len(stacks),
        "stack_names": sorted(s["StackName"] for s in stacks)[:MAX_LISTED],
        "tagged_resources": total,
        "managed_resources": sum(managed.values()),
        "share": share,
        "min_share": min_share,
        "managed_by": dict(sorted(managed.items())),
        "unmanaged_resources": sorted(unmanaged)[:MAX_LISTED],
        "iac_tags": [k if v is None else f"{k}={v}" for k, v in markers],
    }
    if not stacks and not total:
        yield ctx.finding(
            Status.NOT_APPLICABLE, message=f"No stack and no tagged resource in {ctx.region}.", evidence=evidence
        )
        return
    # Resources credited to another IaC tool (owner "key=value"; stack names cannot hold "=")
    # stand in for stacks when the scan was told about that tool.
    credited = bool(stacks) or any("=" in owner for owner in managed)
    if credited and (share is None or share >= min_share):
        detail = (
            "no tagged resource outside them"
            if share is None
            else (f"{evidence['managed_resources']} of {total} tagged resources ({share:.0%}) are deployed by code")
        )
        yield ctx.finding(Status.PASS, message=f"{len(stacks)} stack(s) in {ctx.region}; {detail}.", evidence=evidence)
        return
    if not credited:
        message = f"No CloudFormation stack in {ctx.region}, yet {total} tagged resource(s) exist."
    else:
        message = (
            f"Only {evidence['managed_resources']} of {total} tagged resources ({share:.0%}) in {ctx.region} are "
            f"deployed by code (minimum {min_share:.0%}); {len(unmanaged)} are not."
        )
    yield ctx.finding(Status.FAIL, message=message, evidence=evidence)


# cfn-lint keeps process-wide state while it loads rules and specs; checks run in threads.
_LINT_LOCK = threading.Lock()


def lint_template(body: str, region: str) -> list[dict[str, Any]]:
    """cfn-lint's findings for one template (default rules: errors and warnings, no informational)."""
    from cfnlint.api import ManualArgs, lint

    with _LINT_LOCK:
        matches = lint(body, config=ManualArgs(regions=[region]))
    return [
        {
            "rule": m.rule.id,
            "severity": str(m.rule.severity).lower(),
            "line": m.linenumber,
            "column": m.columnnumber,
            "message": m.message,
        }
        for m in matches
    ]


def _cfn_lint_version() -> str:
    from importlib.metadata import version

    return version("cfn-lint")


@check(
    id="cloudformation_templates_lint",
    title="Deployed stack templates have no cfn-lint errors",
    severity=Severity.LOW,
    criteria=("REL-001.1",),
    permissions=("cloudformation:DescribeStacks", "cloudformation:GetTemplate"),
    scope=Scope.REGIONAL,
    remediation="Run cfn-lint on the templates in the deployment pipeline, fix the reported errors and "
    "update the stacks.",
)
def cloudformation_templates_lint(ctx: CheckContext) -> Iterator[Finding]:
    """Infrastructure as code is only as good as its code: a template with schema errors (unknown
    properties, values out of range, broken references) deploys by luck and will fail the next
    update. Each stack's template as submitted (``GetTemplate`` stage ``Original``, before
    transforms such as SAM) is linted in-process with cfn-lint for the stack's region; errors
    fail the stack, warnings are reported with a PASS. botocore returns JSON templates already
    parsed: they are re-serialised (2-space indent) before linting, so line numbers refer to that
    text, not to the author's file (the evidence says which)."""
    stacks = deployed_stacks(ctx)
    if not stacks:
        yield ctx.finding(Status.NOT_APPLICABLE, message=f"No CloudFormation stack in {ctx.region}.", evidence={})
        return
    for stack in stacks:
        arn, name = stack["StackId"], stack["StackName"]
        try:
            answer = ctx.read("cloudformation", "GetTemplate", StackName=arn, TemplateStage="Original")
        except CallFailed as failure:
            yield ctx.error(failure, resource_id=arn, resource_type=STACK)
            continue
        body = answer.get("TemplateBody", "")
        text, source = (
            (body, "as deployed") if isinstance(body, str) else (json.dumps(body, indent=2), "json re-serialised")
        )
        findings = lint_template(text, ctx.region)
        errors = [f for f in findings if f["severity"] == "error"]
        warnings = [f for f in findings if f["severity"] == "warning"]
        evidence = {
            "stack": name,
            "cfn_lint_version": _cfn_lint_version(),
            "template_lines": source,
            "errors": len(errors),
            "warnings": len(warnings),
            "findings": (errors + warnings)[:MAX_LISTED],
        }
        if errors:
            rules = ", ".join(sorted({f"{e['rule']} (line {e['line']})" for e in errors}))
            yield ctx.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type=STACK,
                evidence=evidence,
                message=f"Template of stack {name} has {len(errors)} cfn-lint error(s): {rules}.",
            )
        else:
            note = (
                f" ({len(warnings)} warning(s): {', '.join(sorted({w['rule'] for w in warnings}))})" if warnings else ""
            )
            yield ctx.finding(
                Status.PASS,
                resource_id=arn,
                resource_type=STACK,
                evidence=evidence,
                message=f"Template of stack {name} has no cfn-lint error{note}.",
            )


def _timestamp(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value else None)


@check(
    id="cloudformation_no_drift",
    title="No stack's last drift detection found drift",
    severity=Severity.MEDIUM,
    criteria=("REL-001.1",),
    permissions=("cloudformation:DescribeStacks",),
    scope=Scope.REGIONAL,
    remediation="Run drift detection (aws cloudformation detect-stack-drift), bring drifted resources back to "
    "the template or update the template, and detect drift regularly (e.g. an AWS Config rule).",
)
def cloudformation_no_drift(ctx: CheckContext) -> Iterator[Finding]:
    """A resource changed outside its stack (by hand in the console, by a script) silently
    diverges from the code that claims to describe it, and the next stack update may undo or
    break the change. govscan reads the result of the last drift detection only
    (``DriftInformation.StackDriftStatus``): starting a detection is a write
    (``DetectStackDrift``) and govscan never makes one. ``DRIFTED`` fails; ``IN_SYNC`` passes
    (the age of the detection is evidence); ``NOT_CHECKED`` (never detected) and ``UNKNOWN``
    (the detection could not finish) give no verdict and are reported NOT_APPLICABLE, asking
    for a detection to be run.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackDriftInformation.html"""
    stacks = deployed_stacks(ctx)
    if not stacks:
        yield ctx.finding(Status.NOT_APPLICABLE, message=f"No CloudFormation stack in {ctx.region}.", evidence={})
        return
    for stack in stacks:
        arn, name = stack["StackId"], stack["StackName"]
        drift = stack.get("DriftInformation") or {}
        status = drift.get("StackDriftStatus", "NOT_CHECKED")
        checked_at = drift.get("LastCheckTimestamp")
        evidence: dict[str, Any] = {"stack": name, "drift_status": status, "last_check": _timestamp(checked_at)}
        if isinstance(checked_at, datetime):
            evidence["days_since_check"] = (ctx.now - checked_at).days
        if status == "DRIFTED":
            yield ctx.finding(
                Status.FAIL,
                resource_id=arn,
                resource_type=STACK,
                evidence=evidence,
                message=f"Stack {name} had drifted at its last drift detection ({evidence['last_check']}).",
            )
        elif status == "IN_SYNC":
            yield ctx.finding(
                Status.PASS,
                resource_id=arn,
                resource_type=STACK,
                evidence=evidence,
                message=f"Stack {name} was in sync at its last drift detection ({evidence['last_check']}).",
            )
        else:
            yield ctx.finding(
                Status.NOT_APPLICABLE,
                resource_id=arn,
                resource_type=STACK,
                evidence=evidence,
                message=f"Stack {name} has no drift result ({status}): run drift detection to produce the evidence.",
            )
