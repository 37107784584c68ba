"""scanner.analysis.backup_selection: which resources an AWS Backup selection picks."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.analysis.backup_selection import arn_matches, match_selection, names_resource_type

VOL = "arn:aws:ec2:eu-west-1:123456789012:volume/vol-0abc"
DB = "arn:aws:rds:eu-west-1:123456789012:db:billing"
EQ = "StringEquals"


def cond(op: str, key: str, value: str) -> dict[str, Any]:
    return {op: [{"ConditionKey": f"aws:ResourceTag/{key}", "ConditionValue": value}]}


@pytest.mark.parametrize(
    ("selection", "arn", "tags", "expected"),
    [
        ({}, VOL, {}, ("all supported resources", False)),
        ({"Resources": ["*"]}, DB, {}, ("Resources *", False)),
        ({"Resources": ["arn:aws:ec2:*:*:volume/*"]}, VOL, {}, ("Resources arn:aws:ec2:*:*:volume/*", True)),
        ({"Resources": ["arn:aws:ec2:*:*:volume/*"]}, DB, {}, None),
        ({"Resources": [VOL]}, VOL, {}, (f"Resources {VOL}", True)),
        ({"Resources": ["*"], "NotResources": ["arn:aws:ec2:*:*:volume/vol-0a*"]}, VOL, {}, None),
        ({"ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "d"}]},
         VOL, {"backup": "d"}, ("ListOfTags backup=d", False)),
        ({"ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "d"}]},
         VOL, {"backup": "w"}, None),
        # ListOfTags OR Resources
        ({"Resources": [DB], "ListOfTags": [{"ConditionKey": "backup", "ConditionValue": "d"}]},
         VOL, {"backup": "d"}, ("ListOfTags backup=d", False)),
        ({"Resources": [DB], "ListOfTags": [{"ConditionKey": "backup", "ConditionValue": "d"}]},
         DB, {}, (f"Resources {DB}", True)),
        # Conditions AND Resources; all conditions must hold
        ({"Resources": ["*"], "Conditions": {**cond(EQ, "env", "prod"), **cond("StringLike", "team", "pay*")}},
         VOL, {"env": "prod", "team": "payments"},
         ("Resources * with Conditions StringEquals(aws:ResourceTag/env=prod) AND "
          "StringLike(aws:ResourceTag/team=pay*)", False)),
        ({"Resources": ["*"], "Conditions": {**cond(EQ, "env", "prod"), **cond("StringLike", "team", "pay*")}},
         VOL, {"env": "prod", "team": "ops"}, None),
        ({"Conditions": cond("StringNotEquals", "env", "dev")}, VOL, {},
         ("all supported resources with Conditions StringNotEquals(aws:ResourceTag/env=dev)", False)),
        ({"Conditions": cond("StringNotLike", "env", "dev*")}, VOL, {"env": "dev-1"}, None),
        ({"Conditions": cond(EQ, "env", "Prod")}, VOL, {"env": "prod"}, None),  # case sensitive
        # wildcard patterns that name no resource type: opt-in applies (explicit_type False)
        ({"Resources": ["arn:aws:*"]}, VOL, {}, ("Resources arn:aws:*", False)),
        ({"Resources": ["arn:aws:ec2:*:*:*"]}, VOL, {}, ("Resources arn:aws:ec2:*:*:*", False)),
        ({"Resources": ["arn:aws:*:*:*:volume/*"]}, VOL, {}, ("Resources arn:aws:*:*:*:volume/*", False)),
        ({"Resources": ["arn:aws:rds:*:*:db:*"]}, DB, {}, ("Resources arn:aws:rds:*:*:db:*", True)),
    ],
)
def test_match_selection(selection, arn, tags, expected):
    match = match_selection(selection, arn, lambda: tags)
    assert (None if match is None else (match.matched_by, match.explicit_type)) == expected


def test_tags_are_not_read_when_no_tag_filter_applies():
    def no_tags() -> dict[str, str]:
        raise AssertionError("tags read without a tag filter")

    assert match_selection({"Resources": [VOL]}, VOL, no_tags) is not None


def test_arn_wildcards_span_separators():
    assert arn_matches("arn:aws:ec2:*:*:volume/*", VOL)
    assert not arn_matches("arn:aws:ec2:us-east-1:*:volume/*", VOL)
    assert arn_matches("*", DB)


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        ("arn:aws:ec2:*:*:volume/*", True),
        ("arn:aws:dynamodb:*:*:table/*", True),
        ("arn:aws:rds:*:*:cluster:*", True),
        (VOL, True),
        ("arn:aws:s3:::my-bucket", True),
        ("*", False),
        ("arn:aws:*", False),
        ("arn:aws:ec2:*", False),
        ("arn:aws:ec2:*:*:*", False),
        ("arn:aws:ec2:*:*:vol*", False),
        ("arn:aws:*:*:*:volume/*", False),
    ],
)
def test_names_resource_type(pattern, named):
    assert names_resource_type(pattern) is named
