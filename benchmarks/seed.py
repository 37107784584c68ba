"""The synthetic account: a deterministic amount of resources per size unit.

Seeded through the ordinary boto3 write APIs against the moto server (as a customer's
account would be built), with ``fixtures.world.World`` handing out the clients. A size of
``n`` units holds units ``0 .. n-1``; growing from 1x to 2x seeds only unit 1, so one world
serves every size in turn. Every name carries its unit number, so units never collide.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from fixtures.world import World

REGIONS = ("us-east-1", "eu-west-1", "eu-west-2")
SEED_THREADS = 4


@dataclass(frozen=True)
class Unit:
    """What one size unit adds to the account (``per_region`` counts are multiplied by 3)."""

    security_groups_per_region: int = 40  # each with 2 ingress rules
    volumes_per_region: int = 40
    buckets_per_region: int = 10
    tables_per_region: int = 2
    keys_per_region: int = 2
    log_groups_per_region: int = 5
    roles: int = 25  # roles and users each get POLICIES_PER_PRINCIPAL customer-managed policies
    users: int = 25
    policies_per_principal: int = 10  # the IAM default quota of managed policies per role/user

    @property
    def policies(self) -> int:
        return (self.roles + self.users) * self.policies_per_principal

    def scaled(self, factor: float) -> Unit:
        """A smaller or larger unit (the smoke test uses a tiny one)."""
        return Unit(**{name: max(1, round(getattr(self, name) * factor)) for name in self.__dataclass_fields__})


def _policy_document(unit: int, index: int) -> str:
    # Mostly narrow grants; every 50th is broad so that the IAM checks have FAILs to report.
    action = "s3:*" if index % 50 == 0 else ["s3:GetObject", "s3:ListBucket"]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"U{unit}P{index}",
                    "Effect": "Allow",
                    "Action": action,
                    "Resource": [f"arn:aws:s3:::bench-u{unit}-{index}", f"arn:aws:s3:::bench-u{unit}-{index}/*"],
                }
            ],
        }
    )


_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def _seed_iam_principal(world: World, unit: int, spec: Unit, kind: str, index: int) -> None:
    iam = world.client("iam")
    name = f"bench-u{unit}-{kind}-{index}"
    if kind == "role":
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_TRUST)
    else:
        iam.create_user(UserName=name)
    offset = (index if kind == "role" else spec.roles + index) * spec.policies_per_principal
    for policy_index in range(offset, offset + spec.policies_per_principal):
        arn = iam.create_policy(
            PolicyName=f"bench-u{unit}-policy-{policy_index}", PolicyDocument=_policy_document(unit, policy_index)
        )["Policy"]["Arn"]
        if kind == "role":
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        else:
            iam.attach_user_policy(UserName=name, PolicyArn=arn)


def _seed_security_groups(world: World, unit: int, spec: Unit, region: str) -> None:
    ec2 = world.client("ec2", region)
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    for index in range(spec.security_groups_per_region):
        group_id = ec2.create_security_group(
            GroupName=f"bench-u{unit}-sg-{index}", Description="benchmark", VpcId=vpc_id
        )["GroupId"]
        # Every 10th group opens SSH to the internet (a FAIL for ec2_sg_no_internet_admin_ports).
        ssh_from = "0.0.0.0/0" if index % 10 == 0 else "10.0.0.0/8"
        ec2.authorize_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": ssh_from}]},
            ],
        )


def _seed_volumes(world: World, unit: int, spec: Unit, region: str) -> None:
    ec2 = world.client("ec2", region)
    for index in range(spec.volumes_per_region):
        ec2.create_volume(
            AvailabilityZone=f"{region}a",
            Size=1,
            Encrypted=index % 4 != 0,
            TagSpecifications=[
                {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": f"bench-u{unit}-{index}"}]}
            ],
        )


def _seed_buckets(world: World, unit: int, spec: Unit, region: str) -> None:
    s3 = world.client("s3", region)
    for index in range(spec.buckets_per_region):
        name = f"bench-u{unit}-{region}-{index}"
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def _seed_small_stores(world: World, unit: int, spec: Unit, region: str) -> None:
    dynamodb = world.client("dynamodb", region)
    for index in range(spec.tables_per_region):
        dynamodb.create_table(
            TableName=f"bench-u{unit}-table-{index}",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    kms = world.client("kms", region)
    for index in range(spec.keys_per_region):
        key_id = kms.create_key(Description=f"bench-u{unit}-key-{index}")["KeyMetadata"]["KeyId"]
        if index % 2 == 0:
            kms.enable_key_rotation(KeyId=key_id)
    logs = world.client("logs", region)
    for index in range(spec.log_groups_per_region):
        name = f"/bench/u{unit}/app-{index}"
        logs.create_log_group(logGroupName=name)
        if index % 2 == 0:
            logs.put_retention_policy(logGroupName=name, retentionInDays=30)


def resources(spec: Unit, units: int, regions: Iterable[str] = REGIONS) -> Counter[str]:
    """How many resources of each kind ``units`` units hold (what "per resource" divides by)."""
    n = len(tuple(regions))
    return Counter(
        {
            "security groups": units * n * spec.security_groups_per_region,
            "EBS volumes": units * n * spec.volumes_per_region,
            "S3 buckets": units * n * spec.buckets_per_region,
            "DynamoDB tables": units * n * spec.tables_per_region,
            "KMS keys": units * n * spec.keys_per_region,
            "log groups": units * n * spec.log_groups_per_region,
            "IAM roles": units * spec.roles,
            "IAM users": units * spec.users,
            "IAM policies": units * spec.policies,
        }
    )


def seed_units(endpoint: str, spec: Unit, units: Iterable[int], regions: Iterable[str] = REGIONS) -> None:
    """Seed the given units (e.g. ``range(1, 2)`` grows a 1x account to 2x)."""
    world = World(endpoint_url=endpoint)
    regions = tuple(regions)
    for region in regions:  # World caches clients in a plain dict: build them before threads share them
        for service in ("ec2", "s3", "dynamodb", "kms", "logs"):
            world.client(service, region)
    world.client("iam")
    jobs: list[Callable[[], None]] = []
    for unit in units:
        for region in regions:
            for seeder in (_seed_security_groups, _seed_volumes, _seed_buckets, _seed_small_stores):
                jobs.append(partial(seeder, world, unit, spec, region))
        for kind, count in (("role", spec.roles), ("user", spec.users)):
            jobs.extend(partial(_seed_iam_principal, world, unit, spec, kind, i) for i in range(count))
    with ThreadPoolExecutor(max_workers=SEED_THREADS, thread_name_prefix="bench-seed") as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()  # re-raise the first seeding failure
