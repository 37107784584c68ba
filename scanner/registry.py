"""``@check`` marks a function; ``load_checks()`` collects them. Nothing registers by import side effect.

A function may carry several ``@check`` decorators with different ``params``: one function serves
near-duplicate checks (STYLE.md: never 18 copies that differ by a port number).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from scanner.models import CheckSpec, Finding, Scope, Severity

if TYPE_CHECKING:  # pragma: no cover
    from scanner.context import CheckContext

CheckFunc = Callable[["CheckContext"], Iterator[Finding]]
F = TypeVar("F", bound=CheckFunc)

_ATTR = "__govscan_checks__"


class RegistryError(Exception):
    """A check definition breaks the contract (duplicate id, bad prefix, bad metadata)."""


def check(
    *,
    id: str,
    title: str,
    severity: Severity,
    criteria: Iterable[str],
    permissions: Iterable[str],
    scope: Scope,
    remediation: str = "",
    params: Mapping[str, Any] | None = None,
) -> Callable[[F], F]:
    """Attach a frozen :class:`CheckSpec` to the function; the function itself is returned unchanged."""

    def mark(func: F) -> F:
        spec = CheckSpec(
            id=id,
            title=title,
            severity=severity,
            criteria=tuple(criteria),
            permissions=tuple(permissions),
            scope=scope,
            func=func,
            module=func.__module__,
            remediation=remediation,
            params=dict(params or {}),
        )
        existing: tuple[CheckSpec, ...] = getattr(func, _ATTR, ())
        setattr(func, _ATTR, (*existing, spec))
        return func

    return mark


def specs_of(module: ModuleType) -> list[CheckSpec]:
    found: list[CheckSpec] = []
    for value in vars(module).values():
        for spec in getattr(value, _ATTR, ()):
            if spec.module == module.__name__:
                found.append(spec)
    return found


def load_checks(package: str = "checks") -> dict[str, CheckSpec]:
    """Import every module of ``package`` and collect the specs, keyed by id, in module order.

    Duplicate ids and ids whose prefix is not the module name fail loudly.
    """
    root = importlib.import_module(package)
    registry: dict[str, CheckSpec] = {}
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        for spec in sorted(specs_of(module), key=lambda s: s.id):
            _validate(spec, info.name)
            if spec.id in registry:
                raise RegistryError(f"duplicate check id {spec.id!r} in {module.__name__}")
            registry[spec.id] = spec
    return registry


def _validate(spec: CheckSpec, module_name: str) -> None:
    if not spec.id.startswith(module_name + "_"):
        raise RegistryError(f"check id {spec.id!r} must start with its module name {module_name!r}_")
    if not spec.criteria:
        raise RegistryError(f"check {spec.id!r} names no checklist criteria")
    if not spec.permissions:
        raise RegistryError(f"check {spec.id!r} declares no IAM permissions")
    if not (spec.func.__doc__ or "").strip():
        raise RegistryError(f"check {spec.id!r} has no docstring (it is the report's rationale)")
