"""The public address space, and arithmetic on sets of CIDR blocks (pure: no AWS, no boto3).

"Public" is what the internet can send from: the IPv4 space minus the special-purpose blocks
that are not globally reachable (RFC 1918 private, CGNAT ``100.64.0.0/10``, "this network",
loopback, link-local, IETF protocol assignments, documentation, benchmarking, multicast and
reserved), https://www.iana.org/assignments/iana-ipv4-special-registry; and IPv6 global
unicast ``2000::/3`` minus the special-purpose blocks IANA marks not globally reachable:
documentation ``2001:db8::/32`` and ``3fff::/20``, benchmarking ``2001:2::/48``, ORCHID
``2001:10::/28`` and SRv6 SIDs ``5f00::/16``. Teredo ``2001::/32`` and 6to4 ``2002::/16``
stay public, as they carry traffic from arbitrary internet hosts.
https://www.iana.org/assignments/iana-ipv6-special-registry

:func:`public_addresses` counts the public addresses in a union of CIDR blocks; how many make
"the internet", and how security groups and network ACLs admit them, is
:mod:`scanner.analysis.network`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NON_PUBLIC_V4 = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
)
# Inside 2000::/3, the IANA special-purpose blocks that are not globally reachable (see the
# module docstring for the ones deliberately kept).
_NON_PUBLIC_V6 = ("2001:2::/48", "2001:10::/28", "2001:db8::/32", "3fff::/20", "5f00::/16")


def subtract(networks: Iterable[Network], removed: Network) -> list[Network]:
    """The addresses of ``networks`` outside ``removed``, as networks."""
    result: list[Network] = []
    for net in networks:
        if net.version != removed.version or not net.overlaps(removed):
            result.append(net)
        elif net.subnet_of(removed):  # type: ignore[arg-type]
            continue
        else:  # removed lies inside net (CIDRs either nest or are disjoint)
            result.extend(net.address_exclude(removed))  # type: ignore[arg-type]
    return result


def _public_space(version: int) -> list[Network]:
    space: list[Network] = [ipaddress.ip_network("0.0.0.0/0" if version == 4 else "2000::/3")]
    for block in _NON_PUBLIC_V4 if version == 4 else _NON_PUBLIC_V6:
        space = subtract(space, ipaddress.ip_network(block))
    return space


PUBLIC_SPACE: Mapping[int, tuple[Network, ...]] = {4: tuple(_public_space(4)), 6: tuple(_public_space(6))}
PUBLIC_TOTAL: Mapping[int, int] = {v: sum(n.num_addresses for n in nets) for v, nets in PUBLIC_SPACE.items()}


def intersect(networks: Iterable[Network], other: Network) -> list[Network]:
    """The addresses of ``networks`` inside ``other``, as networks (CIDRs either nest or are disjoint)."""
    result: list[Network] = []
    for net in networks:
        if net.version != other.version or not net.overlaps(other):
            continue
        result.append(net if net.subnet_of(other) else other)  # type: ignore[arg-type]
    return result


def public_addresses(networks: Iterable[Network]) -> int:
    """How many public addresses the union of ``networks`` holds."""
    total = 0
    for version in (4, 6):
        nets = [n for n in networks if n.version == version]
        union = list(ipaddress.collapse_addresses(nets))  # type: ignore[type-var]
        for net in union:
            total += sum(part.num_addresses for part in intersect(PUBLIC_SPACE[version], net))
    return total


def parse_cidr(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
