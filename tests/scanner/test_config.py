"""The accounts file: the shipped example loads; every malformed file says where and what."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import load_accounts
from scanner.config_toml import ConfigError, locate_keys

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "accounts.toml"

GOOD_ROLE = "arn:aws:iam::111122223333:role/GovscanReadOnly"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(text, encoding="utf-8")
    return path


def errors(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_accounts(path)
    prefix = str(path)
    return [str(issue).replace(prefix, "accounts.toml") for issue in raised.value.issues]


def test_the_shipped_example_is_valid() -> None:
    config = load_accounts(EXAMPLE)
    assert config.labels == ("clinic", "retail", "logistics", "lab")
    clinic, retail, logistics, lab = config.accounts
    assert clinic.role_arn == "arn:aws:iam::111122223333:role/GovscanReadOnly"
    assert clinic.account_id == "111122223333"
    assert clinic.external_id == "clinic-7f3c9a2e41d8"
    assert clinic.profile == "partner-govscan"
    assert clinic.regions == ("us-east-1", "eu-west-1") and clinic.home_region == "us-east-1"
    assert clinic.check_settings == {
        "root_unused_days": 30, "free_mail_domains": ["example-freemail.com"], "rpo_hours": 4, "rto_hours": 2,
    }
    assert retail.all_regions and retail.regions == ()
    assert logistics.regions == ("ap-southeast-2",) and logistics.home_region == "ap-southeast-2"
    assert logistics.settings["root_unused_days"] == 60
    assert logistics.check_settings["rpo_hours"] == 24
    assert lab.external_id is None and lab.profile == "lab-admin"


def test_minimal_file_and_selection(tmp_path: Path) -> None:
    (tmp_path / "notes" / "a").mkdir(parents=True)
    path = write(tmp_path, f"""
[defaults]
notes_dir = "notes"

[accounts.a]
role_arn = "{GOOD_ROLE}"
external_id = "ext-a"

[accounts.b]   # no role: the profile's own account
profile = "b"
""")
    config = load_accounts(path)
    assert config.labels == ("a", "b")
    assert config.notes_dir == tmp_path / "notes"
    assert config.accounts[0].line == 5
    assert config.accounts[1].role_arn is None and config.accounts[1].home_region == "us-east-1"
    assert [a.label for a in config.select(["b"])] == ["b"]
    assert config.select([]) == config.accounts
    with pytest.raises(ConfigError) as raised:
        config.select(["c", "A"])
    assert [str(i).replace(str(path), "accounts.toml") for i in raised.value.issues] == [
        "accounts.toml: --account: no account labelled 'c' (labels: a, b)",
        "accounts.toml: --account: no account labelled 'A' (did you mean 'a'?) (labels: a, b)",
    ]


MALFORMED = [
    pytest.param(
        "",
        ["accounts.toml: the file is empty: add [accounts.<label>] tables (see examples/accounts.toml)"],
        id="empty-file",
    ),
    pytest.param(
        "# only a comment\n\n",
        ["accounts.toml: the file is empty: add [accounts.<label>] tables (see examples/accounts.toml)"],
        id="comments-only",
    ),
    pytest.param(
        '[defaults]\nregions = ["us-east-1"]\n',
        ["accounts.toml: no accounts: add an [accounts.<label>] table per account"],
        id="no-accounts",
    ),
    pytest.param(
        f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\nregion = ["us-east-1"]\n',
        ["accounts.toml:4: accounts.clinic.region: unknown key (did you mean 'regions'?)"],
        id="unknown-key-suggested",
    ),
    pytest.param(
        '[accounts.clinic]\nrole_arn = "arn:aws:iam::1234:role/Scan"\nexternal_id = "x1"\n',
        ["accounts.toml:2: accounts.clinic.role_arn: not an IAM role ARN ('arn:aws:iam::1234:role/Scan'): "
         "expected arn:aws:iam::<12-digit account id>:role/<name>"],
        id="bad-arn-account",
    ),
    pytest.param(
        '[accounts.clinic]\nexternal_id = "x1"\nrole_arn = "arn:aws:iam::111122223333:user/scan"\n',
        ["accounts.toml:3: accounts.clinic.role_arn: not an IAM role ARN "
         "('arn:aws:iam::111122223333:user/scan'): expected arn:aws:iam::<12-digit account id>:role/<name>"],
        id="arn-of-a-user",
    ),
    pytest.param(
        f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\n\n'
        f'[accounts.retail]\nrole_arn = "arn:aws:iam::222233334444:role/S"\nexternal_id = "x2"\n\n'
        f'[accounts.clinic]\nprofile = "p"\n',
        ["accounts.toml:9: accounts.clinic: duplicate label 'clinic' (first declared at line 1)"],
        id="duplicate-label",
    ),
    pytest.param(
        f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\n\n'
        f'[accounts.Clinic]\nrole_arn = "arn:aws:iam::222233334444:role/S"\nexternal_id = "x2"\n',
        ["accounts.toml:5: accounts.Clinic: duplicate label: 'Clinic' and 'clinic' differ only in case "
         "(their files would collide)"],
        id="duplicate-label-by-case",
    ),
    pytest.param(
        f'[defaults]\nprofile = "partner"\n\n[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\n',
        ["accounts.toml:4: accounts.clinic: role_arn without external_id: a cross-account role must "
         'require an external id; set external_id, or external_id_not_required = "<why>" if it need not'],
        id="missing-external-id",
    ),
    pytest.param(
        f'[accounts.lab]\nrole_arn = "{GOOD_ROLE}"\nexternal_id_not_required = true\n',
        ["accounts.toml:3: accounts.lab.external_id_not_required: give the reason instead of true, e.g. "
         "external_id_not_required = \"the role is in the partner's own account\""],
        id="waiver-without-reason",
    ),
    pytest.param(
        '[accounts.lab]\nprofile = "lab"\nexternal_id = "x1"\n',
        ["accounts.toml:3: accounts.lab.external_id: only meaningful with role_arn"],
        id="external-id-without-role",
    ),
    pytest.param(
        f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\n'
        'regions = ["us-east-1", "Frankfurt"]\n',
        ["accounts.toml:4: accounts.clinic.regions: not region names: 'Frankfurt' (expected e.g. us-east-1)"],
        id="bad-region",
    ),
    pytest.param(
        f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\nregions = "us-east-1"\n',
        ["accounts.toml:4: accounts.clinic.regions: expected an array of region names, got a string"],
        id="regions-not-a-list",
    ),
    pytest.param(
        f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\n'
        'regions = ["eu-west-1"]\nall_regions = true\n',
        ["accounts.toml:5: accounts.clinic.all_regions: set either regions or all_regions = true, not both"],
        id="regions-and-all-regions",
    ),
    pytest.param(
        f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\nrpo_hours = "4h"\nrto_hours = 0\n',
        ["accounts.toml:4: accounts.clinic.rpo_hours: expected a number of hours, got a string",
         "accounts.toml:5: accounts.clinic.rto_hours: must be a positive number of hours, got 0"],
        id="rpo-rto-types",
    ),
    pytest.param(
        f'[defaults]\nnotes_dir = "no/such/dir"\n[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\n',
        ["accounts.toml:2: defaults.notes_dir: notes directory '{dir}/no/such/dir' does not exist"],
        id="notes-dir-missing",
    ),
    pytest.param(
        f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\nnotes_dir = "notes/clinic"\n',
        ["accounts.toml:4: accounts.clinic.notes_dir: unknown key (notes_dir is set once, in [defaults]; "
         "this account's notes go in <notes_dir>/clinic/)"],
        id="notes-dir-per-account",
    ),
    pytest.param(
        f'[defaults]\nrole_arn = "{GOOD_ROLE}"\n\n[accounts.a]\nprofile = "a"\n',
        ["accounts.toml:2: defaults.role_arn: unknown key (role_arn belongs in an [accounts.<label>] table)"],
        id="role-in-defaults",
    ),
    pytest.param(
        '[accounts.clinic]\nrole_arn = "arn:aws:iam::111122223333:role/S"\nexternal_id = "x1"\n'
        'profile = "p"\nprofile = "q"\n',
        ["accounts.toml:5: TOML syntax error: Cannot overwrite a value (column 14)"],
        id="toml-duplicate-key",
    ),
    pytest.param(
        '[accounts.clinic\nrole_arn = "x"\n',
        ["accounts.toml:1: TOML syntax error: Expected ']' at the end of a table declaration (column 17)"],
        id="toml-unclosed-header",
    ),
    pytest.param(
        '[accounts.clinic]\nregions = ["us-east-1",\n',
        ["accounts.toml:2: TOML syntax error: Invalid value (at the end of the file)"],
        id="toml-unclosed-array",
    ),
    pytest.param(
        'acounts = 1\n[accounts."acme corp"]\nprofile = 3\n',
        ["accounts.toml:1: acounts: unknown key (did you mean 'accounts'?)",
         "accounts.toml:2: accounts.acme corp: a label is 1 to 63 letters, digits, '-' and '_' "
         "(it names its files)",
         "accounts.toml:3: accounts.acme corp.profile: expected a string, got an integer"],
        id="several-mistakes-at-once",
    ),
    pytest.param(
        f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\n'
        f'[accounts.clinic2]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x2"\n',
        ["accounts.toml:5: accounts.clinic2.role_arn: same role as accounts.clinic: one account, one label"],
        id="same-role-twice",
    ),
    pytest.param(
        f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\n'
        'settings = { rpo_hours = 4, root_unused_days = 30 }\n',
        ["accounts.toml:4: accounts.clinic.settings.rpo_hours: set rpo_hours in the account table (or "
         "[defaults]), not in settings"],
        id="rpo-in-settings",
    ),
    pytest.param(
        'accounts = ["clinic"]\n',
        ["accounts.toml:1: accounts: expected [accounts.<label>] tables, got an array"],
        id="accounts-not-a-table",
    ),
    pytest.param(
        '[accounts]\nclinic = "arn:aws:iam::111122223333:role/S"\n',
        ["accounts.toml:2: accounts.clinic: expected a table [accounts.clinic], got a string"],
        id="account-not-a-table",
    ),
    pytest.param(
        f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x"\n',
        ["accounts.toml:3: accounts.clinic.external_id: an external id is 2 to 1224 characters of letters, "
         "digits and +=,.@:/-_"],
        id="external-id-too-short",
    ),
    pytest.param(
        '[defaults.settings]\nroot_unusd_days = 30\nfree_mail_domains = [1]\n',
        ["accounts.toml: no accounts: add an [accounts.<label>] table per account",
         "accounts.toml:2: defaults.settings.root_unusd_days: unknown setting 'root_unusd_days' (did you mean "
         "root_unused_days?); `govscan checks` and docs/checks.md list the settings",
         "accounts.toml:3: defaults.settings.free_mail_domains: free_mail_domains must be a list of strings; "
         "not valid: 1"],
        id="unknown-and-mistyped-settings",
    ),
    pytest.param(
        '[defaults]\nregions = ["us-esat-1"]\nrpo_hours = nan\n',
        ["accounts.toml: no accounts: add an [accounts.<label>] table per account",
         "accounts.toml:2: defaults.regions: 'us-esat-1' is not an AWS region (did you mean us-east-1?) "
         "(a region launched after the installed botocore needs `pip install -U botocore`)",
         "accounts.toml:3: defaults.rpo_hours: must be a positive number of hours, got nan"],
        id="unknown-region-and-nan",
    ),
    pytest.param(
        f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\nregions = ["eu-west-1"]\n'
        'home_region = "us-east-1"\n',
        ["accounts.toml:5: accounts.clinic.home_region: us-east-1 is not one of the account's regions (eu-west-1)"],
        id="home-region-not-scanned",
    ),
    pytest.param(
        '[accounts.gov]\nrole_arn = "arn:aws-us-gov:iam::111122223333:role/S"\nexternal_id = "x1"\n',
        ["accounts.toml:2: accounts.gov.role_arn: the role is in partition aws-us-gov but the home region "
         "us-east-1 is in aws: set home_region (or regions) to a region of aws-us-gov"],
        id="partition-mismatch",
    ),
]


@pytest.mark.parametrize(("text", "expected"), MALFORMED)
def test_malformed_files_name_file_line_and_field(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert errors(tmp_path, text) == [e.replace("{dir}", str(tmp_path)) for e in expected]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"accounts\.toml: no such file"):
        load_accounts(tmp_path / "accounts.toml")


def test_error_message_joins_every_issue(tmp_path: Path) -> None:
    path = write(tmp_path, '[accounts.a]\nprofil = "x"\n[accounts.b]\nrpo_hours = -1\n')
    with pytest.raises(ConfigError) as raised:
        load_accounts(path)
    assert str(raised.value).splitlines() == [
        f"{path}:2: accounts.a.profil: unknown key (did you mean 'profile'?)",
        f"{path}:4: accounts.b.rpo_hours: must be a positive number of hours, got -1",
    ]


def test_locate_keys_handles_quotes_dotted_keys_and_multiline_strings() -> None:
    text = '''[defaults]
settings.root_unused_days = 30
notes = """
fake = 1
"""
[accounts."clinic-1"]
role_arn = "x"
[ accounts . 'b' . settings ]
x = 1
'''
    lines = locate_keys(text)
    assert lines[("defaults", "settings")] == 2
    assert lines[("defaults", "settings", "root_unused_days")] == 2
    assert ("fake",) not in lines and ("defaults", "fake") not in lines
    assert lines[("accounts", "clinic-1")] == 6
    assert lines[("accounts", "clinic-1", "role_arn")] == 7
    assert lines[("accounts", "b", "settings", "x")] == 9


def test_a_byte_order_mark_is_not_a_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    path.write_bytes(b"\xef\xbb\xbf" + f'[accounts.clinic]\nrole_arn = "{GOOD_ROLE}"\nexternal_id = "x1"\n'.encode())
    assert [a.label for a in load_accounts(path).accounts] == ["clinic"]
