"""IAM: the root user (ACCT-001) and least-privilege identities (ACCT-002)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from scanner.context import CheckContext
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

ROOT_USER = "<root_account>"
NO_VALUE = {"", "N/A", "no_information", "not_supported"}
CREDENTIAL_REPORT_PERMISSIONS = ("iam:GenerateCredentialReport", "iam:GetCredentialReport")


def credential_report(ctx: CheckContext, *, attempts: int = 10, wait_seconds: float = 2.0) -> list[dict[str, str]]:
    """The IAM credential report as rows.

    GenerateCredentialReport answers STARTED until the report is ready; each poll is its own
    recorded call, and all checks of the scan share the same polls through the gateway cache.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html
    """
    for attempt in range(attempts):
        state = ctx.read("iam", "GenerateCredentialReport", poll=attempt).get("State")
        if state == "COMPLETE":
            break
        time.sleep(wait_seconds)
    content = ctx.read("iam", "GetCredentialReport").get("Content", b"")
    text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    return list(csv.DictReader(io.StringIO(text)))


def root_row(ctx: CheckContext) -> dict[str, str]:
    for row in credential_report(ctx):
        if row.get("user") == ROOT_USER:
            return row
    raise LookupError("the credential report has no <root_account> row")


def parse_time(value: str | None) -> datetime | None:
    if not value or value in NO_VALUE:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def account_summary(ctx: CheckContext) -> dict[str, int]:
    summary: dict[str, int] = ctx.read("iam", "GetAccountSummary").get("SummaryMap", {})
    return summary


def root_credentials_absent(summary: dict[str, int]) -> bool:
    """Root has neither a password nor access keys: the state Organizations' centralised root
    access management leaves a member account in (and the strongest one there is).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html#id_root-user-access-management
    """
    return summary.get("AccountPasswordPresent", 1) == 0 and summary.get("AccountAccessKeysPresent", 1) == 0


def organizations_root_features(ctx: CheckContext) -> dict[str, Any] | None:
    # Only the management account (or a delegated administrator) may ask; elsewhere AWS answers
    # with an error that is information ("not the management account"), not a denial.
    return ctx.read_optional(
        "iam",
        "ListOrganizationsFeatures",
        absent=(
            "AccountNotManagementOrDelegatedAdministratorException",
            "OrganizationNotFoundException",
            "OrganizationNotInAllFeaturesModeException",
            "ServiceAccessNotEnabledException",
        ),
    )


@check(
    id="iam_root_mfa_enabled",
    title="The root user has MFA, or no credentials at all",
    severity=Severity.CRITICAL,
    criteria=("ACCT-001.2",),
    permissions=("iam:GetAccountSummary", "iam:ListOrganizationsFeatures"),
    scope=Scope.GLOBAL,
    remediation="Enable MFA on the root user (IAM > Security credentials as root), or remove root credentials "
    "centrally with AWS Organizations' root access management.",
)
def iam_root_mfa_enabled(ctx: CheckContext) -> Iterator[Finding]:
    """The root user can do anything, including closing the account; a password alone is one
    phishing e-mail away from losing it. The checklist requires MFA on root. An account whose
    root credentials were removed centrally (AWS Organizations) has nothing to protect: that
    passes, with the evidence."""
    summary = account_summary(ctx)
    evidence: dict[str, Any] = {
        k: summary.get(k)
        for k in ("AccountMFAEnabled", "AccountPasswordPresent", "AccountAccessKeysPresent")
        if k in summary
    }
    if summary.get("AccountMFAEnabled") == 1:
        yield ctx.finding(Status.PASS, resource_id=ctx.account_arn, resource_type="AWS::IAM::Root",
                          message="The root user has MFA enabled.", evidence=evidence)
        return
    features = organizations_root_features(ctx)
    if features is not None:
        evidence["organizations_features"] = features.get("EnabledFeatures", [])
    if root_credentials_absent(summary):
        yield ctx.finding(
            Status.PASS,
            resource_id=ctx.account_arn,
            resource_type="AWS::IAM::Root",
            message="The root user has no password and no access keys (root credentials removed, e.g. "
            "centrally by AWS Organizations), so there is nothing for MFA to protect.",
            evidence=evidence,
        )
        return
    yield ctx.finding(Status.FAIL, resource_id=ctx.account_arn, resource_type="AWS::IAM::Root",
                      message="The root user has credentials but no MFA.", evidence=evidence)


@check(
    id="iam_root_hardware_mfa",
    title="The root user's MFA is a hardware device, not a virtual one",
    severity=Severity.LOW,
    criteria=("ACCT-001.2",),
    permissions=("iam:GetAccountSummary", "iam:ListVirtualMFADevices"),
    scope=Scope.GLOBAL,
    remediation="Replace the root user's virtual MFA with a FIDO security key or hardware TOTP token kept in a safe.",
)
def iam_root_hardware_mfa(ctx: CheckContext) -> Iterator[Finding]:
    """A virtual MFA lives on a phone that is also used for e-mail and browsing; a hardware key
    kept under control of the business survives staff turnover and phishing better. Low
    severity: any MFA already satisfies the checklist."""
    summary = account_summary(ctx)
    if root_credentials_absent(summary) and summary.get("AccountMFAEnabled") != 1:
        yield ctx.finding(Status.NOT_APPLICABLE, resource_id=ctx.account_arn, resource_type="AWS::IAM::Root",
                          message="The root user has no credentials; no MFA device is needed.",
                          evidence={"AccountMFAEnabled": summary.get("AccountMFAEnabled")})
        return
    if summary.get("AccountMFAEnabled") != 1:
        yield ctx.finding(Status.FAIL, resource_id=ctx.account_arn, resource_type="AWS::IAM::Root",
                          message="The root user has no MFA device at all.",
                          evidence={"AccountMFAEnabled": summary.get("AccountMFAEnabled")})
        return
    devices = ctx.read("iam", "ListVirtualMFADevices", AssignmentStatus="Assigned").get("VirtualMFADevices", [])
    root_virtual = [
        d["SerialNumber"]
        for d in devices
        if d.get("SerialNumber", "").endswith(":mfa/root-account-mfa-device")
        or str(d.get("User", {}).get("Arn", "")).endswith(":root")
    ]
    evidence = {"AccountMFAEnabled": 1, "root_virtual_mfa_devices": root_virtual}
    if root_virtual:
        yield ctx.finding(Status.FAIL, resource_id=ctx.account_arn, resource_type="AWS::IAM::Root",
                          message=f"The root user's MFA is a virtual device ({root_virtual[0]}).", evidence=evidence)
    else:
        yield ctx.finding(Status.PASS, resource_id=ctx.account_arn, resource_type="AWS::IAM::Root",
                          message="The root user's MFA is not a virtual device (hardware or security key).",
                          evidence=evidence)


@check(
    id="iam_root_access_keys_absent",
    title="The root user has no active access keys",
    severity=Severity.CRITICAL,
    criteria=("ACCT-001.1",),
    permissions=CREDENTIAL_REPORT_PERMISSIONS,
    scope=Scope.GLOBAL,
    remediation="Delete the root user's access keys; give workloads IAM roles and people federated access.",
)
def iam_root_access_keys_absent(ctx: CheckContext) -> Iterator[Finding]:
    """Root access keys are long-lived, unrestrictable credentials for the whole account. The
    checklist says the root user is not used for workload activities; a workload can only use
    root programmatically through such keys."""
    row = root_row(ctx)
    active = [n for n in ("1", "2") if row.get(f"access_key_{n}_active") == "true"]
    evidence = {
        "credential_report_row": {
            k: row.get(k)
            for k in (
                "user", "arn", "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
                "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
            )
        }
    }
    if active:
        yield ctx.finding(Status.FAIL, resource_id=ctx.account_arn, resource_type="AWS::IAM::Root",
                          message=f"The root user has active access key(s): {', '.join('key ' + n for n in active)}.",
                          evidence=evidence)
    else:
        yield ctx.finding(Status.PASS, resource_id=ctx.account_arn, resource_type="AWS::IAM::Root",
                          message="The root user has no active access keys.", evidence=evidence)


@check(
    id="iam_root_not_used_recently",
    title="The root user was not used recently",
    severity=Severity.HIGH,
    criteria=("ACCT-001.1",),
    permissions=CREDENTIAL_REPORT_PERMISSIONS,
    scope=Scope.GLOBAL,
    remediation="Stop using root for daily work: use federated or IAM identities, and keep root for the few "
    "tasks that require it (documented in the root SOP).",
)
def iam_root_not_used_recently(ctx: CheckContext) -> Iterator[Finding]:
    """Regular sign-ins or API use by root show that root is part of daily operations rather
    than kept for the handful of tasks only it can do. The window defaults to 30 days
    (setting ``root_unused_days``)."""
    days = int(ctx.setting("root_unused_days", 30))
    since = ctx.now - timedelta(days=days)
    row = root_row(ctx)
    uses = {
        "password_last_used": row.get("password_last_used"),
        "access_key_1_last_used_date": row.get("access_key_1_last_used_date"),
        "access_key_2_last_used_date": row.get("access_key_2_last_used_date"),
    }
    recent = {k: v for k, v in uses.items() if (t := parse_time(v)) is not None and t >= since}
    evidence = {"window_days": days, "window_start": since.isoformat(), "last_used": uses}
    if recent:
        yield ctx.finding(Status.FAIL, resource_id=ctx.account_arn, resource_type="AWS::IAM::Root",
                          message=f"The root user was used within the last {days} days ("
                          + ", ".join(f"{k} {v}" for k, v in recent.items()) + ").",
                          evidence=evidence)
    else:
        yield ctx.finding(Status.PASS, resource_id=ctx.account_arn, resource_type="AWS::IAM::Root",
                          message=f"The root user was not used in the last {days} days.", evidence=evidence)
