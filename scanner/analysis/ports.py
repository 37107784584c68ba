"""IP protocols, and the administration ports that must not face the internet (pure: no AWS, no boto3).

A protocol is kept as its IANA number (``"6"`` tcp, ``"17"`` udp, ``"1"`` icmp, ``"58"`` icmpv6)
or ``"-1"``, AWS's "every protocol" (:func:`protocol_number` normalises what the EC2 API answers).
Only tcp and udp have ports (:data:`PORTED`): in a security group any other protocol opens all
of its traffic whatever port range is given.
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpPermission.html
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NetworkAclEntry.html
https://www.iana.org/assignments/protocol-numbers/protocol-numbers.xhtml

:data:`DEFAULT_ADMIN_PORTS` is the documented default list of remote administration, file
sharing and data-store ports; the ``admin_ports`` setting replaces it
(:func:`admin_ports_from_setting`). How a security group or network ACL exposes them is
:mod:`scanner.analysis.network`.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = "-1"
TCP = "6"
UDP = "17"
# DescribeSecurityGroups answers names for the common protocols and numbers for the rest;
# DescribeNetworkAcls always answers numbers.
_PROTOCOL_NUMBERS = {"tcp": TCP, "udp": UDP, "icmp": "1", "icmpv6": "58", "all": ALL, "-1": ALL}
_PROTOCOL_NAMES = {TCP: "tcp", UDP: "udp", "1": "icmp", "58": "icmpv6", ALL: "all"}
PORTED = (TCP, UDP)


def protocol_number(protocol: object) -> str:
    text = str(protocol).strip().lower()
    return _PROTOCOL_NUMBERS.get(text, text)


def protocol_name(number: str) -> str:
    return _PROTOCOL_NAMES.get(number, number)


@dataclass(frozen=True)
class AdminPort:
    """A port on which an administration or database service listens."""

    port: int
    protocol: str  # protocol number: "6" (tcp) or "17" (udp)
    service: str

    def label(self) -> str:
        return f"{protocol_name(self.protocol)}/{self.port} ({self.service})"


# Remote administration, file sharing and data stores that must never face the internet.
# Sources: the services' IANA registrations and CIS AWS Foundations Benchmark 5.2/5.3.
DEFAULT_ADMIN_PORTS: tuple[AdminPort, ...] = tuple(
    AdminPort(port, TCP if proto == "tcp" else UDP, service)
    for port, proto, service in (
        (20, "tcp", "FTP data"), (21, "tcp", "FTP"), (22, "tcp", "SSH"), (23, "tcp", "Telnet"),
        (135, "tcp", "MS RPC"), (139, "tcp", "NetBIOS"), (445, "tcp", "SMB/CIFS"),
        (2049, "tcp", "NFS"), (2049, "udp", "NFS"),
        (2375, "tcp", "Docker API"), (2376, "tcp", "Docker API (TLS)"),
        (3389, "tcp", "RDP"), (3389, "udp", "RDP"), (5900, "tcp", "VNC"),
        (5985, "tcp", "WinRM"), (5986, "tcp", "WinRM (TLS)"), (6443, "tcp", "Kubernetes API"),
        (10250, "tcp", "kubelet"), (1433, "tcp", "SQL Server"), (1521, "tcp", "Oracle"),
        (3306, "tcp", "MySQL/MariaDB"), (5432, "tcp", "PostgreSQL"), (5439, "tcp", "Redshift"),
        (6379, "tcp", "Redis"), (7000, "tcp", "Cassandra"), (9042, "tcp", "Cassandra CQL"),
        (9092, "tcp", "Kafka"), (9200, "tcp", "Elasticsearch/OpenSearch"),
        (9300, "tcp", "Elasticsearch transport"),
        (5601, "tcp", "Kibana"), (11211, "tcp", "Memcached"), (11211, "udp", "Memcached"),
        (27017, "tcp", "MongoDB"), (27018, "tcp", "MongoDB shard"), (5984, "tcp", "CouchDB"),
        (8086, "tcp", "InfluxDB"),
    )
)


def admin_ports_from_setting(value: object) -> tuple[AdminPort, ...]:
    """The ``admin_ports`` setting: a list of ints (TCP ports) or ``"udp/161"``-style strings."""
    if value is None:
        return DEFAULT_ADMIN_PORTS
    if not isinstance(value, list | tuple):
        raise ValueError(f"admin_ports must be a list of ports, got {value!r}")
    ports: list[AdminPort] = []
    for item in value:
        proto, _, number = str(item).rpartition("/")
        proto_number = protocol_number(proto or "tcp")
        if proto_number not in PORTED or not number.isdigit() or not 0 <= int(number) <= 65535:
            raise ValueError(f"admin_ports entry {item!r} is not a port such as 22 or 'udp/161'")
        known = {(p.port, p.protocol): p.service for p in DEFAULT_ADMIN_PORTS}
        service = known.get((int(number), proto_number), "configured")
        ports.append(AdminPort(int(number), proto_number, service))
    return tuple(ports)
