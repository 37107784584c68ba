"""The Markdown format's escaping: every value a Markdown report prints, made inert.

Markdown has no autoescape: ``markdown_environment`` makes :func:`md_escape` the environment's
``finalize``, so every ``{{ value }}`` in ``report_templates/*.md.j2`` passes through it, and the
filters below (``md``, ``code``, ``fence``, ``quote``, ``anchor``) cover what a template prints
deliberately as code, a fenced block, the partner's narrative or an anchor. Text that has been
through one of them is a :class:`MarkdownSafe` and is printed unchanged (never escaped twice).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jinja2


class MarkdownSafe(str):
    """Text already fit for Markdown: the Markdown environment prints it unchanged."""


_MD_BACKSLASHED = str.maketrans({c: "\\" + c for c in "\\`*_[]|~$"})
_CODE_SAFE = re.compile(r"^[A-Za-z0-9_.:/-]+$")


def md_escape(value: Any) -> MarkdownSafe:
    """Inline text for Markdown: one line; ``< > &`` as entities (raw HTML never reaches the page);
    the characters that start emphasis, code, links, tables, strike-through and math backslashed.

    It is the Markdown environment's ``finalize``, so every ``{{ value }}`` passes through it: the
    Markdown analogue of autoescape.
    """
    if isinstance(value, MarkdownSafe):
        return value
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MarkdownSafe(text.translate(_MD_BACKSLASHED))


def md_code(value: Any) -> MarkdownSafe:
    """A code span for identifiers (check ids, API actions); anything else falls back to escaped text."""
    text = str(value)
    return MarkdownSafe(f"`{text}`") if _CODE_SAFE.match(text) else md_escape(text)


def md_fence(value: Any, lang: str = "") -> MarkdownSafe:
    """A fenced block longer than any backtick run inside, so the content cannot close it."""
    text = str(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return MarkdownSafe(f"{fence}{lang}\n{text}\n{fence}")


def md_quote(value: Any) -> MarkdownSafe:
    """The partner's narrative as a block quote: Markdown kept, raw HTML shown as text."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MarkdownSafe("\n".join(("> " + line).rstrip() for line in text.strip().splitlines()))


def md_anchor(value: str) -> MarkdownSafe:
    """An HTML anchor for links into the document (``value`` is already an ``anchor()`` id)."""
    return MarkdownSafe(f'<a id="{re.sub(r"[^A-Za-z0-9_.-]", "-", value)}"></a>')


def markdown_environment(common: Mapping[str, Any]) -> jinja2.Environment:
    """A jinja2 environment for ``*.md.j2`` templates (``common``: loader, undefined, whitespace
    options): every printed value through :func:`md_escape`, and the filters above."""
    env = jinja2.Environment(autoescape=False, finalize=md_escape, **common)  # noqa: S701 - escaped by finalize
    env.filters.update(md=md_escape, code=md_code, fence=md_fence, quote=md_quote, anchor=md_anchor)
    return env
