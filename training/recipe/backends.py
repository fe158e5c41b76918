"""Reply backends: the protocol, the factory and the deterministic no-LLM backend.

A backend turns a batch of :class:`~training.recipe.prompts.Task` s into reply texts; the
run parses and validates every reply the same way whichever backend wrote it. The local
causal LM (:mod:`training.recipe.local_lm`) and the on-premises endpoint
(:mod:`training.recipe.endpoint`) are imported only when configured.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from app.search.abbreviations import AbbreviationTable
from training.data.catalog_view import CatalogView
from training.data.qualifiers import render
from training.data.synthetic import GeneratorContext, TemplateGenerator, read_lay_terms
from training.recipe.config import BackendConfig
from training.recipe.prompts import Task


@dataclass(frozen=True)
class Completion:
    """One reply: its text and the tokens it cost (0 when the backend does not say)."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Backend(Protocol):
    """Writes replies for tasks.

    Attributes:
        name: backend kind, recorded in the output.
        languages: languages it can write (tasks in others are not planned).
    """

    name: str
    languages: tuple[str, ...]

    def complete(self, tasks: Sequence[Task], attempt: int) -> list[Completion]:
        """One completion per task, in order; ``attempt`` (1, 2 ...) varies the sampling of
        retries. A completion may be malformed: the caller validates and retries."""
        ...

    def describe(self) -> dict:
        """What to record about the backend (model, device, dtype ...)."""
        ...

    def supports(self, task: Task) -> bool:
        """False for tasks the backend cannot answer (they are counted, not sent)."""
        ...


def make_backend(config: BackendConfig, view: CatalogView) -> Backend:
    """The configured backend.

    Raises:
        ValueError: an endpoint URL outside loopback and private networks.
        FileNotFoundError: a model folder that does not exist.
    """
    if config.kind == "transformers":
        from training.recipe.local_lm import TransformersBackend

        return TransformersBackend(config)
    if config.kind == "endpoint":
        from training.recipe.endpoint import EndpointBackend

        return EndpointBackend(config)
    return DeterministicBackend(view)


#: Template variant style -> recipe style.
_TEMPLATE_STYLES = {
    "abbreviation": "shorthand", "side_abbreviation": "shorthand", "telegraphic": "fragment",
    "episode": "fragment", "no_accents": "fragment", "typo_swap": "shorthand",
    "typo_drop": "shorthand", "inverted": "formal", "qualified": "formal",
}  # fmt: skip
_EN_SHORTHAND = [
    (r"\bwithout\b", "w/o"), (r"\bwith\b", "w/"), (r"\bright\b", "R"), (r"\bleft\b", "L"),
    (r"\bbilateral\b", "bilat"), (r"\bfracture\b", "fx"), (r"\bhistory of\b", "h/o"),
    (r"\binitial encounter\b", "initial"), (r"\bsubsequent encounter\b", "f/u"),
    (r"\bdiabetes mellitus\b", "DM"), (r"\bhypertension\b", "HTN"),
]  # fmt: skip
_EN_FILLER = re.compile(r",?\s*\b(?:unspecified|not otherwise specified|NOS)\b", re.IGNORECASE)


def english_shorthand(title: str) -> str | None:
    """Ward shorthand of an English title; None when nothing is abbreviated.

    Example: ``english_shorthand("Fracture of right femur") == "fx of R femur"``
    """
    text = title
    for pattern, short in _EN_SHORTHAND:
        text = re.sub(pattern, short, text, flags=re.IGNORECASE)
    return text if text != title else None


def english_fragment(title: str) -> str | None:
    """A note fragment: lower case, "unspecified" and its kin dropped; None if unchanged."""
    text = " ".join(_EN_FILLER.sub("", title).split()).strip(" ,")
    return text.lower() if text and text.lower() != title.lower() else None


class DeterministicBackend:
    """Answers from the catalog with no language model: Spanish template variants of the
    code's Spanish text (:mod:`training.data.synthetic`) and the curated lay terms, English
    inclusion terms, shorthand and fragments of the title, and hard negatives made the same
    way from each sibling's Spanish text. It writes only Spanish and English."""

    name = "deterministic"
    languages = ("es", "en")

    def __init__(self, view: CatalogView, abbreviations: AbbreviationTable | None = None):
        self.view = view
        table = abbreviations or AbbreviationTable.default()
        self.templates = TemplateGenerator(GeneratorContext(view, table))
        self.lay: dict[str, list[str]] = {}
        for term in read_lay_terms():
            self.lay.setdefault(term.code, []).append(term.term)

    def describe(self) -> dict:
        """No model: the generator and its languages."""
        return {"kind": self.name, "languages": list(self.languages)}

    def supports(self, task: Task) -> bool:
        """Spanish tasks of codes with a Spanish text, English tasks with some variant."""
        if task.language == "es":
            return bool(self._spanish(task.context.code, random.Random(0)))
        return task.language == "en" and bool(self._english(task))

    def complete(self, tasks: Sequence[Task], attempt: int) -> list[Completion]:
        """JSON replies in the schema's shape (deterministic per task id and attempt)."""
        return [self._reply(t, random.Random(f"{t.id}/{attempt}")) for t in tasks]

    def _spanish(self, code: str, rng: random.Random) -> list[tuple[str, str]]:
        rendering = render(self.view, self.view.records[code])
        if rendering is None:
            return []
        options, noisy = self.templates.variants(rendering, rng)
        if rendering.inherited:
            options.insert(0, ("qualified", rendering.text))
        if noisy:
            options.append(rng.choice(noisy))
        out = [(text, _TEMPLATE_STYLES[style]) for style, text in options]
        return out + [(term, "lay") for term in self.lay.get(code, [])]

    def _english(self, task: Task) -> list[tuple[str, str]]:
        ctx = task.context
        out = [(term, "formal") for term in ctx.inclusions if "(" not in term]
        if (short := english_shorthand(ctx.title_en)) is not None:
            out.append((short, "shorthand"))
        if (fragment := english_fragment(ctx.title_en)) is not None:
            out.append((fragment, "fragment"))
        return out

    def _reply(self, task: Task, rng: random.Random) -> Completion:
        ctx = task.context
        found = self._spanish(ctx.code, rng) if task.language == "es" else self._english(task)
        avoid = set(task.avoid)
        found = [(t, s) for t, s in found if s in task.styles and t not in avoid]
        mentions = found[: task.mentions]
        negatives = []
        flips = sorted(ctx.siblings, key=lambda s: s.aspect == "other")  # real qualifiers first
        for sibling in flips:
            if len(negatives) >= task.negatives:
                break
            variants = self._spanish(sibling.code, rng)
            if variants:
                negatives.append({"text": variants[0][0], "code": sibling.code,
                                  "flipped": sibling.aspect})  # fmt: skip
        reply = {
            "mentions": [{"text": t, "style": s} for t, s in mentions],
            "hard_negatives": negatives,
        }
        return Completion(json.dumps(reply, ensure_ascii=False))
