"""The training example record and its JSON Lines file format."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from app.atomic import atomic_text_writer
from training.data.files import json_lines

#: Field order in every JSON line (stable, so files diff and hash cleanly).
FIELDS = ("query", "code", "lang", "source", "style")


@dataclass(frozen=True)
class Example:
    """One positive pair: a query as a user could type it and the catalog code it names.

    Attributes:
        query: the text (a title, a mention, a synthetic variant).
        code: canonical dotted catalog code (``S72.001A``).
        lang: ISO 639-1 code of ``query`` (``es``, ``en``, ``fr``, ``pt``, ``de``).
        source: where the pair comes from (``catalog``, ``gnuhealth``, ``codiesp-train``,
            ``synthetic``).
        style: how the query was made within its source (``title``, ``inclusion_term``,
            ``abbreviation``, ``typo_swap`` ...).

    Example: ``Example("IAM", "I21.9", "es", "synthetic", "abbreviation")``
    """

    query: str
    code: str
    lang: str
    source: str
    style: str


def example_to_json(example: Example) -> str:
    """One compact JSON line (no trailing newline), keys in :data:`FIELDS` order.

    Example: ``example_to_json(Example("HTA", "I10", "es", "s", "t")).startswith('{"query"')``
    """
    return json.dumps(asdict(example), ensure_ascii=False, separators=(",", ":"))


def write_examples(path: Path, examples: Iterable[Example]) -> int:
    """Write examples as UTF-8 JSON Lines atomically (temp file + ``os.replace``).

    Returns:
        The number of lines written.

    Example: ``write_examples(Path("out/examples.jsonl"), examples)``
    """
    count = 0
    with atomic_text_writer(path) as fh:
        for example in examples:
            fh.write(example_to_json(example) + "\n")
            count += 1
    return count


def read_examples(path: Path) -> Iterator[Example]:
    """Read examples written by :func:`write_examples`.

    Raises:
        ValueError: a line is not a JSON object with exactly the :data:`FIELDS` keys.

    Example: ``next(read_examples(Path("out/examples.jsonl"))).code``
    """
    names = {f.name for f in fields(Example)}
    for number, obj in json_lines(path):
        if not isinstance(obj, dict) or set(obj) != names:
            raise ValueError(f"{path}:{number}: expected keys {', '.join(FIELDS)}")
        yield Example(**{k: str(obj[k]) for k in FIELDS})
