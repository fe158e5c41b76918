"""CodiEsp case texts with their gold diagnosis mentions (for document mode).

A split's texts are ``<root>/<split>/text_files/<articleID>.txt``; its gold is the
``DIAGNOSTICO`` rows of ``<split>X.tsv`` (``articleID, label, code, mention, offsets``),
offsets ``"start end"`` or, for a discontinuous mention, ``"s e;s e"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.catalog.aliases import read_codiesp_mentions

#: Where the full corpus lives on the development machines (CodiEsp v4, CC-BY-4.0).
DEFAULT_CODIESP = Path(__file__).resolve().parents[2] / "shared" / "data" / "codiesp"


@dataclass(frozen=True)
class GoldMention:
    """One gold diagnosis mention: its code and its fragments (one unless discontinuous)."""

    code: str
    fragments: tuple[tuple[int, int], ...]

    @property
    def start(self) -> int:
        """Start of the first fragment."""
        return self.fragments[0][0]

    @property
    def end(self) -> int:
        """End of the last fragment."""
        return self.fragments[-1][1]

    @property
    def contiguous(self) -> bool:
        """True for a single-fragment mention."""
        return len(self.fragments) == 1


@dataclass(frozen=True)
class Document:
    """A case text and its gold mentions (in file order)."""

    doc_id: str
    text: str
    gold: tuple[GoldMention, ...]


def parse_offsets(offsets: str) -> tuple[tuple[int, int], ...]:
    """``"540 583"`` -> ``((540, 583),)``; ``"556 575;955 964"`` -> two fragments, sorted.

    Raises:
        ValueError: not ``start end`` pairs with ``0 <= start <= end``, or all empty
            (empty fragments are dropped).

    Example: ``parse_offsets("1 4;8 9") == ((1, 4), (8, 9))``
    """
    fragments = []
    for part in offsets.split(";"):
        bounds = part.split()
        if len(bounds) != 2:
            raise ValueError(f"bad CodiEsp offsets {offsets!r}")
        start, end = int(bounds[0]), int(bounds[1])
        if not 0 <= start <= end:
            raise ValueError(f"bad CodiEsp offsets {offsets!r}")
        if start < end:  # the corpus has a few empty fragments ("1320 1320")
            fragments.append((start, end))
    if not fragments:
        raise ValueError(f"empty CodiEsp offsets {offsets!r}")
    return tuple(sorted(fragments))


def read_documents(root: Path, split: str) -> list[Document]:
    """Every text of a split with its gold diagnosis mentions, sorted by article id.

    Texts are read without newline translation, so gold offsets index them as written.

    Raises:
        FileNotFoundError: the split's folder or X file is missing.

    Example: ``docs = read_documents(DEFAULT_CODIESP, "dev"); len(docs) == 250``
    """
    folder = root / split / "text_files"
    gold_file = root / split / f"{split}X.tsv"
    if not folder.is_dir() or not gold_file.is_file():
        raise FileNotFoundError(f"no CodiEsp {split} texts in {folder} or gold in {gold_file}")
    gold: dict[str, list[GoldMention]] = {}
    for mention in read_codiesp_mentions(gold_file):
        gold.setdefault(mention.doc_id, []).append(
            GoldMention(mention.code, parse_offsets(mention.offsets))
        )
    docs = []
    for path in sorted(folder.glob("*.txt")):
        with path.open(encoding="utf-8", newline="") as fh:
            text = fh.read()
        docs.append(Document(path.stem, text, tuple(gold.get(path.stem, ()))))
    return docs
