"""IAM: the root user (ACCT-001) and least-privilege identities (ACCT-002)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from checks._iam_policies import (
    AUTHORIZATION_DETAILS,
    IDENTITY_CENTER_ROLE_PATH,
    NO_RESOURCE_TYPE_ACTIONS,
    POLICY_TYPES,
    USER,
    WORKLOAD_OIDC_ISSUERS,
    authorization_details,
    boundary_message,
    grant_phrase,
    identity_center_instances,
    judged_policies,
    policy_label,
    problems_evidence,
    problems_message,
    reach_phrase,
    unreadable_may_deny,
)
from scanner.analysis.access_level import broad_reasons
from scanner.analysis.iam_inventory import administrator_access_holders, statement_id
from scanner.analysis.policy import grant_evidence
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
    root has no password and no access keys (removed centrally by AWS Organizations, or never
    set) has nothing to protect: that passes, with the evidence. Only then is
    ``iam:ListOrganizationsFeatures`` asked, for the evidence of central root credentials
    management (it answers in the management or delegated administrator account; elsewhere
    its "not the management account" error means "not known here", as the message says):
    MFA present, or credentials present without MFA, are decided without it, so its denial
    cannot turn a clear verdict into an ERROR."""
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
    if not root_credentials_absent(summary):
        yield ctx.finding(Status.FAIL, resource_id=ctx.account_arn, resource_type="AWS::IAM::Root",
                          message="The root user has credentials but no MFA.", evidence=evidence)
        return
    features = organizations_root_features(ctx)
    enabled = list(features.get("EnabledFeatures", [])) if features is not None else None
    evidence["organizations_features"] = enabled
    if features is not None and features.get("OrganizationId"):
        evidence["organization_id"] = features["OrganizationId"]
    if enabled is not None and "RootCredentialsManagement" in enabled:
        how = (f"root credentials are managed centrally by AWS Organizations ({evidence.get('organization_id')}: "
               "RootCredentialsManagement enabled)")
    elif enabled is not None:
        how = ("AWS Organizations reports central root credentials management not enabled: a password could "
               "still be recovered through the root e-mail address")
    else:
        how = ("central root credentials management not confirmed: ListOrganizationsFeatures reports no "
               "organisation features to this account (not the management or delegated administrator account, "
               "no organisation, or trusted access for IAM not enabled)")
    yield ctx.finding(
        Status.PASS,
        resource_id=ctx.account_arn,
        resource_type="AWS::IAM::Root",
        message=f"The root user has no password and no access keys, so there is nothing for MFA to protect ({how}).",
        evidence=evidence,
    )


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


# --- ACCT-002: least privilege, credentials and federation (helpers: checks/_iam_policies.py) ---

@check(
    id="iam_no_admin_wildcard_policies",
    title="No customer-managed or inline policy allows every action on every resource",
    severity=Severity.HIGH,
    criteria=("ACCT-002.4",),
    permissions=(AUTHORIZATION_DETAILS,),
    scope=Scope.GLOBAL,
    remediation="Replace the statement with the actions and resources the principal needs (IAM Access Analyzer "
    "can generate a policy from CloudTrail activity); keep full administration in a role assumed with MFA.",
)
def iam_no_admin_wildcard_policies(ctx: CheckContext) -> Iterator[Finding]:
    """A policy that allows every action on every resource makes whoever holds it an
    administrator: least privilege asks for the opposite. Judged: customer-managed policies
    (default version; attached and unattached told apart: an unattached one still FAILs, since
    one attach call turns it on) and the inline policies of users, groups and roles. Rules:
    ``*``, ``*:*`` and any pattern matching every action (``*:?*``) are every action; Allow
    with ``NotAction`` on every resource counts as administrator (every action but the listed
    ones, across 400+ services, is not least privilege). An unconditional Deny in the same
    policy is subtracted where the remainder is exact (``Deny NotAction s3:*`` leaves ``s3:*``;
    ``Deny * NotResource X`` leaves ``X``); a partial Deny that cannot be subtracted so
    (``Deny iam:*``: every action but IAM) is named in the message and the grant is judged
    before it. A grant with a Condition still FAILs, marked ``conditional`` with the condition:
    network and organisation conditions (aws:SourceIp, aws:SourceVpc(e), aws:PrincipalOrgID)
    limit where the credentials work, not what they can do. A policy attached to no one and
    used only as a permissions boundary PASSes: a boundary limits, it grants nothing.
    Permissions boundaries and SCPs are not evaluated as limits of other policies (they can
    only narrow). Unreadable statements: the policy is an ERROR, except that an administrator
    grant among the readable statements still FAILs when every unreadable statement is an
    ``Allow`` (it cannot remove anything); the unreadable statements are then each an ERROR of
    their own (``<policy>#statement/<n>``)."""
    judged = judged_policies(ctx)
    if not judged:
        yield ctx.finding(Status.NOT_APPLICABLE, message="No customer-managed or inline IAM policies exist.",
                          evidence={"policies_judged": 0})
        return
    for source, analysis in judged:
        admin = [g for g in analysis.grants if g.all_actions and g.all_resources]
        evidence: dict[str, Any] = {**source.describe(), "admin_statements": [grant_evidence(g) for g in admin]}
        if analysis.cancelled:
            evidence["statements_granting_nothing"] = [g.ref for g in analysis.cancelled]
        if analysis.problems:
            evidence["problems"] = problems_evidence(analysis)
        kind = POLICY_TYPES[source.kind]
        admin_phrase = ", ".join(grant_phrase(g) for g in admin)
        if source.boundary_only:
            what = f"; its Allow of every action on every resource ({admin_phrase}) is a limit" if admin else ""
            yield ctx.finding(Status.PASS, resource_id=source.id, resource_type=kind, evidence=evidence,
                              message=boundary_message(source, what))
        elif admin and not unreadable_may_deny(analysis):
            unreadable = f" Unreadable statements reported apart: {', '.join(p.ref for p in analysis.problems)}." \
                if analysis.problems else ""
            yield ctx.finding(
                Status.FAIL, resource_id=source.id, resource_type=kind, evidence=evidence,
                message=f"{policy_label(source)} allows every action on every resource in "
                + admin_phrase + f"; {reach_phrase(source)}." + unreadable,
            )
            for problem in analysis.problems:
                yield ctx.finding(
                    Status.ERROR, resource_id=statement_id(source.id, problem.ref), resource_type=kind,
                    evidence={**source.describe(), "statement_ref": problem.ref, "problem": problem.message},
                    message=f"Could not evaluate {problem.ref} of {policy_label(source)}: {problem.message} "
                    "(an Allow: it cannot undo the FAIL of the policy).",
                )
        elif analysis.problems:
            unless = (f" Readable statements allow every action on every resource ({admin_phrase}) unless an "
                      "unreadable statement is a Deny that removes it." if admin else "")
            yield ctx.finding(Status.ERROR, resource_id=source.id, resource_type=kind,
                              message=problems_message(source, analysis) + unless, evidence=evidence)
        else:
            yield ctx.finding(Status.PASS, resource_id=source.id, resource_type=kind, evidence=evidence,
                              message=f"{policy_label(source)} does not allow every action on every resource.")


@check(
    id="iam_no_broad_wildcards",
    title="No policy statement grants a whole service, or write access on every resource",
    severity=Severity.MEDIUM,
    criteria=("ACCT-002.4",),
    permissions=(AUTHORIZATION_DETAILS,),
    scope=Scope.GLOBAL,
    remediation="Name the actions (not svc:*) and scope write and permissions-management actions to the ARNs "
    "they need; use conditions such as aws:ResourceTag where ARNs are not known in advance.",
)
def iam_no_broad_wildcards(ctx: CheckContext) -> Iterator[Finding]:
    """The checklist asks that wildcards in Action and Resource are avoided as much as
    possible. Each offending Allow statement of a customer-managed or inline policy is its
    own FAIL (resource ``<policy>#statement/<n>`` or ``#sid/<Sid>``): a whole-service grant
    (``s3:*``, ``s3:?*``, on any resource), a pattern spanning services (``*:Get*``), Allow +
    NotAction, or a write or permissions-management action on every resource, or on every
    resource of a service (a Resource whose resource part is only wildcards:
    ``arn:aws:s3:::*``, ``arn:aws:iam::123456789012:*``). Access levels follow a documented rule
    set approximating the Service Authorization Reference (unknown verbs count as write). Reads
    on ``*`` pass; so do the few actions that only accept ``*`` (setting
    ``broad_wildcard_exempt_actions``). Conditions and partial Denies are shown, never used to
    pass; an unconditional Deny is subtracted only where the remainder is exact. A policy
    without offending statements gets one PASS; a policy used only as a permissions boundary
    PASSes (it limits, grants nothing), its broad statements listed. Unreadable statements make
    the policy an ERROR; the readable statements' FAILs stand beside it when every unreadable
    statement is an ``Allow`` (it cannot remove anything), else they are listed in the ERROR's
    evidence only (an unreadable Deny might remove them)."""
    judged = judged_policies(ctx)
    exempt = tuple(ctx.setting("broad_wildcard_exempt_actions", NO_RESOURCE_TYPE_ACTIONS))
    if not judged:
        yield ctx.finding(Status.NOT_APPLICABLE, message="No customer-managed or inline IAM policies exist.",
                          evidence={"policies_judged": 0})
        return
    for source, analysis in judged:
        kind = POLICY_TYPES[source.kind]
        offending = [(g, reasons) for g in analysis.grants if (reasons := broad_reasons(g, exempt=exempt))]
        listed = [{"statement_ref": g.ref, "reasons": reasons} for g, reasons in offending]
        if source.boundary_only:
            what = f"; its broad statements ({', '.join(g.ref for g, _ in offending)}) are limits, not grants" \
                if offending else ""
            boundary_evidence = {**source.describe(), "broad_statements": listed}
            if analysis.problems:
                boundary_evidence["problems"] = problems_evidence(analysis)
            yield ctx.finding(Status.PASS, resource_id=source.id, resource_type=kind,
                              message=boundary_message(source, what), evidence=boundary_evidence)
            continue
        withheld = unreadable_may_deny(analysis)
        for grant, reasons in [] if withheld else offending:
            what = ", ".join(f"{r['action']} ({r['reason'].replace('_', ' ')})" for r in reasons)
            yield ctx.finding(
                Status.FAIL, resource_id=statement_id(source.id, grant.ref), resource_type=kind,
                message=f"{policy_label(source)}, {grant_phrase(grant)}: {what} on "
                + ("every resource" if grant.all_resources else ", ".join(grant.resources))
                + f"; {reach_phrase(source)}.",
                evidence={**source.describe(), **grant_evidence(grant), "reasons": reasons,
                          "all_resources": grant.all_resources,
                          "service_wide_resources": list(grant.service_wide_resources)},
            )
        if analysis.problems:
            evidence = {**source.describe(), "problems": problems_evidence(analysis)}
            unless = ""
            if withheld and offending:
                evidence["broad_unless_denied"] = listed
                unless = (f" Readable statements {', '.join(g.ref for g, _ in offending)} are broad unless an "
                          "unreadable statement is a Deny that removes them.")
            yield ctx.finding(Status.ERROR, resource_id=source.id, resource_type=kind,
                              message=problems_message(source, analysis) + unless, evidence=evidence)
        elif not offending:
            yield ctx.finding(Status.PASS, resource_id=source.id, resource_type=kind,
                              message=f"{policy_label(source)} has no whole-service, cross-service or "
                              "write-on-every-resource grant.",
                              evidence={**source.describe(), "statements": analysis.statement_count})


def user_rows(ctx: CheckContext) -> list[dict[str, str]]:
    """The credential report's IAM user rows (the root row is judged by the root checks).

    AWS regenerates the report at most every 4 hours; its age is in the evidence.
    """
    return [row for row in credential_report(ctx) if row.get("user") != ROOT_USER]


@check(
    id="iam_console_users_mfa",
    title="Every IAM user with a console password has MFA",
    severity=Severity.HIGH,
    criteria=("ACCT-002.5",),
    permissions=CREDENTIAL_REPORT_PERMISSIONS,
    scope=Scope.GLOBAL,
    remediation="Enable MFA for the user (or remove the console password); better, move people to IAM Identity "
    "Center or federation and delete their IAM users.",
)
def iam_console_users_mfa(ctx: CheckContext) -> Iterator[Finding]:
    """A console password without MFA is one phished or reused password away from the
    account. One finding per IAM user with a console password, from the credential report's
    ``password_enabled`` and ``mfa_active`` (any MFA type counts)."""
    console = [row for row in user_rows(ctx) if row.get("password_enabled") == "true"]
    if not console:
        yield ctx.finding(Status.NOT_APPLICABLE, message="No IAM user has a console password.",
                          evidence={"console_users": 0})
        return
    for row in console:
        mfa = row.get("mfa_active") == "true"
        yield ctx.finding(
            Status.PASS if mfa else Status.FAIL, resource_id=row["arn"], resource_type=USER,
            message=f"IAM user {row['user']} has a console password " + ("and MFA." if mfa else "but no MFA."),
            evidence={k: row.get(k) for k in ("user", "arn", "password_enabled", "password_last_used", "mfa_active")},
        )


def has_active_key(row: dict[str, str]) -> bool:
    return "true" in (row.get("access_key_1_active"), row.get("access_key_2_active"))


def key_problems(
    row: dict[str, str], now: datetime, max_age: int, max_unused: int
) -> tuple[list[str], list[dict[str, Any]]]:
    problems: list[str] = []
    keys: list[dict[str, Any]] = []
    for n in ("1", "2"):
        if row.get(f"access_key_{n}_active") != "true":
            continue
        rotated = parse_time(row.get(f"access_key_{n}_last_rotated"))
        used = parse_time(row.get(f"access_key_{n}_last_used_date"))
        age = (now - rotated).days if rotated else None
        since = used or rotated
        idle = (now - since).days if since else None
        keys.append({"key": n, "last_rotated": row.get(f"access_key_{n}_last_rotated"),
                     "last_used": row.get(f"access_key_{n}_last_used_date"), "age_days": age, "idle_days": idle})
        if age is not None and age > max_age:
            problems.append(f"key {n} is {age} days old")
        if idle is not None and idle > max_unused:
            problems.append(f"key {n} {'unused' if used else 'never used'} for {idle} days")
    return problems, keys


@check(
    id="iam_access_keys_rotated",
    title="No active access key is older than 90 days or unused for 90 days",
    severity=Severity.MEDIUM,
    criteria=("ACCT-002.2",),
    permissions=CREDENTIAL_REPORT_PERMISSIONS,
    scope=Scope.GLOBAL,
    remediation="Rotate the key (create a new one, switch, deactivate, delete) or delete it if unused; better, "
    "give the workload a role so it gets temporary credentials.",
)
def iam_access_keys_rotated(ctx: CheckContext) -> Iterator[Finding]:
    """Long-lived access keys leak (repositories, laptops, logs) and keep working until
    someone rotates them; a key nobody uses is risk without purpose. One finding per IAM user
    with an active key, from the credential report. Limits: ``access_key_max_age_days`` and
    ``access_key_max_unused_days`` (both 90); a never-used key counts as idle since creation."""
    max_age = int(ctx.setting("access_key_max_age_days", 90))
    max_unused = int(ctx.setting("access_key_max_unused_days", 90))
    holders = [row for row in user_rows(ctx) if has_active_key(row)]
    if not holders:
        yield ctx.finding(Status.NOT_APPLICABLE, message="No IAM user has an active access key.",
                          evidence={"users_with_active_keys": 0})
        return
    for row in holders:
        problems, keys = key_problems(row, ctx.now, max_age, max_unused)
        evidence = {"user": row["user"], "active_keys": keys, "max_age_days": max_age, "max_unused_days": max_unused}
        if problems:
            yield ctx.finding(Status.FAIL, resource_id=row["arn"], resource_type=USER, evidence=evidence,
                              message=f"IAM user {row['user']}: " + "; ".join(problems) + ".")
        else:
            yield ctx.finding(Status.PASS, resource_id=row["arn"], resource_type=USER, evidence=evidence,
                              message=f"IAM user {row['user']}: active key(s) rotated and used within limits.")


@check(
    id="iam_temporary_credentials",
    title="People and workloads use roles (temporary credentials), not IAM user access keys",
    severity=Severity.LOW,
    criteria=("ACCT-002.2", "ACCT-002.5"),
    permissions=(*CREDENTIAL_REPORT_PERMISSIONS, AUTHORIZATION_DETAILS),
    scope=Scope.GLOBAL,
    remediation="Replace IAM user access keys with roles (instance profiles, task roles, OIDC federation for CI) "
    "and give people federated access; grant AdministratorAccess only through roles.",
)
def iam_temporary_credentials(ctx: CheckContext) -> Iterator[Finding]:
    """The checklist asks for temporary credentials through IAM roles and dedicated
    credentials per person. PASS when no IAM user holds an active access key. The evidence
    always counts IAM users with long-lived keys against roles, and names every principal
    holding the AWS managed AdministratorAccess policy (directly or through a group): who can
    do everything, for the reviewer of ACCT-002.5."""
    rows = user_rows(ctx)
    details = authorization_details(ctx)
    with_keys = sorted(r["arn"] for r in rows if has_active_key(r))
    roles = details.get("RoleDetailList", [])
    service_linked = [r for r in roles if str(r.get("Path", "")).startswith("/aws-service-role/")]
    evidence = {
        "iam_users": len(rows),
        "iam_users_with_active_keys": len(with_keys),
        "users_with_active_keys": with_keys,
        "roles": len(roles),
        "service_linked_roles": len(service_linked),
        "administrator_access_holders": administrator_access_holders(details),
    }
    if with_keys:
        yield ctx.finding(Status.FAIL, evidence=evidence,
                          message=f"{len(with_keys)} IAM user(s) hold long-lived access keys (roles: {len(roles)}).")
    else:
        yield ctx.finding(Status.PASS, evidence=evidence,
                          message=f"No IAM user holds an active access key ({len(rows)} users, {len(roles)} roles).")


@check(
    id="iam_identity_federation",
    title="People sign in through identity federation (SAML/OIDC provider or IAM Identity Center)",
    severity=Severity.MEDIUM,
    criteria=("ACCT-002.3",),
    permissions=(
        "iam:ListSAMLProviders", "iam:ListOpenIDConnectProviders", "sso:ListInstances", AUTHORIZATION_DETAILS,
    ),
    scope=Scope.GLOBAL,
    remediation="Enable IAM Identity Center (connected to the company directory) or add a SAML identity "
    "provider, and give people roles instead of IAM users.",
)
def iam_identity_federation(ctx: CheckContext) -> Iterator[Finding]:
    """Federation gives each person one corporate identity, removed in one place when they
    leave; IAM users are separate passwords and keys per account. PASS when the account has a
    SAML provider (IAM Identity Center's own ``AWSSSO_..._DO_NOT_DELETE`` counts), an OIDC
    provider for a workforce issuer, an IAM Identity Center instance in a scanned region, or
    roles Identity Center provisioned (path ``/aws-reserved/sso.amazonaws.com/``, how a member
    account of an organisation instance shows it). OIDC providers of CI/CD or EKS issuers
    (GitHub Actions, GitLab, Terraform Cloud...) federate workloads, not people: listed, not
    counted. Managed Microsoft AD is not looked at; the evidence says which regions were."""
    saml = [p["Arn"] for p in ctx.read("iam", "ListSAMLProviders").get("SAMLProviderList", [])]
    oidc = [p["Arn"] for p in ctx.read("iam", "ListOpenIDConnectProviders").get("OpenIDConnectProviderList", [])]
    workload = [a for a in oidc if any(i in a.split("oidc-provider/", 1)[-1] for i in WORKLOAD_OIDC_ISSUERS)]
    sso_roles = sorted(
        r["Arn"] for r in authorization_details(ctx).get("RoleDetailList", [])
        if str(r.get("Path", "")).startswith(IDENTITY_CENTER_ROLE_PATH)
    )
    instances, failures = identity_center_instances(ctx)
    evidence: dict[str, Any] = {
        "saml_providers": saml,
        "oidc_workforce_providers": [a for a in oidc if a not in workload],
        "oidc_workload_providers": workload,
        "identity_center_instances": instances,
        "identity_center_regions_checked": [r for r in (ctx.regions or (ctx.home_region,))
                                            if r not in {f.call.region for f in failures}],
        "identity_center_roles": sso_roles,
    }
    federated = saml or evidence["oidc_workforce_providers"] or instances or sso_roles
    if failures:
        evidence["failed_calls"] = [{"action": f.action, "region": f.call.region, "error_code": f.error_code}
                                    for f in failures]
    if not federated and failures:
        yield ctx.error(failures[0])
        return
    if federated:
        kinds = [name for name, found in (("SAML provider", saml), ("OIDC workforce provider",
                 evidence["oidc_workforce_providers"]), ("IAM Identity Center instance", instances),
                 ("Identity Center roles", sso_roles)) if found]
        yield ctx.finding(Status.PASS, evidence=evidence,
                          message="Identity federation is set up: " + ", ".join(kinds) + ".")
    else:
        yield ctx.finding(Status.FAIL, evidence=evidence,
                          message="No SAML provider, workforce OIDC provider or IAM Identity Center instance in "
                          + ", ".join(evidence["identity_center_regions_checked"])
                          + (f" (only workload OIDC providers: {len(workload)})" if workload else "") + ".")


@check(
    id="iam_password_policy_strong",
    title="The IAM password policy requires long passwords and prevents reuse",
    severity=Severity.MEDIUM,
    criteria=("ACCT-002.5",),
    permissions=("iam:GetAccountPasswordPolicy",),
    scope=Scope.GLOBAL,
    remediation="aws iam update-account-password-policy --minimum-password-length 14 "
    "--password-reuse-prevention 24 (plus character requirements as the company policy says).",
)
def iam_password_policy_strong(ctx: CheckContext) -> Iterator[Finding]:
    """IAM user passwords should be long and not recycled. Limits: ``password_min_length``
    (14) and ``password_reuse_prevention`` (24, the number of previous passwords remembered).
    No custom policy (``NoSuchEntity``) is a FAIL: AWS's default then allows 8 characters and
    reuse. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html"""
    min_length = int(ctx.setting("password_min_length", 14))
    min_reuse = int(ctx.setting("password_reuse_prevention", 24))
    answer = ctx.read_optional("iam", "GetAccountPasswordPolicy", absent=("NoSuchEntity",))
    limits = {"required_min_length": min_length, "required_reuse_prevention": min_reuse}
    kind = "AWS::IAM::AccountPasswordPolicy"
    if answer is None:
        yield ctx.finding(Status.FAIL, resource_type=kind, evidence={**limits, "password_policy": None},
                          message="No IAM password policy is set (NoSuchEntity): AWS's default allows "
                          "8-character passwords and reuse.")
        return
    policy = answer.get("PasswordPolicy", {})
    gaps = []
    if int(policy.get("MinimumPasswordLength", 0)) < min_length:
        gaps.append(f"minimum length {policy.get('MinimumPasswordLength')} < {min_length}")
    if int(policy.get("PasswordReusePrevention", 0)) < min_reuse:
        gaps.append(f"reuse prevention {policy.get('PasswordReusePrevention', 'off')} < {min_reuse}")
    evidence = {**limits, "password_policy": policy}
    if gaps:
        yield ctx.finding(Status.FAIL, resource_type=kind, evidence=evidence,
                          message="IAM password policy too weak: " + "; ".join(gaps) + ".")
    else:
        yield ctx.finding(Status.PASS, resource_type=kind, evidence=evidence,
                          message=f"IAM password policy requires {policy.get('MinimumPasswordLength')}+ characters "
                          f"and remembers {policy.get('PasswordReusePrevention')} passwords.")
