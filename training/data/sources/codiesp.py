"""CodiEsp train diagnosis mentions as (mention, code) pairs, with a leakage guard.

CodiEsp dev is the model-selection set and test is held out, so nothing from either may
reach training: :func:`codiesp_examples` refuses a file whose name says dev, test or
validation, and any mention from an article of the held-out files (by article ID).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.catalog.aliases import read_codiesp_mentions, resolve_code
from training.data.examples import Example

SOURCE = "codiesp-train"
#: Sources that are evaluation data and must never reach training.
HELD_OUT_SOURCES = frozenset({"codiesp-dev", "codiesp-test"})
_HELD_OUT_NAME = re.compile(r"(?:^|[^a-z])(?:dev|test|val)", re.IGNORECASE)


class LeakageError(RuntimeError):
    """A held-out (dev/test) file or article would have reached the training data."""


@dataclass
class CodiespStats:
    """Counts of one CodiEsp file: read, used, resolved to an ancestor, unresolvable."""

    mentions: int = 0
    used: int = 0
    resolved_to_ancestor: int = 0
    unresolved: int = 0
    unresolved_codes: list[str] = field(default_factory=list)


def held_out_article_ids(paths: Iterable[Path]) -> set[str]:
    """Article IDs of held-out CodiEsp X files (``devX_diagnostico.tsv``, ``testX.tsv``).

    Example: ``"S0004-06142005000900016-1" in held_out_article_ids([codiesp_file("dev")])``
    """
    ids: set[str] = set()
    for path in paths:
        ids.update(m.doc_id for m in read_codiesp_mentions(path))
    return ids


def check_training_file(path: Path) -> None:
    """Refuse a file whose name marks it as held out.

    Raises:
        LeakageError: the name contains ``dev``, ``test`` or ``val`` as a word start.

    Example: ``check_training_file(Path("devX_diagnostico.tsv"))`` raises
    """
    if _HELD_OUT_NAME.search(path.name):
        raise LeakageError(
            f"{path.name} looks like a held-out CodiEsp split (dev/test); only train mentions "
            "may be used for training"
        )


def codiesp_examples(
    path: Path, known: set[str], held_out_ids: set[str]
) -> tuple[list[Example], CodiespStats]:
    """Train mentions with codes resolved onto the catalog (:func:`resolve_code`).

    Args:
        path: a CodiEsp train X file (``trainX_diagnostico.tsv``).
        known: catalog codes.
        held_out_ids: article IDs of the dev/test files (:func:`held_out_article_ids`).

    Raises:
        LeakageError: ``path`` is named as a held-out split, or one of its mentions comes
            from a held-out article.

    Example: ``examples, stats = codiesp_examples(codiesp_file("train"), known, dev_ids)``
    """
    check_training_file(path)
    examples: list[Example] = []
    stats = CodiespStats()
    for mention in read_codiesp_mentions(path):
        stats.mentions += 1
        if mention.doc_id in held_out_ids:
            raise LeakageError(
                f"{path.name}:{mention.line}: article {mention.doc_id} belongs to a held-out split"
            )
        code = resolve_code(mention.code, known)
        if code is None:
            stats.unresolved += 1
            stats.unresolved_codes.append(mention.code)
            continue
        stats.used += 1
        style = "mention"
        if code != mention.code:
            stats.resolved_to_ancestor += 1
            style = "mention_resolved"
        examples.append(Example(mention.text, code, "es", SOURCE, style))
    return examples, stats
