"""Listwise groups for the cross-encoder: one positive code and hard negatives of three kinds.

- ``sibling``: codes under the same parent, else in the same category; for a code with a
  7th character, the category's other codes with the same 7th character.
- ``qualifier``: codes whose English title differs from the positive's only by qualifier
  words (side, 7th-character episode, acute/chronic, with/without ...), found within the
  block, plus the other 7th characters of the same code.
- ``retrieved``: the first stage's top-ranked wrong codes for the query (any category).

Every negative differs from the positive and is a searchable code (category, subcategory or
extended code); a group never holds a code twice. Groups are deterministic for a seed.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.catalog.store import CodeRecord
from app.search.normalize import strip_accents
from training.data.files import json_lines

SIBLING, QUALIFIER, RETRIEVED = "sibling", "qualifier", "retrieved"
NEGATIVE_KINDS = (SIBLING, QUALIFIER, RETRIEVED)

#: Words that only qualify a condition: dropping them from two titles that then read the
#: same makes the codes qualifier variants of each other.
_QUALIFIERS = """right left bilateral unilateral unspecified side initial subsequent
    encounter for sequela sequelae acute chronic subacute recurrent with without complication
    complications and or of the routine delayed healing nonunion malunion closed open
    type i ii iii iiia iiib iiic intractable not mild moderate severe displaced
    nondisplaced"""
QUALIFIER_WORDS = frozenset(_QUALIFIERS.split())
_WORD = re.compile(r"[a-z0-9]+")

#: ``retrieve(query, k) -> codes`` best first: the first stage (for ``retrieved`` negatives).
Retrieve = Callable[[str, int], Sequence[str]]


@dataclass(frozen=True)
class Group:
    """One training group: ``query`` names ``positive``; ``negatives`` are ``(code, kind)``."""

    query: str
    positive: str
    negatives: tuple[tuple[str, str], ...]
    source: str = ""

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "query": self.query,
            "positive": self.positive,
            "negatives": [{"code": c, "kind": k} for c, k in self.negatives],
            "source": self.source,
        }


def read_groups(path: Path, known: Iterable[str]) -> list[Group]:
    """Groups from a JSON Lines file of :meth:`Group.to_dict` objects (a recipe run's
    ``groups.jsonl``); negatives outside ``known`` are dropped, as are groups left without
    one or whose positive is unknown.

    Raises:
        ValueError: a line that is not such an object (the message gives the line).
    """
    codes = set(known)
    groups = []
    for number, obj in json_lines(path):
        try:
            pairs = ((n["code"], n["kind"]) for n in obj["negatives"])
            negatives = tuple((code, kind) for code, kind in pairs if code in codes)
            group = Group(obj["query"], obj["positive"], negatives, obj.get("source", ""))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a group ({exc})") from exc
        if group.positive in codes and group.negatives:
            groups.append(group)
    return groups


def qualifier_key(title: str) -> str:
    """The title without qualifier words (folded): equal keys mean qualifier variants.

    Example: ``qualifier_key("Fracture of right femur") == qualifier_key("Fracture of left
    femur")``
    """
    words = _WORD.findall(strip_accents(title.lower()))
    return " ".join(w for w in words if w not in QUALIFIER_WORDS)


class NegativeMiner:
    """Sibling and qualifier-variant pools over the assignable codes of a catalog.

    Args:
        records: catalog records (any kinds; only category/subcategory/extended are used).
    """

    def __init__(self, records: Iterable[CodeRecord]):
        codes = [r for r in records if r.kind in ("category", "subcategory", "extended")]
        self.records = {r.code: r for r in codes}
        self.by_parent: dict[str, list[str]] = defaultdict(list)
        self.by_category: dict[str, list[str]] = defaultdict(list)
        self.by_key: dict[tuple[str, str], list[str]] = defaultdict(list)
        for r in codes:
            if r.parent:
                self.by_parent[r.parent].append(r.code)
            if r.category:
                self.by_category[r.category].append(r.code)
            self.by_key[(r.block or "", self._key(r))].append(r.code)

    def _key(self, record: CodeRecord) -> str:
        # an extended code's title is its parent's plus the episode: key on the parent's
        if record.kind == "extended" and record.parent in self.records:
            return qualifier_key(self.records[record.parent].title_en)
        return qualifier_key(record.title_en)

    def siblings(self, code: str) -> list[str]:
        """Codes under the same parent, else the same category (never ``code``); for an
        extended code, the category's codes with the same 7th character from other parents."""
        record = self.records.get(code)
        if record is None:
            return []
        if record.kind == "extended":
            return [
                c
                for c in self.by_category.get(record.category or "", [])
                if c[-1] == code[-1]
                and self.records[c].kind == "extended"
                and self.records[c].parent != record.parent
            ]
        pool = [c for c in self.by_parent.get(record.parent or "", []) if c != code]
        if not pool:
            pool = [c for c in self.by_category.get(record.category or "", []) if c != code]
        return pool

    def qualifier_variants(self, code: str) -> list[str]:
        """Codes in the block whose titles differ from ``code``'s only by qualifiers."""
        record = self.records.get(code)
        if record is None:
            return []
        same = self.by_key.get((record.block or "", self._key(record)), [])
        return [c for c in same if c != code and self.records[c].kind == record.kind]


def build_group(
    query: str,
    positive: str,
    miner: NegativeMiner,
    rng: random.Random,
    size: int = 16,
    retrieved: Sequence[str] = (),
    kinds: Sequence[str] = NEGATIVE_KINDS,
    source: str = "",
) -> Group | None:
    """A group of ``size`` codes (positive included) mixing the negative ``kinds``.

    Quotas: an equal share for each kind that has codes; a kind with too few codes leaves
    its share to the others (``retrieved``, then ``qualifier``). Returns None when no negative
    exists (a code with no neighbours and nothing retrieved).
    """
    pools: dict[str, list[str]] = {}
    if QUALIFIER in kinds:
        pools[QUALIFIER] = miner.qualifier_variants(positive)
    if SIBLING in kinds:
        pools[SIBLING] = miner.siblings(positive)
    if RETRIEVED in kinds:
        pools[RETRIEVED] = [c for c in retrieved if c in miner.records]
    for kind in (QUALIFIER, SIBLING):
        if kind in pools:
            rng.shuffle(pools[kind])
    pools = {kind: pool for kind, pool in pools.items() if pool}
    want = size - 1
    quota = max(1, want // max(1, len(pools)))
    chosen: dict[str, str] = {}
    for kind, pool in pools.items():
        for code in pool:
            if sum(1 for k in chosen.values() if k == kind) >= quota:
                break
            if code != positive and code not in chosen:
                chosen[code] = kind
    for kind in (RETRIEVED, QUALIFIER, SIBLING):  # fill what the short pools left
        for code in pools.get(kind, []):
            if len(chosen) >= want:
                break
            if code != positive and code not in chosen:
                chosen[code] = kind
    if not chosen:
        return None
    negatives = tuple(list(chosen.items())[:want])
    return Group(query, positive, negatives, source)


def build_groups(
    pairs: Iterable[tuple[str, str, str]],
    miner: NegativeMiner,
    seed: int = 0,
    size: int = 16,
    retrieve: Retrieve | None = None,
    retrieve_k: int = 32,
    kinds: Sequence[str] = NEGATIVE_KINDS,
) -> list[Group]:
    """Groups for ``(query, code, source)`` pairs whose code is in the catalog.

    ``retrieve`` is asked once per pair for its top ``retrieve_k`` codes (the positive and
    its exact duplicates are dropped from them).
    """
    rng = random.Random(seed)
    groups = []
    for query, code, source in pairs:
        if code not in miner.records:
            continue
        hits = retrieve(query, retrieve_k) if retrieve and RETRIEVED in kinds else ()
        group = build_group(
            query, code, miner, rng, size, [c for c in hits if c != code], kinds, source
        )
        if group is not None:
            groups.append(group)
    return groups
