"""Named exceptions of the runtime. Messages say what was expected, what was found, and
how to fix it; the CLI turns them into one-line errors and the UI into dialogs."""

from __future__ import annotations


class CieloError(Exception):
    """Base class of every error Cielo reports to a user."""


class CatalogSourceError(CieloError):
    """A catalog source file (tabular XML, code list, title list) cannot be read."""


class CatalogNotFound(CieloError):
    """No built catalog exists where one was expected."""


class CatalogCorrupt(CieloError):
    """A catalog database exists but fails its integrity or schema checks."""


class InvalidCode(CieloError, ValueError):
    """Text given where a code is needed is empty or not a code."""


class CodeNotFound(CieloError):
    """A code is not in the active catalog."""


class ImportValidationError(CieloError):
    """An edition file failed validation; ``errors`` lists ``(line, message)`` pairs."""

    def __init__(self, path: str, errors: list[tuple[int, str]]):
        self.path = path
        self.errors = errors
        shown = "; ".join(f"line {line}: {msg}" for line, msg in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(f"{path}: {len(errors)} error(s): {shown}{more}")


class InvalidEditionName(CieloError, ValueError):
    """An edition name that is not safe as a file name."""


class ModelError(CieloError):
    """A model bundle file (encoder, tokenizer, vector index) is missing or unreadable."""


class BundleMismatch(CieloError):
    """The vector index was built for a different catalog edition than the active one."""


class ResourcesTampered(CieloError):
    """Bundled resources differ from ``resources/manifest.json`` (modified, missing or extra)."""


class ReleaseInvalid(CieloError):
    """A release folder's checksums or signature are missing, malformed or do not verify."""
