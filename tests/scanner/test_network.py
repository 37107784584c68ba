"""Table-driven tests of the security-group and network-ACL analysers (pure, no AWS)."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.analysis.addresses import PUBLIC_TOTAL, parse_cidr, public_addresses
from scanner.analysis.network import (
    Breadth,
    NaclEntry,
    check_prefix,
    nacl_admin_reach,
    nacl_reach,
    narrow_public_sources,
    sg_admin_exposures,
    sg_all_traffic_exposure,
    sg_rules,
    sg_whole_vpc_rules,
)
from scanner.analysis.ports import DEFAULT_ADMIN_PORTS, AdminPort, admin_ports_from_setting

SSH = AdminPort(22, "6", "SSH")
RDP = AdminPort(3389, "6", "RDP")
MYSQL = AdminPort(3306, "6", "MySQL/MariaDB")


def perm(proto: str, low: int | None = None, high: int | None = None, **sources: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"IpProtocol": proto}
    if low is not None:
        item["FromPort"], item["ToPort"] = low, high if high is not None else low
    item["IpRanges"] = [{"CidrIp": c} for c in sources.get("v4", [])]
    item["Ipv6Ranges"] = [{"CidrIpv6": c} for c in sources.get("v6", [])]
    item["PrefixListIds"] = [{"PrefixListId": p} for p in sources.get("pl", [])]
    item["UserIdGroupPairs"] = [{"GroupId": g} for g in sources.get("sg", [])]
    return item


def group(ingress: list[dict[str, Any]] = (), egress: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "GroupId": "sg-1",
        "OwnerId": "123456789012",
        "IpPermissions": list(ingress),
        "IpPermissionsEgress": list(egress),
    }


SG_CASES = [
    # (name, group, prefix lists, exposed admin port labels among SSH/RDP/MySQL, all-traffic open?)
    ("tcp 20-25 covers 22", group([perm("tcp", 20, 25, v4=["0.0.0.0/0"])]), {}, ["tcp/22 (SSH)"], False),
    ("::/0 only", group([perm("tcp", 3389, v6=["::/0"])]), {}, ["tcp/3389 (RDP)"], False),
    (
        "protocol -1 is every port",
        group([perm("-1", v4=["0.0.0.0/0"])]),
        {},
        ["tcp/22 (SSH)", "tcp/3389 (RDP)", "tcp/3306 (MySQL/MariaDB)"],
        True,
    ),
    ("443 only from the internet", group([perm("tcp", 443, v4=["0.0.0.0/0"], v6=["::/0"])]), {}, [], False),
    (
        "egress-only rules",
        group(egress=[perm("-1", v4=["0.0.0.0/0"]), perm("tcp", 22, v4=["0.0.0.0/0"])]),
        {},
        [],
        False,
    ),
    (
        "tcp 0-65535 is all ports",
        group([perm("tcp", 0, 65535, v4=["0.0.0.0/0"])]),
        {},
        ["tcp/22 (SSH)", "tcp/3389 (RDP)", "tcp/3306 (MySQL/MariaDB)"],
        True,
    ),
    ("udp 22 is not ssh", group([perm("udp", 22, v4=["0.0.0.0/0"])]), {}, [], False),
    (
        "private range is not internet",
        group([perm("-1", v4=["10.0.0.0/8", "192.168.0.0/16"])]),
        {},
        [],
        False,
    ),
    ("narrow partner range", group([perm("tcp", 22, v4=["203.0.114.0/24"])]), {}, [], False),
    (
        "0.0.0.0/1 is half the internet",
        group([perm("tcp", 22, v4=["0.0.0.0/1"])]),
        {},
        ["tcp/22 (SSH)"],
        False,
    ),
    (
        "two /9 halves add up to a /8",
        group([perm("tcp", 22, v4=["52.0.0.0/9"]), perm("tcp", 22, v4=["52.128.0.0/9"])]),
        {},
        ["tcp/22 (SSH)"],
        False,
    ),
    (
        "customer prefix list holding 0.0.0.0/0",
        group([perm("tcp", 3306, pl=["pl-cust"])]),
        {"pl-cust": ["0.0.0.0/0"]},
        ["tcp/3306 (MySQL/MariaDB)"],
        False,
    ),
    (
        "AWS-managed prefix list is not the internet",
        group([perm("tcp", 22, pl=["pl-s3"])]),
        {"pl-s3": None},
        [],
        False,
    ),
    ("group reference is not the internet", group([perm("-1", sg=["sg-2"])]), {}, [], False),
    ("protocol 47 (GRE) opens no tcp port", group([perm("47", v4=["0.0.0.0/0"])]), {}, [], False),
    (
        "tcp split in two halves is every port",
        group([perm("tcp", 0, 32767, v4=["0.0.0.0/0"]), perm("tcp", 32768, 65535, v4=["0.0.0.0/0"])]),
        {},
        ["tcp/22 (SSH)", "tcp/3389 (RDP)", "tcp/3306 (MySQL/MariaDB)"],
        True,
    ),
    (
        "tcp split over three overlapping ranges and both families",
        group([perm("tcp", 1, 1000, v4=["0.0.0.0/0"]), perm("tcp", 900, 40000, v6=["::/0"]),
               perm("tcp", 40001, 65535, v4=["0.0.0.0/0"])]),
        {},
        ["tcp/22 (SSH)", "tcp/3389 (RDP)", "tcp/3306 (MySQL/MariaDB)"],
        True,
    ),
    (
        "upper half only from a private range is not all traffic",
        group([perm("tcp", 0, 32767, v4=["0.0.0.0/0"]), perm("tcp", 32768, 65535, v4=["10.0.0.0/8"])]),
        {},
        ["tcp/22 (SSH)", "tcp/3389 (RDP)", "tcp/3306 (MySQL/MariaDB)"],
        False,
    ),
    (
        "one port missing is not all traffic",
        group([perm("tcp", 1, 8079, v4=["0.0.0.0/0"]), perm("tcp", 8081, 65535, v4=["0.0.0.0/0"])]),
        {},
        ["tcp/22 (SSH)", "tcp/3389 (RDP)", "tcp/3306 (MySQL/MariaDB)"],
        False,
    ),
    ("udp 0-65535 is every udp port", group([perm("udp", 0, 65535, v4=["0.0.0.0/0"])]), {}, [], True),
    ("icmp from everywhere is not all traffic", group([perm("icmp", -1, -1, v4=["0.0.0.0/0"])]), {}, [], False),
    ("documentation 2001:db8::/32 is not the internet", group([perm("tcp", 22, v6=["2001:db8::/32"])]), {}, [], False),
    ("documentation 3fff::/20 is not the internet", group([perm("-1", v6=["3fff::/20"])]), {}, [], False),
    ("Teredo 2001::/32 stays the internet", group([perm("tcp", 22, v6=["2001::/32"])]), {}, ["tcp/22 (SSH)"], False),
]


@pytest.mark.parametrize(
    ("name", "sg", "prefix_lists", "exposed", "all_open"), SG_CASES, ids=[c[0] for c in SG_CASES]
)
def test_security_group_analyser(
    name: str, sg: dict[str, Any], prefix_lists: dict[str, Any], exposed: list[str], all_open: bool
) -> None:
    rules = sg_rules(sg, prefix_lists)
    found = [e.what for e in sg_admin_exposures(rules, (SSH, RDP, MYSQL))]
    assert found == exposed
    assert (sg_all_traffic_exposure(rules) is not None) is all_open


def test_exposure_names_the_admitting_rule_and_counts_addresses() -> None:
    rules = sg_rules(group([perm("tcp", 20, 25, v4=["0.0.0.0/0"]), perm("tcp", 443, v4=["0.0.0.0/0"])]))
    (exposure,) = sg_admin_exposures(rules, (SSH,))
    assert exposure.evidence()["rules"] == [
        {"direction": "ingress", "traffic": "tcp/20-25", "cidr": "0.0.0.0/0"}
    ]
    # 0.0.0.0/0 minus private, reserved, multicast and documentation space
    assert 3_500_000_000 < exposure.public_addresses < 2**32


@pytest.mark.parametrize(
    ("ingress", "what"),
    [
        ([perm("-1", v4=["0.0.0.0/0"]), perm("tcp", 0, 65535, v4=["0.0.0.0/0"])], "all traffic"),
        ([perm("tcp", 0, 32767, v4=["0.0.0.0/0"]), perm("tcp", 32768, 65535, v6=["::/0"])], "every tcp port"),
        ([perm("tcp", 0, 65535, v4=["0.0.0.0/0"]), perm("udp", 1, 65535, v4=["0.0.0.0/0"])], "every tcp and udp port"),
        # -1 from half the internet's /9 plus tcp from the other /9: every tcp port, not all protocols
        ([perm("-1", v4=["52.0.0.0/9"]), perm("tcp", 0, 65535, v4=["52.128.0.0/9"])], "every tcp port"),
    ],
)
def test_all_traffic_says_what_is_open(ingress: list[dict[str, Any]], what: str) -> None:
    exposure = sg_all_traffic_exposure(sg_rules(group(ingress)))
    assert exposure is not None and exposure.what == what
    assert exposure.evidence()["port"] == what and exposure.public_addresses > 0


def test_split_all_traffic_names_both_rules_and_counts_the_narrowest_piece() -> None:
    rules = sg_rules(group([perm("tcp", 0, 32767, v4=["0.0.0.0/0"]), perm("tcp", 32768, 65535, v4=["0.0.0.0/1"])]))
    exposure = sg_all_traffic_exposure(rules)
    assert exposure is not None
    assert [r["traffic"] for r in exposure.evidence()["rules"]] == ["tcp/0-32767", "tcp/32768-65535"]
    half = public_addresses([n for n in (parse_cidr("0.0.0.0/1"),) if n])
    assert exposure.public_addresses == half


def test_broad_threshold_is_configurable() -> None:
    rules = sg_rules(group([perm("tcp", 22, v4=["52.0.0.0/12"])]))
    assert sg_admin_exposures(rules, (SSH,)) == []
    assert [e.what for e in sg_admin_exposures(rules, (SSH,), Breadth(v4_prefix=12))] == ["tcp/22 (SSH)"]
    assert narrow_public_sources(rules) == ["52.0.0.0/12"]


@pytest.mark.parametrize(
    ("cidrs", "vpc", "flagged"),
    [
        (["172.31.0.0/16"], ["172.31.0.0/16"], True),  # exactly the VPC range
        (["172.16.0.0/12"], ["172.31.0.0/16"], True),  # a supernet of it
        (["172.31.5.0/24"], ["172.31.0.0/16"], False),  # a narrow slice
        (["10.0.0.0/16"], ["172.31.0.0/16", "10.0.0.0/16"], True),  # a secondary CIDR block
    ],
)
def test_whole_vpc_all_traffic(cidrs: list[str], vpc: list[str], flagged: bool) -> None:
    rules = sg_rules(group([perm("-1", v4=cidrs), perm("-1", sg=["sg-app"])]))
    assert bool(sg_whole_vpc_rules(rules, vpc)) is flagged
    assert all(r.source_kind == "cidr" for r in sg_whole_vpc_rules(rules, vpc))


def test_whole_vpc_only_counts_all_traffic() -> None:
    rules = sg_rules(group([perm("tcp", 443, v4=["172.31.0.0/16"])]))
    assert sg_whole_vpc_rules(rules, ["172.31.0.0/16"]) == []


def entry(
    n: int,
    action: str,
    cidr: str = "0.0.0.0/0",
    proto: str = "-1",
    ports: tuple[int, int] | None = None,
    egress: bool = False,
) -> dict[str, Any]:
    item: dict[str, Any] = {"RuleNumber": n, "RuleAction": action, "Protocol": proto, "Egress": egress}
    item["Ipv6CidrBlock" if ":" in cidr else "CidrBlock"] = cidr
    if ports:
        item["PortRange"] = {"From": ports[0], "To": ports[1]}
    return item


DEFAULT_DENY = [entry(32767, "deny"), entry(32767, "deny", egress=True)]

NACL_CASES = [
    # (name, entries, ports reachable among SSH/RDP/MySQL, rule numbers admitting SSH, denying SSH)
    (
        "default NACL allows everything",
        [entry(100, "allow"), *DEFAULT_DENY],
        ["SSH", "RDP", "MySQL/MariaDB"],
        ["100"],
        [],
    ),
    (
        "deny 22 at rule 50 before allow-all at 100",
        [entry(50, "deny", proto="6", ports=(22, 22)), entry(100, "allow"), *DEFAULT_DENY],
        ["RDP", "MySQL/MariaDB"],
        [],
        ["50"],
    ),
    ("deny-all at rule 10", [entry(10, "deny"), entry(100, "allow"), *DEFAULT_DENY], [], [], ["10"]),
    (
        "allow at 100 beats deny at 200 (first match)",
        [entry(100, "allow", proto="6", ports=(20, 25)), entry(200, "deny"), *DEFAULT_DENY],
        ["SSH"],
        ["100"],
        [],
    ),
    (
        "rule order, not list order",
        [entry(200, "allow"), entry(100, "deny", proto="6", ports=(0, 65535)), *DEFAULT_DENY],
        [],
        [],
        ["100"],
    ),
    ("only the implicit deny", DEFAULT_DENY, [], [], ["*"]),
    ("implicit deny even when the API omits it", [], [], [], []),
    ("egress-only allow", [entry(100, "allow", egress=True), *DEFAULT_DENY], [], [], ["*"]),
    (
        "::/0 only",
        [entry(100, "allow", cidr="::/0", proto="6", ports=(22, 22)), *DEFAULT_DENY],
        ["SSH"],
        ["100"],
        ["*"],
    ),
    (
        "deny half the internet, allow all",
        [entry(50, "deny", cidr="0.0.0.0/1"), entry(100, "allow"), *DEFAULT_DENY],
        ["SSH", "RDP", "MySQL/MariaDB"],
        ["100"],
        ["50"],
    ),
    ("narrow allow only", [entry(100, "allow", cidr="198.51.99.0/24"), *DEFAULT_DENY], [], [], ["*"]),
    ("udp allow does not open tcp", [entry(100, "allow", proto="17"), *DEFAULT_DENY], [], [], ["*"]),
    (
        "443 only from the internet",
        [
            entry(100, "allow", proto="6", ports=(443, 443)),
            entry(110, "allow", cidr="::/0", proto="6", ports=(443, 443)),
            entry(100, "allow", egress=True),
            *DEFAULT_DENY,
        ],
        [],
        [],
        ["*"],
    ),
    ("documentation IPv6 range only", [entry(100, "allow", cidr="2001:db8::/32"), *DEFAULT_DENY], [], [], ["*"]),
]


@pytest.mark.parametrize(
    ("name", "entries", "reachable", "admitting", "denying"), NACL_CASES, ids=[c[0] for c in NACL_CASES]
)
def test_nacl_analyser(
    name: str, entries: list[dict[str, Any]], reachable: list[str], admitting: list[str], denying: list[str]
) -> None:
    reach = nacl_admin_reach({"Entries": entries}, (SSH, RDP, MYSQL))
    assert [r.port.service for r in reach if r.reachable] == reachable
    ssh = reach[0]
    assert [e.label for e in ssh.admitted_by] == admitting
    assert [e.label for e in ssh.denied_by] == denying


def test_nacl_egress_kept_apart_from_ingress() -> None:
    entries = [
        NaclEntry.from_api(e) for e in [entry(10, "deny"), entry(100, "allow", egress=True), *DEFAULT_DENY]
    ]
    assert not nacl_reach(entries, SSH).reachable
    assert nacl_reach(entries, SSH, egress=True).reachable


def test_nacl_evidence_names_the_entry() -> None:
    (reach,) = nacl_admin_reach(
        {"Entries": [entry(120, "allow", proto="6", ports=(0, 1024)), *DEFAULT_DENY]}, (SSH,)
    )
    assert reach.evidence()["admitted_by"] == [
        {
            "rule_number": "120",
            "direction": "ingress",
            "action": "allow",
            "traffic": "tcp/0-1024",
            "cidr": "0.0.0.0/0",
        }
    ]


def test_admin_ports_setting() -> None:
    assert admin_ports_from_setting(None) == DEFAULT_ADMIN_PORTS
    assert admin_ports_from_setting([22, "udp/161"]) == (
        AdminPort(22, "6", "SSH"),
        AdminPort(161, "17", "configured"),
    )
    with pytest.raises(ValueError):
        admin_ports_from_setting(["ssh"])
    assert {(p.port, p.protocol) for p in DEFAULT_ADMIN_PORTS} >= {
        (22, "6"),
        (3389, "6"),
        (3306, "6"),
        (5432, "6"),
        (1433, "6"),
        (1521, "6"),
        (27017, "6"),
        (6379, "6"),
        (9200, "6"),
        (11211, "6"),
        (2049, "6"),
        (445, "6"),
    }


@pytest.mark.parametrize(("v4", "v6"), [(0, 32), (33, 32), (-1, 32), (8, 0), (8, 2), (8, 129), (True, 32)])
def test_breadth_rejects_prefixes_that_would_hide_the_internet(v4: Any, v6: Any) -> None:
    # Breadth(0, 0) used to make 0.0.0.0/0 and ::/0 never count (a /0 is more than all public space).
    with pytest.raises(ValueError, match="broad_public_prefix_v"):
        Breadth(v4, v6)


def test_check_prefix_names_the_setting_and_the_bounds() -> None:
    assert check_prefix(4, "16") == 16 and check_prefix(6, 3) == 3
    with pytest.raises(ValueError, match=r"broad_public_prefix_v4 .* from 1 to 32, got 0"):
        check_prefix(4, 0)
    with pytest.raises(ValueError, match=r"broad_public_prefix_v6 .* from 3 to 128, got 'x'"):
        check_prefix(6, "x")


def test_the_whole_public_space_is_the_internet_at_any_accepted_breadth() -> None:
    loosest = Breadth(v4_prefix=1, v6_prefix=3)
    rules = sg_rules(group([perm("tcp", 22, v4=["0.0.0.0/0"]), perm("tcp", 3389, v6=["::/0"])]))
    assert [e.what for e in sg_admin_exposures(rules, (SSH, RDP), loosest)] == ["tcp/22 (SSH)", "tcp/3389 (RDP)"]
    assert loosest.is_internet(PUBLIC_TOTAL[6], 6) and loosest.is_internet(PUBLIC_TOTAL[4], 4)
    (reach,) = nacl_admin_reach({"Entries": [entry(100, "allow", cidr="::/0")]}, (SSH,), breadth=loosest)
    assert reach.reachable


@pytest.mark.parametrize(
    ("cidr", "public"),
    [
        ("2001:db8::/32", 0),  # documentation
        ("3fff::/20", 0),  # documentation (RFC 9637)
        ("2001:2::/48", 0),  # benchmarking
        ("2001:10::/28", 0),  # ORCHID (deprecated)
        ("5f00::/16", 0),  # SRv6 SIDs
        ("fd00::/8", 0),  # unique local, outside 2000::/3
        ("2001::/32", 2**96),  # Teredo: relays arbitrary IPv4 internet hosts
        ("2002::/16", 2**112),  # 6to4: likewise
        ("2a00::/12", 2**116),  # ordinary global unicast
    ],
)
def test_ipv6_special_purpose_ranges_are_not_public(cidr: str, public: int) -> None:
    net = parse_cidr(cidr)
    assert net is not None and public_addresses([net]) == public


def test_public_addresses_excludes_private_space() -> None:
    nets = [n for n in (parse_cidr("10.0.0.0/8"), parse_cidr("100.64.0.0/10"), parse_cidr("fd00::/8")) if n]
    assert public_addresses(nets) == 0
    one = parse_cidr("8.8.8.0/24")
    assert one is not None and public_addresses([one, one]) == 256
