"""EC2 instances as the checks read them: one unfiltered ``DescribeInstances`` per region.

Every check that needs instances (patching, scaling, alarms, backup selections, the
infrastructure-as-code inventory) calls this with the same parameters, so the gateway's cache
answers them all with one call; a filtered variant would be a second call per region.
"""

from __future__ import annotations

from typing import Any

from scanner.context import CheckContext


def instances(ctx: CheckContext) -> list[dict[str, Any]]:
    """Every instance of the region, whatever its state."""
    reservations = ctx.read("ec2", "DescribeInstances").get("Reservations", [])
    return [i for r in reservations for i in r.get("Instances", [])]


def running_instances(ctx: CheckContext) -> list[dict[str, Any]]:
    return [i for i in instances(ctx) if i.get("State", {}).get("Name") == "running"]
