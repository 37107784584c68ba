"""S3 checks (NETSEC-001.1, NETSEC-002.1, NETSEC-002.3) through the runner; buckets in two regions."""

from __future__ import annotations

from typing import Any

import pytest

from checks.s3 import tls_enforcement
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


def test_tls_deny_split_over_two_statements_passes(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    split = worlds.bucket(world, "split-us", US)
    worlds.policy(world, "split-us", US, [
        worlds.tls_only_statement("split-us", resources=("",), sid="DenyHttpBucket"),
        worlds.tls_only_statement("split-us", resources=("/*",), sid="DenyHttpObjects", action="S3:*"),
    ])
    half = worlds.bucket(world, "objects-only-us", US)
    worlds.policy(world, "objects-only-us", US, [worlds.tls_only_statement("objects-only-us", resources=("/*",))])
    run = run_scan(["s3_tls_enforced"])
    f = only(run, "s3_tls_enforced", resource_id=split)
    assert f.status is Status.PASS
    assert [st["Sid"] for st in f.evidence["enforcing_statements"]] == ["DenyHttpBucket", "DenyHttpObjects"]
    f = only(run, "s3_tls_enforced", resource_id=half)
    assert f.status is Status.FAIL
    assert f.evidence["denies_http_on_objects"] is True and f.evidence["denies_http_on_bucket"] is False
    assert "on its objects but not on the bucket itself" in f.message


def test_tls_version_floor_is_reported(run_scan) -> None:  # type: ignore[no-untyped-def]
    world = World()
    arn = worlds.bucket(world, "tls12-eu", EU)
    worlds.policy(world, "tls12-eu", EU, [
        worlds.tls_only_statement("tls12-eu"),
        worlds.tls_only_statement(
            "tls12-eu", sid="DenyOldTls", condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}}
        ),
    ])
    f = only(run_scan(["s3_tls_enforced"], regions=(US, EU)), "s3_tls_enforced", resource_id=arn)
    assert f.status is Status.PASS and f.evidence["min_tls_version"] == 1.2
    assert "below TLS 1.2" in f.message
    assert [st["Sid"] for st in f.evidence["enforcing_statements"]] == ["DenyInsecureTransport"]


# --- the policy detector, pure -------------------------------------------------------------------

BUCKET_ARNS = ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
FALSE = {"Bool": {"aws:SecureTransport": "false"}}


def deny(**overrides: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": BUCKET_ARNS,
                                 "Condition": FALSE}
    statement.update(overrides)
    return {k: v for k, v in statement.items() if v is not None}


TLS_CASES = [
    # (name, statements, enforced, covers bucket, covers objects)
    ("canonical", [deny()], True, True, True),
    ("split over two statements", [deny(Resource=BUCKET_ARNS[0]), deny(Resource=BUCKET_ARNS[1])], True, True, True),
    ("objects only", [deny(Resource=BUCKET_ARNS[1])], False, False, True),
    ("bucket only", [deny(Resource=BUCKET_ARNS[0])], False, True, False),
    ("Bool false as a boolean", [deny(Condition={"Bool": {"aws:SecureTransport": False}})], True, True, True),
    ("Bool ['false']", [deny(Condition={"Bool": {"aws:SecureTransport": ["false"]}})], True, True, True),
    ("BoolIfExists", [deny(Condition={"BoolIfExists": {"aws:SecureTransport": "false"}})], True, True, True),
    ("condition key in lower case", [deny(Condition={"Bool": {"aws:securetransport": "false"}})], True, True, True),
    ("Bool true", [deny(Condition={"Bool": {"aws:SecureTransport": "true"}})], False, False, False),
    ("false and true", [deny(Condition={"Bool": {"aws:SecureTransport": ["false", "true"]}})], False, False, False),
    ("StringEquals is not the documented form",
     [deny(Condition={"StringEquals": {"aws:SecureTransport": "false"}})], False, False, False),
    ("extra condition narrows the deny",
     [deny(Condition={**FALSE, "StringEquals": {"aws:PrincipalAccount": "111122223333"}})], False, False, False),
    ("no condition at all is not a TLS rule", [deny(Condition=None)], False, False, False),
    ("Action S3:* in capitals", [deny(Action="S3:*")], True, True, True),
    ("Action *", [deny(Action="*")], True, True, True),
    ("Action *:*", [deny(Action="*:*")], True, True, True),
    ("Action s3* (no colon)", [deny(Action="s3*")], True, True, True),
    ("Action list with s3:*", [deny(Action=["s3:GetObject", "s3:*"])], True, True, True),
    ("Action s3:Get* and s3:Put* leave others", [deny(Action=["s3:Get*", "s3:Put*"])], False, False, False),
    ("Action ec2* does not match s3", [deny(Action="ec2*")], False, False, False),
    ("NotAction", [deny(Action=None, NotAction="s3:GetObject")], False, False, False),
    ("Principal {AWS: *}", [deny(Principal={"AWS": "*"})], True, True, True),
    ("Principal {AWS: [*]}", [deny(Principal={"AWS": ["*"]})], True, True, True),
    ("Principal one account", [deny(Principal={"AWS": "arn:aws:iam::111122223333:root"})], False, False, False),
    ("NotPrincipal", [deny(Principal=None, NotPrincipal={"AWS": "arn:aws:iam::111122223333:root"})],
     False, False, False),
    ("Effect Allow", [deny(Effect="Allow", Condition={"Bool": {"aws:SecureTransport": "true"}})], False, False, False),
    ("Resource *", [deny(Resource="*")], True, True, True),
    ("Resource arn:aws:s3:::*", [deny(Resource="arn:aws:s3:::*")], True, True, True),
    ("Resource arn:aws:s3:::b*", [deny(Resource="arn:aws:s3:::b*")], True, True, True),
    ("Resource another bucket", [deny(Resource=["arn:aws:s3:::c", "arn:aws:s3:::c/*"])], False, False, False),
    ("Resource a prefix of objects", [deny(Resource=["arn:aws:s3:::b", "arn:aws:s3:::b/logs/*"])], False, True, False),
    ("Resource b/? is one character, not every object", [deny(Resource=["arn:aws:s3:::b", "arn:aws:s3:::b/?"])],
     False, True, False),
    ("NotResource", [deny(Resource=None, NotResource="arn:aws:s3:::c")], False, False, False),
    ("TLS version deny alone does not stop plain HTTP",
     [deny(Condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}})], False, False, False),
]


@pytest.mark.parametrize(("name", "statements", "enforced", "bucket", "objects"), TLS_CASES,
                         ids=[c[0] for c in TLS_CASES])
def test_tls_policy_detector(
    name: str, statements: list[dict[str, Any]], enforced: bool, bucket: bool, objects: bool
) -> None:
    result = tls_enforcement({"Version": "2012-10-17", "Statement": statements}, "b", "aws")
    assert (result.enforced, result.covers_bucket, result.covers_objects) == (enforced, bucket, objects)


def test_tls_policy_detector_edge_documents() -> None:
    assert not tls_enforcement(None, "b", "aws").enforced
    assert not tls_enforcement({"Statement": None}, "b", "aws").enforced
    assert tls_enforcement({"Statement": deny()}, "b", "aws").enforced  # a single statement, not a list
    assert not tls_enforcement({"Statement": [deny()]}, "b", "aws-cn").enforced  # another partition's ARNs
    floor = tls_enforcement(
        {"Statement": [deny(), deny(Condition={"NumericLessThan": {"s3:TlsVersion": 1.2}})]}, "b", "aws"
    )
    assert floor.enforced and floor.min_tls_version == 1.2 and len(floor.statements) == 1
