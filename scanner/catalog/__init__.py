"""The checklist as data: one JSON file per checklist release, loaded into frozen dataclasses.

A new checklist release is a new data file here, not a code change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

DEFAULT_CATALOG = "aws-smb-competency-2025-08"


@dataclass(frozen=True)
class Criterion:
    id: str
    text: str
    automatable: bool
    manual_evidence: str


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    section: str
    scope: str  # "customer-example" or "practice"
    requirement: str
    evidence: str
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class Catalog:
    id: str
    version: str
    title: str
    released: str
    controls: tuple[Control, ...]

    def control(self, control_id: str) -> Control:
        for control in self.controls:
            if control.id == control_id:
                return control
        raise KeyError(control_id)

    @property
    def criteria(self) -> dict[str, Criterion]:
        return {c.id: c for control in self.controls for c in control.criteria}


@cache
def load_catalog(name: str = DEFAULT_CATALOG) -> Catalog:
    text = resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    controls = tuple(
        Control(
            id=c["id"],
            title=c["title"],
            section=c.get("section", ""),
            scope=c["scope"],
            requirement=c["requirement"],
            evidence=c.get("evidence", ""),
            criteria=tuple(
                Criterion(
                    id=k["id"],
                    text=k["text"],
                    automatable=bool(k["automatable"]),
                    manual_evidence=k.get("manual_evidence", ""),
                )
                for k in c["criteria"]
            ),
        )
        for c in raw["controls"]
    )
    return Catalog(
        id=raw["id"], version=raw["version"], title=raw["title"], released=raw.get("released", ""), controls=controls
    )
