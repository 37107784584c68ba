"""The accounts file as TOML text: reading it, and saying where in it each mistake is.

tomllib parses, but reports no positions for values, and its syntax errors end in "(at line N,
column M)". Here the file is read (a BOM from a Windows editor is not TOML syntax), an empty or
unparsable file becomes a :class:`ConfigError` at the file's own line, and :func:`locate_keys`
scans the source for table headers and ``key =`` lines so that the validation in
``scanner.config`` can report each mistake as ``file:line: field: what is wrong``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Path_ = tuple[str, ...]


@dataclass(frozen=True)
class ConfigIssue:
    """One mistake: the file, the line when it is known, the dotted field, and what is wrong."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


class ConfigError(ValueError):
    """Every mistake found in an accounts file (or an unknown ``--account`` label)."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


# --- locating keys in the source ------------------------------------------------------------

_BARE = r"[A-Za-z0-9_-]+"
_KEY_PART = rf"(?:{_BARE}|\"(?:[^\"\\]|\\.)*\"|'[^']*')"
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER = re.compile(rf"^\s*\[\[?\s*(?P<key>{_DOTTED})\s*\]\]?")
_ASSIGN = re.compile(rf"^\s*(?P<key>{_DOTTED})\s*=")
_PART = re.compile(_KEY_PART)


def _split_key(dotted: str) -> Path_:
    return tuple(p.strip("\"'") for p in _PART.findall(dotted))


def locate_keys(text: str) -> dict[Path_, int]:
    """Line (1-based) of each table header and ``key =`` line, by its full dotted path.

    Deliberately small: headers, dotted keys and quoted keys; lines inside multi-line strings
    are skipped. Keys of an inline table resolve to the line of the table's key through
    :func:`line_of`'s longest-prefix fallback.
    """
    lines: dict[Path_, int] = {}
    table: Path_ = ()
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER.match(line)
        if header:
            table = _split_key(header.group("key"))
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            path = table + _split_key(assign.group("key"))
            for end in range(len(table) + 1, len(path) + 1):
                lines.setdefault(path[:end], number)
            rest = line[assign.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
    return lines


def line_of(lines: Mapping[Path_, int], path: Path_) -> int | None:
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


# --- reading ---------------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)$")
_TOML_TWICE = re.compile(r"^Cannot declare \((?P<key>.*)\) twice$")


def _syntax_issue(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> ConfigIssue:
    message = str(exc)
    line: int | None = None
    position = _TOML_POSITION.search(message)
    if position:
        line = int(position.group("line"))
        message = message[: position.start()] + f" (column {position.group('column')})"
    elif message.endswith("(at end of document)"):
        line = max(1, len(text.splitlines()))
        message = message.removesuffix(" (at end of document)") + " (at the end of the file)"
    twice = _TOML_TWICE.match(message.split(" (column")[0])
    if twice:
        parts = tuple(p.strip().strip("'\"") for p in twice.group("key").split(","))
        first = locate_keys(text).get(parts)
        if len(parts) == 2 and parts[0] == "accounts":
            return ConfigIssue(str(path), line, ".".join(parts),
                               f"duplicate label {parts[1]!r} (first declared at line {first})")
        return ConfigIssue(str(path), line, ".".join(parts), f"table declared twice (first at line {first})")
    return ConfigIssue(str(path), line, "", f"TOML syntax error: {message}")


def read_accounts_text(path: Path) -> str:
    """The file's text; a missing or unreadable file is a :class:`ConfigError`."""
    try:
        return path.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is not TOML syntax
    except FileNotFoundError as exc:
        raise ConfigError([ConfigIssue(str(path), None, "", "no such file")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(str(path), None, "", f"cannot read it ({exc})")]) from exc


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """The parsed tables; an empty file (or one of comments only) and a TOML syntax error are a
    :class:`ConfigError`, the latter at the line tomllib names."""
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        empty = "the file is empty: add [accounts.<label>] tables (see examples/accounts.toml)"
        raise ConfigError([ConfigIssue(str(path), None, "", empty)])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_syntax_issue(path, text, exc)]) from exc
