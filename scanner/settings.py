"""The check settings a user may set: ``--set name=value`` and the accounts file's ``settings``.

Every setting a check reads (``ctx.setting``) is declared here with its type, bounds and
meaning, so that a typo or a wrong value is a usage error naming the setting before anything
is scanned, never a threshold silently left at its default or a string iterated letter by
letter. ``ctx.setting`` refuses a name that is not declared (a defect, caught by the tests),
and a scalar default passed by a check must match the one documented here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scanner.regions import _edit_distance

INT, NUMBER, STRINGS, PORTS = "integer", "number", "list of strings", "list of ports"


class SettingError(ValueError):
    """A setting's name or value is wrong; the message names the setting and what is expected."""


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str
    default: Any  # the value used when unset; a text for list settings whose default is long
    help: str
    checks: tuple[str, ...]
    minimum: float | None = None
    maximum: float | None = None
    example: str = ""

    def expected(self) -> str:
        bounds = ""
        if self.minimum is not None and self.maximum is not None:
            bounds = f" from {_show(self.minimum)} to {_show(self.maximum)}"
        elif self.minimum is not None:
            bounds = f" of at least {_show(self.minimum)}"
        return f"{'an' if self.kind == INT else 'a'} {self.kind}{bounds}"


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _int(name: str, default: int, help: str, checks: tuple[str, ...], low: int, high: int | None = None) -> Setting:
    return Setting(name, INT, default, help, checks, low, high, example=f"{name}={default}")


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        _int("root_unused_days", 30, "The root user counts as used if it signed in or used a key within this many "
             "days.", ("iam_root_not_used_recently",), 1, 3650),
        _int("access_key_max_age_days", 90, "An active access key older than this is not rotated.",
             ("iam_access_keys_rotated",), 1, 3650),
        _int("access_key_max_unused_days", 90, "An active access key unused for longer than this is idle.",
             ("iam_access_keys_rotated",), 1, 3650),
        _int("password_min_length", 14, "Minimum password length the account policy must require.",
             ("iam_password_policy_strong",), 6, 128),
        _int("password_reuse_prevention", 24, "Previous passwords the policy must forbid reusing.",
             ("iam_password_policy_strong",), 1, 24),
        _int("console_lookback_days", 90, "Days of CloudTrail event history searched for console changes "
             "(the event history keeps 90).", ("cloudtrail_no_console_changes",), 1, 90),
        _int("console_max_events", 5000, "Most events read from the event history; a longer history is reported "
             "as not fully evaluated.", ("cloudtrail_no_console_changes",), 1, 1_000_000),
        _int("restore_test_days", 90, "A restore tested within this many days counts as tested.",
             ("backup_restore_tested",), 1, 3650),
        _int("backup_retention_days", 7, "Minimum automated-backup retention of RDS databases (RDS allows 1 to 35).",
             ("rds_backup_retention",), 1, 35),
        _int("patch_report_max_age_days", 30, "A patch compliance report older than this is stale.",
             ("ssm_patch_compliance",), 1, 3650),
        _int("broad_public_prefix_v4", 8, "An IPv4 source at least this broad (prefix length at most this) counts "
             "as the internet.", ("ec2_sg_no_internet_admin_ports", "ec2_sg_no_internet_all_traffic",
                                  "ec2_nacl_no_internet_admin_ports"), 1, 32),
        _int("broad_public_prefix_v6", 32, "An IPv6 source at least this broad counts as the internet.",
             ("ec2_sg_no_internet_admin_ports", "ec2_sg_no_internet_all_traffic",
              "ec2_nacl_no_internet_admin_ports"), 3, 128),
        Setting("iac_min_share", NUMBER, 0.8, "Share (0 to 1) of live resources that must be managed as code.",
                ("cloudformation_stacks_present",), 0, 1, "iac_min_share=0.9"),
        Setting("rpo_hours", NUMBER, None, "Declared recovery point objective (also --rpo-hours, or rpo_hours in "
                "the accounts file).", ("backup_rpo_rto_targets",), 0.001, None, "rpo_hours=24"),
        Setting("rto_hours", NUMBER, None, "Declared recovery time objective (also --rto-hours, or rto_hours in "
                "the accounts file).", ("backup_rpo_rto_targets",), 0.001, None, "rto_hours=4"),
        Setting("iac_tag_keys", STRINGS, "none", "Tags (KEY or KEY=VALUE) that mark a resource as managed by other "
                "infrastructure-as-code tools (Terraform, CDK, Pulumi).", ("cloudformation_stacks_present",),
                example="iac_tag_keys=managed-by=terraform,pulumi:project"),
        Setting("free_mail_domains", STRINGS, "none", "More mail domains, besides the built-in free-mail list, that "
                "do not count as a company contact.", ("account_contacts_set",),
                example="free_mail_domains=example-mail.com"),
        Setting("workload_namespaces", STRINGS, "the built-in list (see the check)", "CloudWatch namespaces whose "
                "resources count as the workload.", ("cloudwatch_alarms_actionable", "cloudwatch_log_retention"),
                example="workload_namespaces=AWS/EC2,AWS/RDS"),
        Setting("infrastructure_log_group_prefixes", STRINGS, "the built-in list (see the check)", "Log group name "
                "prefixes that count as infrastructure logs.", ("cloudwatch_log_retention",),
                example="infrastructure_log_group_prefixes=/aws/vpc,/custom/"),
        Setting("broad_wildcard_exempt_actions", STRINGS, "actions that support no resource (see the check)",
                "Actions allowed on Resource * without a finding.", ("iam_no_broad_wildcards",),
                example="broad_wildcard_exempt_actions=cloudwatch:PutMetricData"),
        Setting("admin_ports", PORTS, "the built-in list (see the check)", "Admin and database ports that must not "
                "be open to the internet: TCP port numbers, or 'udp/161'.", ("ec2_sg_no_internet_admin_ports",
                                                                            "ec2_nacl_no_internet_admin_ports"),
                example="admin_ports=22,3389,udp/161"),
    )
}


def setting(name: str) -> Setting:
    try:
        return SETTINGS[name]
    except KeyError:
        raise SettingError(_unknown(name)) from None


def _unknown(name: str) -> str:
    distance, closest = min((_edit_distance(name, known), known) for known in SETTINGS)
    hint = f" (did you mean {closest}?)" if distance <= 3 else ""
    return f"unknown setting {name!r}{hint}; `govscan checks` and docs/checks.md list the settings"


def parse_text(name: str, text: str) -> Any:
    """A ``--set name=value`` value: lists are comma separated."""
    spec = setting(name)
    text = text.strip()
    if spec.kind in (STRINGS, PORTS):
        items = [item.strip() for item in text.split(",") if item.strip()]
        return validate(name, [int(i) if spec.kind == PORTS and i.isdigit() else i for i in items])
    if spec.kind == INT:
        try:
            return validate(name, int(text))
        except ValueError:
            raise SettingError(f"{name} must be {spec.expected()}, got {text!r}") from None
    try:
        return validate(name, float(text))
    except ValueError:
        raise SettingError(f"{name} must be {spec.expected()}, got {text!r}") from None


def validate(name: str, value: Any) -> Any:
    """A value from the accounts file (TOML types) or parsed from text, checked and normalised."""
    spec = setting(name)
    if spec.kind in (STRINGS, PORTS):
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list | tuple) or not value:
            raise SettingError(f"{name} must be a non-empty {spec.kind}, got {value!r}")
        allowed = (str, int) if spec.kind == PORTS else (str,)
        bad = [item for item in value if isinstance(item, bool) or not isinstance(item, allowed) or item == ""]
        if bad:
            raise SettingError(f"{name} must be a {spec.kind}; not valid: {', '.join(repr(b) for b in bad)}")
        return list(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingError(f"{name} must be {spec.expected()}, got {value!r}")
    if spec.kind == INT and not float(value).is_integer():
        raise SettingError(f"{name} must be {spec.expected()}, got {value!r}")
    if not math.isfinite(value):
        raise SettingError(f"{name} must be {spec.expected()}, got {value!r}")
    if (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum):
        raise SettingError(f"{name} must be {spec.expected()}, got {value!r}")
    return int(value) if spec.kind == INT else float(value)


def validate_all(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Every setting of a mapping, checked; the first problem raises."""
    return {name: validate(name, value) for name, value in settings.items()}


def for_checks(check_ids: Iterable[str]) -> list[Setting]:
    wanted = set(check_ids)
    return [s for s in SETTINGS.values() if wanted & set(s.checks)]
