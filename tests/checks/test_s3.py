"""S3 checks (NETSEC-001.1, NETSEC-002.1, NETSEC-002.3) through the runner; buckets in two regions."""

from __future__ import annotations

from fixtures.moto_ext import faults
from fixtures.world import World
from fixtures.worlds import s3 as worlds
from scanner.models import Status
from tests.conftest import ACCOUNT, only

US, EU = "us-east-1", "eu-west-1"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


# --- s3_account_public_access_block --------------------------------------------------------------


def test_account_block_fully_on_passes(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.account_public_access_block(World())
    f = only(run_scan(["s3_account_public_access_block"]), "s3_account_public_access_block")
    assert f.status is Status.PASS and f.resource_id == ACCOUNT and f.region == "global"
    assert f.evidence["RestrictPublicBuckets"] is True


def test_account_block_partial_fails_naming_the_flag(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.account_public_access_block(World(), RestrictPublicBuckets=False)
    f = only(run_scan(["s3_account_public_access_block"]), "s3_account_public_access_block")
    assert f.status is Status.FAIL and "RestrictPublicBuckets off" in f.message
    assert f.evidence["RestrictPublicBuckets"] is False and f.evidence["BlockPublicAcls"] is True


def test_account_block_absent_fails_not_configured(run_scan) -> None:  # type: ignore[no-untyped-def]
    run = run_scan(["s3_account_public_access_block"])
    f = only(run, "s3_account_public_access_block")
    assert f.status is Status.FAIL and "not configured" in f.message and f.evidence == {"configured": False}
    (call,) = [c for c in run.calls if c.action == "s3control:GetPublicAccessBlock"]
    assert call.outcome.value == "absent" and call.error_code == "NoSuchPublicAccessBlockConfiguration"


def test_account_block_denied_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    faults.deny("s3control:GetPublicAccessBlock")
    f = only(run_scan(["s3_account_public_access_block"]), "s3_account_public_access_block")
    assert f.status is Status.ERROR and f.evidence["action"] == "s3control:GetPublicAccessBlock"
    assert f.evidence["error_code"] == "AccessDenied" and "s3:GetAccountPublicAccessBlock" in f.message


# --- s3_default_encryption -----------------------------------------------------------------------


def test_default_encryption_per_bucket_with_bucket_region(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    kms = worlds.bucket(world, "data-eu-kms", EU)
    worlds.encrypt(world, "data-eu-kms", EU, kms_key=KEY, bucket_key=True)
    sse_s3 = worlds.bucket(world, "data-us-sse-s3", US)
    worlds.encrypt(world, "data-us-sse-s3", US)
    plain = worlds.bucket(world, "data-us-plain", US)
    run = run_scan(["s3_default_encryption"], regions=(US, EU))
    f = only(run, "s3_default_encryption", resource_id=kms)
    assert f.status is Status.PASS and f.region == EU
    assert f.evidence["default_encryption"] == "SSE-KMS" and f.evidence["kms_key"] == KEY
    assert f.evidence["bucket_key_enabled"] is True
    f = only(run, "s3_default_encryption", resource_id=sse_s3)
    assert f.status is Status.PASS and f.region == US and f.evidence["default_encryption"] == "SSE-S3"
    f = only(run, "s3_default_encryption", resource_id=plain)
    assert f.status is Status.FAIL and f.region == US and f.evidence["default_encryption"] is None


def test_default_encryption_denied_is_error_for_that_bucket(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    eu = worlds.bucket(world, "denied-eu", EU)
    us = worlds.bucket(world, "fine-us", US)
    worlds.encrypt(world, "fine-us", US)
    faults.deny("s3:GetBucketEncryption", region=EU)
    run = run_scan(["s3_default_encryption"], regions=(US, EU))
    f = only(run, "s3_default_encryption", resource_id=eu)
    assert f.status is Status.ERROR and f.region == EU
    assert f.evidence["action"] == "s3:GetBucketEncryption" and f.evidence["error_code"] == "AccessDenied"
    assert only(run, "s3_default_encryption", resource_id=us).status is Status.PASS


def test_list_buckets_denied_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    worlds.bucket(World(), "some-bucket", US)
    faults.deny("s3:ListBuckets")
    run = run_scan(["s3_default_encryption", "s3_tls_enforced"])
    for check_id in ("s3_default_encryption", "s3_tls_enforced"):
        f = only(run, check_id)
        assert f.status is Status.ERROR and f.evidence["action"] == "s3:ListBuckets"


def test_no_buckets_is_not_applicable(run_scan) -> None:  # type: ignore[no-untyped-def]
    run = run_scan(["s3_default_encryption", "s3_tls_enforced"])
    for check_id in ("s3_default_encryption", "s3_tls_enforced"):
        f = only(run, check_id)
        assert f.status is Status.NOT_APPLICABLE and f.resource_id == ACCOUNT


# --- s3_tls_enforced -----------------------------------------------------------------------------


def test_tls_enforced_two_regions(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    strict = worlds.bucket(world, "tls-eu", EU)
    worlds.policy(world, "tls-eu", EU, [worlds.tls_only_statement("tls-eu")])
    none = worlds.bucket(world, "nopolicy-us", US)
    narrow = worlds.bucket(world, "getonly-us", US)
    worlds.policy(world, "getonly-us", US, [worlds.tls_only_statement("getonly-us", action="s3:GetObject")])
    extra = worlds.bucket(world, "extra-cond-us", US)
    worlds.policy(
        world,
        "extra-cond-us",
        US,
        [
            worlds.tls_only_statement(
                "extra-cond-us",
                condition={
                    "Bool": {"aws:SecureTransport": "false"},
                    "StringEquals": {"aws:PrincipalAccount": "111122223333"},
                },
            )
        ],
    )
    run = run_scan(["s3_tls_enforced"], regions=(US, EU))
    f = only(run, "s3_tls_enforced", resource_id=strict)
    assert f.status is Status.PASS and f.region == EU
    assert f.evidence["enforcing_statements"][0]["Sid"] == "DenyInsecureTransport"
    f = only(run, "s3_tls_enforced", resource_id=none)
    assert f.status is Status.FAIL and f.region == US and f.evidence["has_policy"] is False
    for arn in (narrow, extra):
        f = only(run, "s3_tls_enforced", resource_id=arn)
        assert f.status is Status.FAIL and f.evidence["has_policy"] is True
        assert "does not deny requests without TLS" in f.message


def test_tls_policy_denied_is_error(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    arn = worlds.bucket(world, "secret-policy", US)
    faults.deny("s3:GetBucketPolicy")
    f = only(run_scan(["s3_tls_enforced"]), "s3_tls_enforced", resource_id=arn)
    assert f.status is Status.ERROR and f.evidence["action"] == "s3:GetBucketPolicy"
    assert f.evidence["error_code"] == "AccessDenied"
