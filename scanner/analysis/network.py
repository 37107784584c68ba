"""Security-group and network-ACL semantics, as AWS evaluates them (pure: no AWS, no boto3).

Security groups are allow-only and stateful: a port is open to a source when *any* inbound
rule's protocol and port range cover it and its source includes the address.
https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html

Network ACLs are stateless and ordered: for each packet AWS takes the entries of its
direction in ascending rule number and the *first* entry whose protocol, port range and CIDR
match decides (allow or deny); when none matches, the final ``*`` entry denies.
https://docs.aws.amazon.com/vpc/latest/userguide/nacl-rules.html

Protocol numbers and the admin ports judged here (a setting) are :mod:`scanner.analysis.ports`.

"The internet" is a set of addresses, not a string: each rule's CIDR is intersected with the
public address space (IPv4 and IPv6 minus the special-purpose blocks that are not globally
reachable, see :mod:`scanner.analysis.addresses`). A port counts as reachable from the internet
when the public addresses admitted to it add up to at least as many as one IPv4 /8 (16.7
million) or one IPv6 /32 (an ISP-sized allocation) -- so ``0.0.0.0/0``, ``::/0``, ``0.0.0.0/1``
or two adjacent ``/9`` rules all count, while a partner's ``203.0.113.0/24`` does not (it is
reported as a narrow public source). The two prefix lengths are settings
(``broad_public_prefix_v4`` from 1 to 32, ``broad_public_prefix_v6`` from 3 to 128; anything
else is rejected, see :class:`Breadth`), and a source that covers the whole public space of its
family is the internet whatever they say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.analysis.addresses import (
    PUBLIC_SPACE,
    PUBLIC_TOTAL,
    Network,
    intersect,
    parse_cidr,
    public_addresses,
    subtract,
)
from scanner.analysis.ports import ALL, PORTED, AdminPort, protocol_name, protocol_number

# Accepted prefix lengths for the two breadth settings. Below these bounds the threshold
# would exceed the family's whole public space (IPv4 /0 is 2**32 addresses, more than the
# ~3.7 billion public ones; IPv6 /2 is more than 2000::/3), which used to make 0.0.0.0/0 and
# ::/0 silently stop counting as the internet.
PREFIX_BOUNDS: Mapping[int, tuple[int, int]] = {4: (1, 32), 6: (3, 128)}
PREFIX_SETTINGS: Mapping[int, str] = {4: "broad_public_prefix_v4", 6: "broad_public_prefix_v6"}


def check_prefix(version: int, value: object) -> int:
    """A breadth prefix length, validated; ``ValueError`` names the setting and the bounds."""
    low, high = PREFIX_BOUNDS[version]
    text = str(value).strip()
    if isinstance(value, bool) or not (isinstance(value, int) or text.isdigit()) or not low <= int(text) <= high:
        raise ValueError(
            f"{PREFIX_SETTINGS[version]} must be an IPv{version} prefix length from {low} to {high}, got {value!r}"
        )
    return int(text)


@dataclass(frozen=True)
class Breadth:
    """How many public addresses make a source "the internet" (see the module docstring)."""

    v4_prefix: int = 8
    v6_prefix: int = 32

    def __post_init__(self) -> None:
        check_prefix(4, self.v4_prefix)
        check_prefix(6, self.v6_prefix)

    def is_internet(self, public_addresses: int, version: int) -> bool:
        """At least a /``prefix`` worth of public addresses, or the family's whole public space."""
        bits, prefix = (32, self.v4_prefix) if version == 4 else (128, self.v6_prefix)
        if public_addresses <= 0:
            return False
        threshold: int = min(2 ** (bits - prefix), PUBLIC_TOTAL[version])
        return public_addresses >= threshold


# ---------------------------------------------------------------------------- security groups


@dataclass(frozen=True)
class SgRule:
    """One source of one permission of a security group (AWS's "security group rule")."""

    direction: str  # "ingress" | "egress"
    protocol: str  # number, "-1" for all
    from_port: int | None
    to_port: int | None
    source_kind: str  # "cidr" | "prefix-list" | "security-group"
    source: str  # "0.0.0.0/0", "pl-...", "sg-..." (or "123456789012/sg-...")
    networks: tuple[Network, ...]  # the addresses the source stands for (empty for groups)
    note: str = ""

    def covers(self, protocol: str, port: int) -> bool:
        """AWS: ``-1`` is every protocol and port; any protocol other than tcp, udp, icmp and
        icmpv6 opens all of its ports whatever range is given (EC2 API, IpPermission)."""
        if self.protocol == ALL:
            return True
        if self.protocol != protocol:
            return False
        if self.from_port is None or self.to_port is None or self.from_port == -1:
            return True
        return self.from_port <= port <= self.to_port

    @property
    def all_traffic(self) -> bool:
        """All protocols, or every port of tcp or udp."""
        if self.protocol == ALL:
            return True
        if self.protocol in PORTED:
            if self.from_port in (None, -1):
                return True
            return (self.from_port or 0) <= 1 and (self.to_port or 0) >= 65535
        return False

    def ports_text(self) -> str:
        if self.protocol == ALL:
            return "all traffic"
        name = protocol_name(self.protocol)
        if self.protocol not in PORTED:
            return name if self.protocol in ("1", "58") else f"protocol {name} (all ports)"
        if self.from_port in (None, -1):
            return f"{name} all ports"
        return f"{name}/{self.from_port}" + ("" if self.from_port == self.to_port else f"-{self.to_port}")

    def evidence(self) -> dict[str, Any]:
        item: dict[str, Any] = {"direction": self.direction, "traffic": self.ports_text(),
                                self.source_kind: self.source}
        if self.note:
            item["note"] = self.note
        return item


def sg_rules(
    group: Mapping[str, Any], prefix_lists: Mapping[str, Sequence[str] | None] | None = None
) -> list[SgRule]:
    """Flatten a DescribeSecurityGroups group into one rule per (permission, source).

    ``prefix_lists`` maps a prefix list id to its CIDR entries; ``None`` (or a missing id)
    means not resolved into addresses -- checks.ec2 passes ``None`` only for AWS-managed lists
    of service ranges and reports a list it could not read as an ERROR instead of calling
    this -- and such a source stands for no address of its own (the note says why).
    """
    resolved = prefix_lists or {}
    rules: list[SgRule] = []
    for direction, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
        for perm in group.get(key) or []:
            proto = protocol_number(perm.get("IpProtocol", ALL))
            low, high = perm.get("FromPort"), perm.get("ToPort")

            sources: list[tuple[str, str, list[Network | None], str]] = []
            for item in perm.get("IpRanges") or []:
                sources.append(("cidr", item["CidrIp"], [parse_cidr(item["CidrIp"])], ""))
            for item in perm.get("Ipv6Ranges") or []:
                sources.append(("cidr", item["CidrIpv6"], [parse_cidr(item["CidrIpv6"])], ""))
            for item in perm.get("PrefixListIds") or []:
                pl_id = item["PrefixListId"]
                entries = resolved.get(pl_id)
                if entries is None:
                    note = "AWS-managed prefix list (AWS service ranges): not counted as internet"
                    sources.append(("prefix-list", pl_id, [], note))
                else:
                    cidrs: list[Network | None] = [parse_cidr(c) for c in entries]
                    sources.append(("prefix-list", pl_id, cidrs, f"entries: {', '.join(entries)}"))
            for item in perm.get("UserIdGroupPairs") or []:
                ref = item.get("GroupId", "")
                owner = item.get("UserId")
                label = f"{owner}/{ref}" if owner and owner != group.get("OwnerId") else ref
                peering = item.get("VpcPeeringConnectionId")
                sources.append(("security-group", label, [], f"via peering {peering}" if peering else ""))
            for kind, source, nets, note in sources:
                networks = tuple(n for n in nets if n is not None)
                rules.append(SgRule(direction, proto, low, high, kind, source, networks, note))
    return rules


@dataclass(frozen=True)
class Exposure:
    """Public addresses that reach one port, and the rules that admit them."""

    what: str  # the port's label, or "all traffic"
    public_addresses: int
    rules: tuple[SgRule, ...]

    def evidence(self) -> dict[str, Any]:
        return {"port": self.what, "public_addresses": self.public_addresses,
                "rules": [r.evidence() for r in self.rules]}


def _internet_among(rules: Sequence[SgRule], breadth: Breadth) -> tuple[int, tuple[SgRule, ...]]:
    """(public addresses admitted, contributing rules) if the union is the internet, else (0, ())."""
    admitted = 0
    contributing: list[SgRule] = []
    for version in (4, 6):
        nets = [n for r in rules for n in r.networks if n.version == version]
        size = public_addresses(nets)
        if breadth.is_internet(size, version):
            admitted += size
            contributing.extend(
                r for r in rules if public_addresses([n for n in r.networks if n.version == version])
            )
    return admitted, tuple(dict.fromkeys(contributing))


def sg_admin_exposures(
    rules: Sequence[SgRule], ports: Sequence[AdminPort], breadth: Breadth = Breadth()
) -> list[Exposure]:
    """Admin ports that inbound rules open to the internet (union of all rules, AWS's "any allow")."""
    exposures: list[Exposure] = []
    inbound = [r for r in rules if r.direction == "ingress"]
    for port in ports:
        covering = [r for r in inbound if r.covers(port.protocol, port.port)]
        admitted, contributing = _internet_among(covering, breadth)
        if contributing:
            exposures.append(Exposure(port.label(), admitted, contributing))
    return exposures


def _every_port(
    inbound: Sequence[SgRule], protocol: str, breadth: Breadth
) -> tuple[int, tuple[SgRule, ...]] | None:
    """(fewest public addresses admitted to any one port, contributing rules) when the internet
    reaches every port 1-65535 of ``protocol`` through the union of the rules, else ``None``.

    The port space is cut where any rule's range starts or ends; within a piece the covering
    rules are the same for every port, so one port per piece decides it."""
    cuts = {1, 65536}
    for rule in inbound:
        if rule.protocol == protocol and rule.from_port not in (None, -1) and rule.to_port is not None:
            cuts.update((min(max(rule.from_port, 1), 65536), min(max(rule.to_port + 1, 1), 65536)))
    starts = sorted(cuts)[:-1]
    fewest: int | None = None
    contributing: list[SgRule] = []
    for start in starts:
        admitted, rules = _internet_among([r for r in inbound if r.covers(protocol, start)], breadth)
        if not rules:
            return None
        fewest = admitted if fewest is None else min(fewest, admitted)
        contributing.extend(rules)
    return (fewest or 0), tuple(dict.fromkeys(contributing))


def sg_all_traffic_exposure(rules: Sequence[SgRule], breadth: Breadth = Breadth()) -> Exposure | None:
    """Inbound rules that open all traffic to the internet, or ``None``.

    "All traffic" is every protocol (``-1``), or every port (1-65535) of tcp, or every port of
    udp: either protocol fully open leaves whatever listens on it, now or later, exposed.
    Port ranges are merged per protocol before judging: a port counts when the rules that
    cover it (``-1`` rules cover every port) admit the internet over IPv4 or IPv6 -- the same
    per-port test as for admin ports -- so tcp 0-32767 plus tcp 32768-65535 from 0.0.0.0/0 is
    every tcp port. ICMP and other IP protocols (GRE, ESP...) are not "all traffic" here: they
    have no ports and serve VPN endpoints and path-MTU discovery.

    ``what`` says which: ``all traffic`` (the ``-1`` rules alone admit the internet; their
    public addresses are counted), else ``every tcp port``, ``every udp port`` or ``every tcp
    and udp port`` (counting the fewest public addresses admitted to any one port)."""
    inbound = [r for r in rules if r.direction == "ingress"]
    admitted, contributing = _internet_among([r for r in inbound if r.protocol == ALL], breadth)
    if contributing:
        return Exposure("all traffic", admitted, contributing)
    kinds: list[str] = []
    counts: list[int] = []
    involved: list[SgRule] = []
    for protocol in PORTED:
        found = _every_port(inbound, protocol, breadth)
        if found is not None:
            kinds.append(protocol_name(protocol))
            counts.append(found[0])
            involved.extend(found[1])
    if not kinds:
        return None
    return Exposure(f"every {' and '.join(kinds)} port", min(counts), tuple(dict.fromkeys(involved)))


def narrow_public_sources(rules: Sequence[SgRule]) -> list[str]:
    """Inbound CIDR sources with some public addresses (reported, not failed, when narrow)."""
    return sorted({r.source for r in rules if r.direction == "ingress" and public_addresses(r.networks)})


def sg_whole_vpc_rules(rules: Sequence[SgRule], vpc_cidrs: Iterable[str]) -> list[SgRule]:
    """Inbound all-traffic rules whose source contains a whole CIDR block of the VPC.

    Group references and narrower CIDRs are what NETSEC-001.2 asks for; ``10.0.0.0/8`` on a
    ``10.0.0.0/16`` VPC (or ``0.0.0.0/0``) admits every host of the VPC on every port.
    """
    blocks = [n for n in (parse_cidr(c) for c in vpc_cidrs) if n is not None]
    return [
        r for r in rules
        if r.direction == "ingress" and r.all_traffic
        and any(b.version == n.version and b.subnet_of(n) for b in blocks for n in r.networks)  # type: ignore[arg-type]
    ]


# ---------------------------------------------------------------------------- network ACLs


@dataclass(frozen=True)
class NaclEntry:
    rule_number: int
    egress: bool
    protocol: str
    action: str  # "allow" | "deny"
    cidr: Network | None
    port_from: int | None
    port_to: int | None

    @classmethod
    def from_api(cls, entry: Mapping[str, Any]) -> NaclEntry:
        ports = entry.get("PortRange") or {}
        return cls(
            rule_number=int(entry["RuleNumber"]),
            egress=bool(entry.get("Egress")),
            protocol=protocol_number(entry.get("Protocol", ALL)),
            action=str(entry.get("RuleAction", "deny")).lower(),
            cidr=parse_cidr(entry.get("CidrBlock") or entry.get("Ipv6CidrBlock") or ""),
            port_from=ports.get("From"),
            port_to=ports.get("To"),
        )

    def matches(self, protocol: str, port: int) -> bool:
        if self.protocol == ALL:
            return True
        if self.protocol != protocol:
            return False
        if self.protocol not in PORTED or self.port_from is None or self.port_to is None:
            return True
        return self.port_from <= port <= self.port_to

    @property
    def label(self) -> str:
        return "*" if self.rule_number == 32767 else str(self.rule_number)

    def evidence(self) -> dict[str, Any]:
        traffic = "all traffic" if self.protocol == ALL else protocol_name(self.protocol)
        if self.protocol in PORTED and self.port_from is not None:
            traffic += f"/{self.port_from}" + ("" if self.port_from == self.port_to else f"-{self.port_to}")
        return {"rule_number": self.label, "direction": "egress" if self.egress else "ingress",
                "action": self.action, "traffic": traffic, "cidr": str(self.cidr)}


@dataclass(frozen=True)
class NaclReach:
    port: AdminPort
    reachable: bool
    public_addresses: int
    admitted_by: tuple[NaclEntry, ...]  # allow entries that admit public addresses, in order
    denied_by: tuple[NaclEntry, ...]  # deny entries that took public addresses first

    def evidence(self) -> dict[str, Any]:
        return {
            "port": self.port.label(),
            "reachable": self.reachable,
            "public_addresses_admitted": self.public_addresses,
            "admitted_by": [e.evidence() for e in self.admitted_by],
            "denied_by": [e.evidence() for e in self.denied_by],
        }


def nacl_reach(
    entries: Sequence[NaclEntry], port: AdminPort, *, egress: bool = False, breadth: Breadth = Breadth()
) -> NaclReach:
    """Whether the internet reaches ``port`` through the entries of one direction.

    Walks the entries in ascending rule number; each matching entry decides for the public
    addresses not yet decided by an earlier entry (first match wins). Addresses no entry
    matches meet the implicit final deny (the ``*`` rule) -- also when the API omits it.
    """
    admitting: list[NaclEntry] = []
    denied: list[NaclEntry] = []
    total = 0
    ordered = sorted((e for e in entries if e.egress == egress), key=lambda e: e.rule_number)
    for version in (4, 6):
        undecided: list[Network] = list(PUBLIC_SPACE[version])
        allowed_here: list[NaclEntry] = []
        admitted_here = 0
        for entry in ordered:
            if entry.cidr is None or entry.cidr.version != version:
                continue
            if not entry.matches(port.protocol, port.port):
                continue
            taken = sum(n.num_addresses for n in intersect(undecided, entry.cidr))
            if not taken:
                continue  # an earlier entry already decided all of these addresses
            if entry.action == "allow":
                allowed_here.append(entry)
                admitted_here += taken
            else:
                denied.append(entry)
            undecided = subtract(undecided, entry.cidr)
        if breadth.is_internet(admitted_here, version):
            admitting.extend(allowed_here)
            total += admitted_here
    return NaclReach(port, bool(admitting), total, tuple(admitting), tuple(denied))


def nacl_admin_reach(
    acl: Mapping[str, Any], ports: Sequence[AdminPort], *, egress: bool = False, breadth: Breadth = Breadth()
) -> list[NaclReach]:
    entries = [NaclEntry.from_api(e) for e in acl.get("Entries") or []]
    return [nacl_reach(entries, p, egress=egress, breadth=breadth) for p in ports]
