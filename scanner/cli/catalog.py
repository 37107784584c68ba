"""`govscan checks`, `controls`, `role-template` and `gen-docs`: the registry and the catalog."""

from __future__ import annotations

from pathlib import Path

import click

from scanner.catalog import load_catalog
from scanner.cli._common import _load_registry, _split
from scanner.document import write_atomic
from scanner.runner import SelectionError, select_checks


@click.command("checks")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def checks_command(fmt: str) -> None:
    """List every check: id, severity, scope, criteria, IAM permissions and title."""
    registry = _load_registry()
    if fmt == "json":
        import json

        rows = [
            {
                "id": s.id,
                "title": s.title,
                "severity": s.severity.value,
                "scope": s.scope.value,
                "criteria": list(s.criteria),
                "permissions": list(s.permissions),
                "rationale": s.rationale,
            }
            for s in registry.values()
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(s.id) for s in registry.values()), default=10)
    click.echo(f"{'ID':<{width}}  {'SEVERITY':<8}  {'SCOPE':<8}  {'CRITERIA':<22}  TITLE / PERMISSIONS")
    for spec in registry.values():
        click.echo(
            f"{spec.id:<{width}}  {spec.severity.value:<8}  {spec.scope.value:<8}  "
            f"{', '.join(spec.criteria):<22}  {spec.title}"
        )
        click.echo(f"{'':<{width}}  {'':<8}  {'':<8}  {'':<22}    {', '.join(spec.permissions)}")
    click.echo(f"\n{len(registry)} checks.")


@click.command("controls")
@click.option("--all", "show_all", is_flag=True, help="Also list the practice-level (organisational) controls.")
def controls_command(show_all: bool) -> None:
    """List the checklist's controls and criteria, and the checks that evidence each criterion."""
    catalog = load_catalog()
    registry = _load_registry()
    by_criterion: dict[str, list[str]] = {}
    for spec in registry.values():
        for criterion in spec.criteria:
            by_criterion.setdefault(criterion, []).append(spec.id)
    click.echo(f"{catalog.title} ({catalog.version})\n")
    for control in catalog.controls:
        if control.scope == "practice" and not show_all:
            continue
        click.echo(f"{control.id}  {control.title}")
        for criterion in control.criteria:
            checks = ", ".join(by_criterion.get(criterion.id, [])) or (
                "manual" if not criterion.automatable else "NO CHECK YET"
            )
            click.echo(f"  {criterion.id:<13} {criterion.text[:70]:<70}  [{checks}]")
    if not show_all:
        click.echo("\nPractice-level controls are manual; --all lists them too.")


@click.command("role-template")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cloudformation", "iam-json"]),
    default="cloudformation",
    show_default=True,
    help="A CloudFormation template, or only the IAM permissions policy.",
)
@click.option("--checks", "check_ids", multiple=True, metavar="ids", help="Only the permissions of these checks.")
@click.option("--controls", "control_ids", multiple=True, metavar="ids", help="Only checks evidencing these controls.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write here instead of stdout.")
def role_template_command(
    fmt: str, check_ids: tuple[str, ...], control_ids: tuple[str, ...], output: str | None
) -> None:
    """Print the read-only scan role to deploy in a customer account.

    The role trusts only the partner principal you name, only with the agreed external id,
    and may call exactly the IAM actions the selected checks declare (no wildcard actions).

    \b
    Deploy it in the customer account:
      govscan role-template -o govscan-role.json
      aws cloudformation deploy --template-file govscan-role.json --stack-name govscan-scan-role \\
          --capabilities CAPABILITY_NAMED_IAM --parameter-overrides \\
          TrustedPrincipalArn=arn:aws:iam::111122223333:role/PartnerScanner ExternalId=<16+ chars>
    """
    from scanner import role_template

    registry = _load_registry()
    try:
        checks = select_checks(registry, load_catalog(), check_ids=_split(check_ids), control_ids=_split(control_ids))
    except SelectionError as exc:
        raise click.UsageError(str(exc)) from exc
    document = (
        role_template.iam_policy(checks)
        if fmt == "iam-json"
        else role_template.cloudformation(checks, check_ids=checks)
    )
    text = role_template.dumps(document)
    if output:
        write_atomic(Path(output), text)
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@click.command("gen-docs", hidden=True)
@click.option("--root", type=click.Path(file_okay=False), default=".", show_default=True)
def gen_docs_command(root: str) -> None:
    """Regenerate docs/checks.md and docs/controls.md from the registry and the catalog."""
    from scanner.docgen import generate

    for path, text in generate(Path(root)).items():
        write_atomic(path, text)
        click.echo(f"wrote {path}")
