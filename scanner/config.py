"""The accounts file: the portfolio of customer accounts that ``govscan scan --config`` scans.

TOML, one ``[defaults]`` table and one ``[accounts.<label>]`` table per account (a commented
example ships as ``examples/accounts.toml``)::

    [defaults]
    profile = "partner"                 # source profile: the credentials that assume each role
    regions = ["us-east-1", "eu-west-1"]  # or: all_regions = true (every enabled region)
    rpo_hours = 24
    rto_hours = 8
    notes_dir = "notes"                 # relative to this file; notes/<label>/<CONTROL-ID>.md

    [defaults.settings]                 # check settings (as `govscan scan --set KEY=VALUE`)
    root_unused_days = 30

    [accounts.clinic]                   # the label: letters, digits, '-' and '_'
    role_arn = "arn:aws:iam::111122223333:role/GovscanReadOnly"
    external_id = "7f3c9a..."
    rpo_hours = 4                       # an account value replaces the default

    [accounts.lab]
    role_arn = "arn:aws:iam::444455556666:role/GovscanReadOnly"
    external_id_not_required = "the role is in the partner's own account"

Keys of an account table (``[defaults]`` takes all but ``role_arn``, ``external_id`` and
``external_id_not_required``, and alone takes ``notes_dir``):

``role_arn``
    The read-only scan role, ``arn:<partition>:iam::<12 digits>:role/<path/name>``. Without
    it, the (source) profile's own credentials scan.
``external_id``
    Required with ``role_arn``: a cross-account role must demand an external id (the
    confused-deputy guard; https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html).
    govscan cannot tell offline whether a role is in the partner's own account, so waiving it
    takes ``external_id_not_required = "<why>"``: the reason, written down, not ``true``.
``profile``
    The AWS profile whose credentials assume the role (the default chain if absent).
``regions`` / ``all_regions``
    A list of region names, or ``all_regions = true`` for every region enabled in the account.
    An account's choice replaces the default's. ``home_region`` (default: the first region,
    else us-east-1) is where global checks run.
``rpo_hours`` / ``rto_hours``
    The declared recovery targets (positive numbers); checks read them as settings.
``notes_dir`` (``[defaults]`` only)
    The partner's narrative notes for the reports, as ``govscan report --notes`` takes them:
    ``<notes_dir>/<label or account id>/<CONTROL-ID>.md``. Relative to the accounts file; it
    must exist. One directory for the portfolio, because the cross-account matrix and the
    appendices are rendered together.
``settings``
    A table of check settings (``root_unused_days``...). Account settings are merged over the
    default ones; ``rpo_hours``/``rto_hours`` go here too, but are set with the keys above.

Validation collects every mistake, each as ``file:line: field: what is wrong`` (unknown keys
with the closest known key, types, ARN and region formats, duplicate labels, a role without
an external id, TOML syntax), and raises them together as one :class:`ConfigError`.
tomllib reports no positions for values, so :func:`scanner.config_toml.locate_keys` scans the
source for table headers and ``key =`` lines to find them; reading the TOML is there too.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.config_toml import ConfigError as ConfigError
from scanner.config_toml import ConfigIssue, Path_, line_of, locate_keys, parse_toml, read_accounts_text
from scanner.regions import UPGRADE_HINT, partition_of, unknown_region_problems
from scanner.settings import SettingError
from scanner.settings import validate as validate_setting

ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html (ExternalId)
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
SETTING_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

DEFAULT_KEYS = (
    "profile", "regions", "all_regions", "home_region", "rpo_hours", "rto_hours", "notes_dir", "settings",
)
ACCOUNT_KEYS = (
    "role_arn", "external_id", "external_id_not_required", *(k for k in DEFAULT_KEYS if k != "notes_dir"),
)
TOP_KEYS = ("defaults", "accounts")


@dataclass(frozen=True)
class AccountConfig:
    label: str
    role_arn: str | None = None
    external_id: str | None = None
    profile: str | None = None
    regions: tuple[str, ...] = ()
    all_regions: bool = False
    home_region: str = "us-east-1"
    rpo_hours: float | None = None
    rto_hours: float | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = None

    @property
    def account_id(self) -> str | None:
        return self.role_arn.split(":")[4] if self.role_arn else None

    @property
    def check_settings(self) -> dict[str, Any]:
        """What the checks see: the settings table plus the declared RPO/RTO."""
        merged = dict(self.settings)
        if self.rpo_hours is not None:
            merged["rpo_hours"] = self.rpo_hours
        if self.rto_hours is not None:
            merged["rto_hours"] = self.rto_hours
        return merged


@dataclass(frozen=True)
class PortfolioConfig:
    path: Path
    accounts: tuple[AccountConfig, ...]
    notes_dir: Path | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(a.label for a in self.accounts)

    def select(self, labels: Iterable[str]) -> tuple[AccountConfig, ...]:
        """The accounts named (all if none); an unknown label is a :class:`ConfigError`."""
        wanted = [label for label in labels if label]
        if not wanted:
            return self.accounts
        by_label = {a.label: a for a in self.accounts}
        issues = [
            ConfigIssue(
                str(self.path), None, "--account",
                f"no account labelled {label!r}{_suggest(label, by_label)} "
                f"(labels: {', '.join(self.labels)})",
            )
            for label in wanted if label not in by_label
        ]
        if issues:
            raise ConfigError(issues)
        return tuple(by_label[label] for label in dict.fromkeys(wanted))


# --- validation ------------------------------------------------------------------------------


def _suggest(word: str, choices: Iterable[str]) -> str:
    by_folded = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_folded), n=1, cutoff=0.6)
    return f" (did you mean {by_folded[close[0]]!r}?)" if close else ""


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)


class _Validator:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.name = str(path)
        self.lines = locate_keys(text)
        self.issues: list[ConfigIssue] = []

    def error(self, where: Path_, message: str, *, line: int | None = None) -> None:
        found = line if line is not None else line_of(self.lines, where)
        self.issues.append(ConfigIssue(self.name, found, ".".join(where), message))

    def table(self, where: Path_, values: Mapping[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
        """Type-checked known keys of one table; unknown keys reported."""
        clean: dict[str, Any] = {}
        for key, value in values.items():
            at = (*where, key)
            if key not in allowed:
                hint = _suggest(key, allowed)
                if key in ACCOUNT_KEYS and where == ("defaults",):
                    hint = f" ({key} belongs in an [accounts.<label>] table)"
                elif key == "notes_dir":
                    hint = (f" (notes_dir is set once, in [defaults]; this account's notes go in "
                            f"<notes_dir>/{where[-1]}/)")
                self.error(at, f"unknown key{hint}")
                continue
            checked = self.value(at, key, value)
            if checked is not None:
                clean[key] = checked
        return clean

    def value(self, at: Path_, key: str, value: Any) -> Any:
        if key in _STRING_KEYS:
            if not isinstance(value, str):
                if key == "external_id_not_required" and value is True:
                    self.error(at, 'give the reason instead of true, e.g. external_id_not_required = '
                                   '"the role is in the partner\'s own account"')
                else:
                    self.error(at, f"expected a string, got {_type_name(value)}")
                return None
            if not value.strip():
                self.error(at, "must not be empty")
                return None
            if key == "role_arn" and not ROLE_ARN.match(value):
                self.error(at, f"not an IAM role ARN ({value!r}): expected "
                               "arn:aws:iam::<12-digit account id>:role/<name>")
                return None
            if key == "external_id" and not EXTERNAL_ID.match(value):
                self.error(at, "an external id is 2 to 1224 characters of letters, digits and +=,.@:/-_")
                return None
            if key == "home_region" and (problems := unknown_region_problems([value])):
                self.error(at, f"{problems[0]} ({UPGRADE_HINT})")
                return None
            return value
        if key == "regions":
            return self.regions(at, value)
        if key == "all_regions":
            if not isinstance(value, bool):
                self.error(at, f"expected true or false, got {_type_name(value)}")
                return None
            return value
        if key in ("rpo_hours", "rto_hours"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.error(at, f"expected a number of hours, got {_type_name(value)}")
                return None
            if not math.isfinite(value) or value <= 0:
                self.error(at, f"must be a positive number of hours, got {value}")
                return None
            return value
        if key == "settings":
            return self.settings(at, value)
        raise AssertionError(f"{key} is an allowed key that no branch above validates")  # a defect, never input

    def regions(self, at: Path_, value: Any) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.error(at, f"expected an array of region names, got {_type_name(value)}")
            return None
        if not value:
            self.error(at, "empty: list regions, or set all_regions = true")
            return None
        bad = [v for v in value if not isinstance(v, str) or not REGION.match(v)]
        if bad:
            self.error(at, f"not region names: {', '.join(repr(b) for b in bad)} (expected e.g. us-east-1)")
            return None
        if problems := unknown_region_problems(value):
            self.error(at, f"{'; '.join(problems)} ({UPGRADE_HINT})")
            return None
        dupes = sorted({v for v in value if value.count(v) > 1})
        if dupes:
            self.error(at, f"listed twice: {', '.join(dupes)}")
            return None
        return tuple(value)

    def settings(self, at: Path_, value: Any) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(at, f"expected a table of check settings, got {_type_name(value)}")
            return None
        clean: dict[str, Any] = {}
        for name, setting in value.items():
            where = (*at, name)
            if not SETTING_NAME.match(name):
                self.error(where, "a setting name is lower case letters, digits and _")
            elif name in ("rpo_hours", "rto_hours"):
                self.error(where, f"set {name} in the account table (or [defaults]), not in settings")
            elif isinstance(setting, dict):
                self.error(where, "a setting is a string, number, boolean or array, not a table")
            else:
                try:
                    clean[name] = validate_setting(name, setting)
                except SettingError as exc:
                    self.error(where, str(exc))
        return clean

    def account(self, label: str, raw: Any, defaults: Mapping[str, Any]) -> AccountConfig | None:
        where = ("accounts", label)
        if not isinstance(raw, dict):
            self.error(where, f"expected a table [accounts.{label}], got {_type_name(raw)}")
            return None
        if not LABEL.match(label):
            self.error(where, "a label is 1 to 63 letters, digits, '-' and '_' (it names its files)")
        before = len(self.issues)
        own = self.table(where, raw, ACCOUNT_KEYS)
        if own.get("regions") and own.get("all_regions"):
            self.error((*where, "all_regions"), "set either regions or all_regions = true, not both")
        role, external = own.get("role_arn"), own.get("external_id")
        waiver = own.get("external_id_not_required")
        # A bad external_id or waiver was reported already: do not also call it missing.
        if role and "external_id" not in raw and "external_id_not_required" not in raw:
            self.error(where, "role_arn without external_id: a cross-account role must require an external "
                              "id; set external_id, or external_id_not_required = \"<why>\" if it need not")
        if external and waiver:
            self.error((*where, "external_id_not_required"), "external_id is set: drop the waiver")
        if (external or waiver) and not role and "role_arn" not in raw:
            key = "external_id" if external else "external_id_not_required"
            self.error((*where, key), "only meaningful with role_arn")
        merged = {**defaults, **own}
        if "regions" in own:
            merged.pop("all_regions", None)
        elif own.get("all_regions"):
            merged.pop("regions", None)
        settings = {**defaults.get("settings", {}), **own.get("settings", {})}
        regions = tuple(merged.get("regions", ()))
        home = merged.get("home_region") or (regions[0] if regions else "us-east-1")
        if regions and home not in regions:
            self.error((*where, "home_region"), f"{home} is not one of the account's regions ({', '.join(regions)})")
        if role and ROLE_ARN.match(role) and partition_of(home):
            role_partition = role.split(":")[1]
            if partition_of(home) != role_partition:
                self.error(
                    (*where, "role_arn"),
                    f"the role is in partition {role_partition} but the home region {home} is in "
                    f"{partition_of(home)}: set home_region (or regions) to a region of {role_partition}",
                )
        if len(self.issues) > before:
            return None
        return AccountConfig(
            label=label,
            role_arn=role,
            external_id=external,
            profile=merged.get("profile"),
            regions=regions,
            all_regions=bool(merged.get("all_regions", False)),
            home_region=home,
            rpo_hours=merged.get("rpo_hours"),
            rto_hours=merged.get("rto_hours"),
            settings=settings,
            line=line_of(self.lines, where),
        )

    def notes_dir(self, at: Path_, value: str | None) -> Path | None:
        if value is None:
            return None
        directory = Path(value).expanduser()
        if not directory.is_absolute():
            directory = self.path.parent / directory
        if not directory.is_dir():
            self.error(at, f"notes directory {str(directory)!r} does not exist")
            return None
        return directory


_STRING_KEYS = ("profile", "role_arn", "external_id", "external_id_not_required", "notes_dir", "home_region")


def load_accounts(path: Path) -> PortfolioConfig:
    """Parse and validate an accounts file; every mistake is reported in one :class:`ConfigError`."""
    return parse_accounts(read_accounts_text(path), path)


def parse_accounts(text: str, path: Path) -> PortfolioConfig:
    data = parse_toml(text, path)
    check = _Validator(path, text)
    for key in data:
        if key not in TOP_KEYS:
            hint = _suggest(key, TOP_KEYS)
            if key in ACCOUNT_KEYS:
                hint = " (account keys go in an [accounts.<label>] table, shared ones in [defaults])"
            check.error((key,), f"unknown key{hint}")
    defaults: dict[str, Any] = {}
    raw_defaults = data.get("defaults", {})
    if not isinstance(raw_defaults, dict):
        check.error(("defaults",), f"expected a table [defaults], got {_type_name(raw_defaults)}")
    else:
        defaults = check.table(("defaults",), raw_defaults, DEFAULT_KEYS)
        if defaults.get("regions") and defaults.get("all_regions"):
            check.error(("defaults", "all_regions"), "set either regions or all_regions = true, not both")
    notes_dir = check.notes_dir(("defaults", "notes_dir"), defaults.pop("notes_dir", None))
    accounts: list[AccountConfig] = []
    raw_accounts = data.get("accounts")
    if raw_accounts is None:
        check.error((), "no accounts: add an [accounts.<label>] table per account")
    elif not isinstance(raw_accounts, dict):
        check.error(("accounts",), f"expected [accounts.<label>] tables, got {_type_name(raw_accounts)}")
    elif not raw_accounts:
        check.error(("accounts",), "no accounts: add an [accounts.<label>] table per account")
    else:
        seen: dict[str, str] = {}
        roles: dict[str, str] = {}
        for label, raw in raw_accounts.items():
            folded = label.lower()
            if folded in seen:
                check.error(("accounts", label), f"duplicate label: {label!r} and {seen[folded]!r} differ "
                                                 "only in case (their files would collide)")
            seen.setdefault(folded, label)
            account = check.account(label, raw, defaults)
            if account is None:
                continue
            if account.role_arn and account.role_arn in roles:
                first = roles[account.role_arn]
                check.error(("accounts", label, "role_arn"), f"same role as accounts.{first}: one account, "
                                                              "one label")
                continue
            if account.role_arn:
                roles[account.role_arn] = label
            accounts.append(account)
    if check.issues:
        raise ConfigError(sorted(check.issues, key=lambda i: (i.line or 0, i.field)))
    return PortfolioConfig(path=path, accounts=tuple(accounts), notes_dir=notes_dir)
