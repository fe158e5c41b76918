"""``key=value`` overrides for the frozen training configurations (``--set`` on the CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from typing import TypeVar

C = TypeVar("C")


def with_overrides(config: C, pairs: Sequence[str]) -> C:
    """A copy of the dataclass ``config`` with ``key=value`` settings, typed like the field.

    Tuples take comma-separated values; booleans take 1/true/yes.

    Example: ``with_overrides(TrainConfig(), ["steps=10", "sources=catalog,synthetic"])``

    Raises:
        SystemExit: an unknown key (a command-line mistake).
    """
    names = {f.name for f in fields(config)}
    values = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        if key not in names:
            raise SystemExit(f"unknown setting {key!r} (known: {', '.join(sorted(names))})")
        current = getattr(config, key)
        if isinstance(current, tuple):
            values[key] = tuple(type(current[0])(v) if current else v for v in raw.split(","))
        elif isinstance(current, bool):
            values[key] = raw.lower() in ("1", "true", "yes")
        else:
            values[key] = type(current)(raw)
    return replace(config, **values)
