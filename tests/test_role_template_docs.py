"""`govscan role-template` is least privilege and cfn-lint clean; generated docs are not stale."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from scanner.cli import main
from scanner.docgen import generate
from scanner.registry import load_checks

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_policy_is_exactly_the_union_of_declared_permissions() -> None:
    policy = json.loads(run("role-template", "--format", "iam-json"))
    (statement,) = policy["Statement"]
    declared = {p for spec in load_checks().values() for p in spec.permissions}
    assert set(statement["Action"]) == declared | {"ec2:DescribeRegions"}  # the engine's region discovery
    assert len(statement["Action"]) == len(set(statement["Action"]))
    assert not any("*" in action for action in statement["Action"])
    assert statement["Effect"] == "Allow"


def test_selection_narrows_the_policy() -> None:
    policy = json.loads(run("role-template", "--format", "iam-json", "--controls", "ACCT-001"))
    actions = set(policy["Statement"][0]["Action"])
    assert "cloudtrail:DescribeTrails" in actions and "iam:GetAccountSummary" in actions
    assert not any(a.startswith("ec2:DescribeSecurityGroups") for a in actions)
    assert "ec2:DescribeRegions" in actions  # the engine needs it whatever the selection


def test_trust_requires_external_id_and_bounded_session() -> None:
    template = json.loads(run("role-template"))
    role = template["Resources"]["ScanRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Ref": "TrustedPrincipalArn"}}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    assert template["Parameters"]["MaxSessionDuration"]["MaxValue"] <= 14400
    assert template["Parameters"]["ExternalId"]["NoEcho"] is True


def test_template_is_cfn_lint_clean(tmp_path: Path) -> None:
    path = tmp_path / "govscan-role.json"
    run("role-template", "-o", str(path))
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", "no errors, warnings or informational findings"


def test_generated_docs_are_current() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, text in generate(ROOT).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"stale generated docs {stale}: run `make docs` and commit"
