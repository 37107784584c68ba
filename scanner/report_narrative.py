"""The partner's narrative (Markdown) as blocks and spans the HTML template prints, escaped.

A deliberately small subset: headings, paragraphs, bullet and numbered lists, fenced code,
and inline ``**strong**``, ``*emphasis*`` and `` `code` ``. Anything else stays literal text;
links show their text and address but are not links, and raw HTML is text. No HTML string is
ever built here: the template prints every span through autoescape, so a narrative cannot
inject markup or script into the appendix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_INLINE = re.compile(r"(`[^`]+`|\*\*[^*]+\*\*|__[^_]+__|\*[^*\s][^*]*\*|_[^_\s][^_]*_)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


@dataclass(frozen=True)
class Span:
    kind: str  # "text", "strong", "em" or "code"
    text: str


@dataclass(frozen=True)
class Block:
    kind: str  # "heading", "paragraph", "bullets", "numbered" or "code"
    lines: tuple[tuple[Span, ...], ...]


def spans(text: str) -> tuple[Span, ...]:
    out = []
    for part in _INLINE.split(text):
        if not part:
            continue
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(Span("code", part[1:-1]))
        elif (part.startswith("**") or part.startswith("__")) and len(part) > 4:
            out.append(Span("strong", part[2:-2]))
        elif part[0] in "*_" and part[-1] == part[0] and len(part) > 2:
            out.append(Span("em", part[1:-1]))
        else:
            out.append(Span("text", part))
    return tuple(out)


def parse(markdown: str) -> tuple[Block, ...]:
    blocks: list[Block] = []
    kind = ""  # the block being collected
    lines: list[str] = []

    def close() -> None:
        nonlocal kind, lines
        if lines:
            if kind == "paragraph":
                blocks.append(Block(kind, (spans(" ".join(lines)),)))
            elif kind == "code":
                blocks.append(Block(kind, tuple((Span("text", line),) for line in lines)))
            else:
                blocks.append(Block(kind, tuple(spans(line) for line in lines)))
        kind, lines = "", []

    fence = ""
    for line in markdown.splitlines():
        if fence:
            if line.strip().startswith(fence):
                close()
                fence = ""
            else:
                lines.append(line)
            continue
        opened = _FENCE.match(line)
        heading, bullet, numbered = _HEADING.match(line), _BULLET.match(line), _NUMBERED.match(line)
        if opened:
            close()
            fence, kind = opened.group(1), "code"
        elif not line.strip():
            close()
        elif heading:
            close()
            blocks.append(Block("heading", (spans(heading.group(2)),)))
        elif item := bullet or numbered:
            wanted = "bullets" if bullet else "numbered"
            if kind != wanted:
                close()
                kind = wanted
            lines.append(item.group(1))
        else:
            if kind not in ("paragraph", ""):
                close()
            kind = "paragraph"
            lines.append(line.strip())
    close()
    return tuple(blocks)
