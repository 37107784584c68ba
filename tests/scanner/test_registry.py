"""Registry invariants: every check honours the contract (DESIGN.md, STYLE.md "Invariants as tests")."""

from __future__ import annotations

import pytest

from scanner.catalog import load_catalog
from scanner.models import Scope, Severity
from scanner.permissions import READ_PREFIXES, REFUSED_READS, iam_action
from scanner.registry import RegistryError, check, load_checks

REGISTRY = load_checks()
CATALOG = load_catalog()
# IAM actions that authorise reads although their names do not start with a read prefix.
READ_ACTIONS_OUTSIDE_PREFIXES = {"budgets:ViewBudget", "iam:GenerateCredentialReport"}

DESIGN_IDS = {  # DESIGN.md, "Checks (ids are a contract)"
    "account_contacts_set",
    "iam_root_mfa_enabled",
    "iam_root_hardware_mfa",
    "iam_root_access_keys_absent",
    "iam_root_not_used_recently",
    "cloudtrail_multi_region_logging",
    "cloudtrail_bucket_protected",
    "cloudtrail_log_file_validation",
    "cloudtrail_kms_encrypted",
    "cloudtrail_no_console_changes",
    "iam_no_admin_wildcard_policies",
    "iam_no_broad_wildcards",
    "iam_console_users_mfa",
    "iam_access_keys_rotated",
    "iam_identity_federation",
    "iam_password_policy_strong",
    "ec2_sg_no_internet_admin_ports",
    "ec2_sg_no_internet_all_traffic",
    "ec2_sg_intra_vpc_scoped",
    "ec2_default_sg_closed",
    "ec2_nacl_no_internet_admin_ports",
    "ec2_vpc_flow_logs",
    "guardduty_enabled",
    "ec2_ebs_default_encryption",
    "ec2_ebs_volumes_encrypted",
    "s3_default_encryption",
    "s3_tls_enforced",
    "s3_account_public_access_block",
    "rds_storage_encrypted",
    "dynamodb_kms_encryption",
    "efs_encrypted",
    "kms_cmk_rotation",
    "elb_tls_listeners",
    "rds_multi_az",
    "autoscaling_multi_az",
    "autoscaling_scaling_policies",
    "elb_multi_az",
    "rds_backup_retention",
    "dynamodb_pitr",
    "backup_plan_coverage",
    "backup_recent_recovery_points",
    "backup_restore_tested",
    "backup_vault_protected",
    "backup_rpo_rto_targets",
    "ssm_instances_managed",
    "ssm_patch_baseline",
    "ssm_patch_schedule",
    "ssm_patch_compliance",
    "ssm_runbooks",
    "cloudwatch_alarms_actionable",
    "cloudwatch_log_retention",
    "cloudformation_stacks_present",
    "cloudformation_templates_lint",
    "cloudformation_no_drift",
    "cost_budgets_configured",
    "cost_anomaly_monitoring",
    "wellarchitected_no_high_risks",
}


def test_design_ids_are_registered() -> None:
    assert DESIGN_IDS <= set(REGISTRY)


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_id_prefix_is_module_name(check_id: str) -> None:
    spec = REGISTRY[check_id]
    assert check_id.startswith(spec.module.rsplit(".", 1)[-1] + "_")


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_criteria_exist_in_catalog(check_id: str) -> None:
    known = CATALOG.criteria
    for criterion in REGISTRY[check_id].criteria:
        assert criterion in known, f"{check_id} names unknown criterion {criterion}"
        assert known[criterion].automatable, f"{check_id} evidences manual criterion {criterion}"


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_permissions_are_read_only(check_id: str) -> None:
    for permission in REGISTRY[check_id].permissions:
        service, _, action = permission.partition(":")
        assert service and action, permission
        assert permission not in REFUSED_READS
        assert action.startswith(READ_PREFIXES) or permission in READ_ACTIONS_OUTSIDE_PREFIXES, permission


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_documented(check_id: str) -> None:
    spec = REGISTRY[check_id]
    assert len(spec.rationale) > 60, "the docstring is the report's rationale: say why it matters"
    assert spec.title and spec.title[0].isupper()
    assert spec.remediation, "FAIL findings need a remediation"


def test_every_automatable_criterion_has_a_check() -> None:
    covered = {c for spec in REGISTRY.values() for c in spec.criteria}
    missing = sorted(c.id for c in CATALOG.criteria.values() if c.automatable and c.id not in covered)
    assert not missing, f"automatable criteria without a check: {missing}"


CHECK_SOURCE = """
from scanner.models import Scope, Severity
from scanner.registry import check

@check(id="{id}", title="T", severity=Severity.LOW, criteria=("ACCT-001.1",),
       permissions=("iam:GetAccountSummary",), scope=Scope.GLOBAL)
def {func}(ctx):
    \"\"\"doc\"\"\"
    yield from ()
"""


def _package(tmp_path, monkeypatch, name: str, modules: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for module, source in modules.items():
        (pkg / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_duplicate_ids_fail_loudly(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    two = CHECK_SOURCE.format(id="dup_one", func="first") + CHECK_SOURCE.format(id="dup_one", func="second")
    name = _package(tmp_path, monkeypatch, "dupchecks", {"dup": two})
    with pytest.raises(RegistryError, match="duplicate check id 'dup_one'"):
        load_checks(name)


def test_loader_collects_by_module(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    name = _package(tmp_path, monkeypatch, "okchecks", {"alpha": CHECK_SOURCE.format(id="alpha_x", func="x")})
    assert list(load_checks(name)) == ["alpha_x"]


def test_wrong_prefix_is_rejected() -> None:
    @check(
        id="ec2_thing",
        title="T",
        severity=Severity.LOW,
        criteria=("ACCT-001.1",),
        permissions=("ec2:DescribeVpcs",),
        scope=Scope.REGIONAL,
    )
    def thing(ctx):  # type: ignore[no-untyped-def]
        """doc"""
        yield from ()

    import scanner.registry as registry_module

    with pytest.raises(RegistryError, match="must start with its module name 's3'_"):
        registry_module._validate(thing.__govscan_checks__[0], "s3")


def test_iam_action_mapping() -> None:
    assert iam_action("s3", "GetBucketEncryption") == "s3:GetEncryptionConfiguration"
    assert iam_action("elbv2", "DescribeLoadBalancers") == "elasticloadbalancing:DescribeLoadBalancers"
    assert iam_action("ec2", "DescribeVpcs") == "ec2:DescribeVpcs"
