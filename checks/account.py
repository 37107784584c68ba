"""Account-level settings (AWS Account Management API)."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.context import CheckContext
from scanner.models import Finding, Scope, Severity, Status
from scanner.registry import check

ALTERNATE_CONTACT_TYPES = ("SECURITY", "OPERATIONS", "BILLING")
PRIMARY_FIELDS = ("FullName", "PhoneNumber", "AddressLine1", "City", "CountryCode")

# Consumer mail providers: a contact there is a person's private address, not the company's.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "mail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "proton.me",
        "protonmail.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "zoho.com",
        "tutanota.com",
        "fastmail.com",
        "hey.com",
        "inbox.com",
        "libero.it",
    }
)


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower() if "@" in email else ""


@check(
    id="account_contacts_set",
    title="Primary and alternate contacts are set on corporate addresses",
    severity=Severity.MEDIUM,
    criteria=("ACCT-001.3",),
    permissions=("account:GetContactInformation", "account:GetAlternateContact"),
    scope=Scope.GLOBAL,
    remediation=(
        "Set the primary contact and the SECURITY, OPERATIONS and BILLING alternate contacts "
        "(Account > Contact information / Alternate contacts) to company-owned, monitored addresses "
        "such as security@<company domain>."
    ),
)
def account_contacts_set(ctx: CheckContext) -> Iterator[Finding]:
    """AWS sends security notices, abuse reports and billing alerts to the account's contacts. The
    checklist asks that the account's contact information is a corporate email and phone: a
    personal or missing contact means AWS cannot reach the business when something goes wrong."""
    problems: list[str] = []
    primary = ctx.read_optional("account", "GetContactInformation", absent=("ResourceNotFoundException",))
    info = (primary or {}).get("ContactInformation", {})
    missing = [name for name in PRIMARY_FIELDS if not str(info.get(name, "")).strip()]
    if primary is None:
        problems.append("no primary contact information is set")
    elif missing:
        problems.append(f"primary contact lacks {', '.join(missing)}")
    alternates: dict[str, dict[str, str]] = {}
    extra_free = {d.lower() for d in ctx.setting("free_mail_domains", [])}
    for contact_type in ALTERNATE_CONTACT_TYPES:
        answer = ctx.read_optional(
            "account", "GetAlternateContact", absent=("ResourceNotFoundException",), AlternateContactType=contact_type
        )
        if answer is None:
            problems.append(f"no {contact_type} alternate contact")
            continue
        contact = answer.get("AlternateContact", {})
        email = str(contact.get("EmailAddress", ""))
        domain = email_domain(email)
        alternates[contact_type] = {
            "name": str(contact.get("Name", "")),
            "title": str(contact.get("Title", "")),
            "email": email,
            "phone": str(contact.get("PhoneNumber", "")),
        }
        if not domain:
            problems.append(f"{contact_type} contact has no valid email address")
        elif domain in FREE_MAIL_DOMAINS or domain in extra_free:
            problems.append(f"{contact_type} contact uses free-mail domain {domain}")
    evidence = {
        "primary_contact": {k: info.get(k) for k in (*PRIMARY_FIELDS, "CompanyName", "WebsiteUrl") if k in info},
        "alternate_contacts": alternates,
        "problems": problems,
    }
    if problems:
        yield ctx.finding(
            Status.FAIL, message="Account contacts incomplete: " + "; ".join(problems) + ".", evidence=evidence
        )
    else:
        domains = sorted({email_domain(c["email"]) for c in alternates.values()})
        yield ctx.finding(
            Status.PASS,
            message=f"Primary contact set; SECURITY, OPERATIONS and BILLING contacts on {', '.join(domains)}.",
            evidence=evidence,
        )
