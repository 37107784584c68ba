"""Check settings are declared once (scanner.settings), validated before a scan, documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scanner.registry import load_checks
from scanner.settings import SETTINGS, SettingError, parse_text, validate

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_a_check_reads_is_declared_and_every_declared_one_is_read() -> None:
    source = "\n".join(path.read_text() for path in (ROOT / "checks").glob("*.py"))
    source += (ROOT / "scanner" / "analysis" / "network.py").read_text()
    read = set(re.findall(r'ctx\.setting\(\s*"(\w+)"', source)) | set(
        re.findall(r'"(broad_public_prefix_v[46])"', source)
    )
    assert read <= set(SETTINGS), f"read but not declared: {sorted(read - set(SETTINGS))}"
    assert set(SETTINGS) <= read, f"declared but never read: {sorted(set(SETTINGS) - read)}"
    registry = load_checks()
    for setting in SETTINGS.values():
        assert setting.checks and set(setting.checks) <= set(registry), setting.name


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("root_unused_days", "45", 45),
        ("iac_min_share", "0.9", 0.9),
        ("rpo_hours", "24", 24.0),
        ("iac_tag_keys", "managed-by=terraform, pulumi:project", ["managed-by=terraform", "pulumi:project"]),
        ("free_mail_domains", "example-mail.com", ["example-mail.com"]),
        ("admin_ports", "22,3389,udp/161", [22, 3389, "udp/161"]),
    ],
)
def test_values_from_the_command_line(name: str, text: str, expected: object) -> None:
    assert parse_text(name, text) == expected


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("root_unusd_days", "3", "unknown setting 'root_unusd_days' (did you mean root_unused_days?)"),
        ("no_such_thing", "3", "unknown setting 'no_such_thing';"),
        ("root_unused_days", "abc", "root_unused_days must be an integer from 1 to 3650, got 'abc'"),
        ("root_unused_days", "0", "must be an integer from 1 to 3650"),
        ("root_unused_days", "2.5", "must be an integer"),
        ("backup_retention_days", "36", "from 1 to 35"),
        ("iac_min_share", "1.5", "a number from 0 to 1"),
        ("rpo_hours", "nan", "rpo_hours must be a number"),
        ("rpo_hours", "inf", "rpo_hours must be a number"),
        ("iac_tag_keys", " , ", "must be a non-empty list of strings"),
    ],
)
def test_bad_command_line_values_are_refused(name: str, text: str, message: str) -> None:
    with pytest.raises(SettingError, match=re.escape(message)):
        parse_text(name, text)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("root_unused_days", True, "must be an integer"),
        ("root_unused_days", "30", "must be an integer"),
        ("free_mail_domains", [1, "a.com"], "not valid: 1"),
        ("admin_ports", [True], "not valid: True"),
    ],
)
def test_bad_accounts_file_values_are_refused(name: str, value: object, message: str) -> None:
    with pytest.raises(SettingError, match=re.escape(message)):
        validate(name, value)


def test_a_string_in_the_accounts_file_is_a_one_item_list_not_letters() -> None:
    assert validate("free_mail_domains", "example-mail.com") == ["example-mail.com"]
    assert validate("workload_namespaces", ["AWS/EC2", "AWS/RDS"]) == ["AWS/EC2", "AWS/RDS"]
