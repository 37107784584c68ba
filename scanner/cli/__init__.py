"""govscan's command line: the only place that prints and chooses exit codes.

Exit codes (also in ``govscan --help``):
  0  every check evaluated and nothing failed
  1  FAIL or ERROR findings (narrowed by --fail-on)
  2  usage or configuration error (nothing scanned)
  3  the target could not be reached (credentials, assume-role)

The commands live in this package by concept (scan, catalog, reports, history, demo); each is a
thin layer over the engine and is added to the group explicitly below.
"""

from __future__ import annotations

import logging
import sys

import click

from scanner import __version__
from scanner.cli._common import EXIT_CODES_HELP, _PortfolioProgress, _Progress
from scanner.cli.catalog import checks_command, controls_command, gen_docs_command, role_template_command
from scanner.cli.demo import demo_command
from scanner.cli.history import diff_command, history_command, status_command
from scanner.cli.reports import report_command, verify_command
from scanner.cli.scan import scan_command

__all__ = ["_PortfolioProgress", "_Progress", "main"]


@click.group(
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="govscan")
@click.option("-v", "--verbose", count=True, help="Log each AWS call (-v) and debug detail (-vv) to stderr.")
def main(verbose: int) -> None:
    """govscan: read-only evidence scanner for the AWS SMB Competency checklist.

    It assumes a read-only role in a customer account, runs checks mapped to the checklist's
    controls, and writes a scan document (JSON) with every finding, its evidence and the API
    calls behind it. It never changes the account: every call goes through a gateway that
    refuses anything that is not a read.

    \b
    Start here:
      govscan checks                       # what is checked, with the IAM actions needed
      govscan controls                     # the checklist controls and their criteria
      govscan scan --regions us-east-1,eu-west-1 --json scan.json
      govscan scan --role-arn arn:aws:iam::111122223333:role/GovscanReadOnly \\
                   --external-id EXAMPLE --label acme --json acme.json
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if verbose:
        logging.getLogger("scanner.gateway").setLevel(logging.DEBUG)


for command in (
    scan_command,
    checks_command,
    controls_command,
    role_template_command,
    gen_docs_command,
    report_command,
    verify_command,
    history_command,
    diff_command,
    status_command,
    demo_command,
):
    main.add_command(command)
