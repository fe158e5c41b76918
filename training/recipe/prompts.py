"""Prompts grounded in the hierarchy, the reply schema, and reply parsing.

One task asks for ``mentions_per_task`` short mentions of one code in one language, in the
configured styles; a Spanish task also asks for qualifier-flipped hard negatives: mentions
that read almost the same but, with one distinguishing qualifier flipped, belong to one of
the listed siblings. Replies are JSON objects validated against :data:`REPLY_SCHEMA`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import jsonschema

from training.recipe.config import STYLES, RunConfig
from training.recipe.grounding import CodeContext

#: Changing the wording changes every task id (old checkpoints are then regenerated).
PROMPT_VERSION = "1"

LANGUAGE_NAMES = {
    "es": "Spanish (Spain)", "en": "English", "ca": "Catalan", "it": "Italian",
    "pt": "Portuguese", "fr": "French",
}  # fmt: skip
STYLE_HINTS = {
    "shorthand": "clinician shorthand with usual abbreviations, as written on a ward",
    "formal": "formal diagnostic wording as in a discharge report",
    "lay": "the patient's own everyday words",
    "fragment": "a fragment lifted from a clinical note (no full sentence)",
}

REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["mentions"],
    "additionalProperties": False,
    "properties": {
        "mentions": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["text", "style"],
                "additionalProperties": False,
                "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": 400},
                    "style": {"enum": list(STYLES)},
                },
            },
        },
        "hard_negatives": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["text", "code"],
                "additionalProperties": False,
                "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": 400},
                    "code": {"type": "string"},
                    "flipped": {"type": "string"},
                },
            },
        },
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(REPLY_SCHEMA)


class MalformedReply(ValueError):
    """A reply that is not a JSON object matching :data:`REPLY_SCHEMA`."""


@dataclass(frozen=True)
class Task:
    """One request: mentions of ``context.code`` in ``language``.

    Attributes:
        context: the grounded code.
        language: ISO 639-1 code of the mentions.
        styles: styles asked for.
        mentions: how many mentions.
        negatives: how many hard negatives (Spanish tasks only; 0 otherwise).
        avoid: mentions a reviewer rejected for this code and language (fed back).
    """

    context: CodeContext
    language: str
    styles: tuple[str, ...]
    mentions: int
    negatives: int
    avoid: tuple[str, ...] = field(default=())

    @cached_property
    def id(self) -> str:
        """Stable id of the request: code, language and the exact prompt."""
        text = json.dumps([PROMPT_VERSION, self.context.code, self.language, self.messages()])
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def messages(self) -> list[dict[str, str]]:
        """Chat messages (system, user) for an instruction-tuned model."""
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": _user(self)}]


SYSTEM = (
    "You are an experienced clinical coder and physician. You write realistic, short "
    "diagnostic mentions as they appear in real clinical documentation. You answer with one "
    "JSON object and nothing else."
)


def _user(task: Task) -> str:
    ctx = task.context
    lines = [f"ICD-10-CM code {ctx.code}.", f"English title: {ctx.title_en}"]
    if ctx.title_es:
        lines.append(f"Spanish title: {ctx.title_es}")
    if ctx.parent_code:
        lines.append(f"Parent: {ctx.parent_code} {ctx.parent_title}")
    if ctx.inclusions:
        lines.append("Inclusion terms: " + "; ".join(ctx.inclusions))
    if ctx.siblings:
        lines.append("Sibling codes that must NOT be described by the mentions:")
        for s in ctx.siblings:
            what = ", ".join(s.other) or "-"
            instead = ", ".join(s.this) or "-"
            lines.append(f"- {s.code} {s.title_en} (differs by {s.aspect}: {what} instead of "
                         f"{instead})")  # fmt: skip
    name = LANGUAGE_NAMES[task.language]
    lines.append("")
    lines.append(
        f"Write {task.mentions} different short mentions (2 to 12 words) of exactly this "
        f"diagnosis in {name}, each in one of these styles:"
    )
    lines += [f"- {style}: {STYLE_HINTS[style]}" for style in task.styles]
    lines.append(
        "Rules: never write a code; do not copy the title; keep every qualifier of the code "
        "(side, episode, acuity, type) so that no sibling code would fit."
    )
    if task.avoid:
        lines.append("A reviewer rejected these; write nothing like them: "
                     + "; ".join(f'"{t}"' for t in task.avoid))  # fmt: skip
    if task.negatives and ctx.siblings:
        lines.append(
            f"Also write {task.negatives} hard negatives in {name}: mentions worded almost "
            "like yours but with one distinguishing qualifier flipped so that they belong to "
            "one of the sibling codes above; give that sibling's code and what you flipped."
        )
    example: dict[str, Any] = {"mentions": [{"text": "...", "style": task.styles[0]}]}
    if task.negatives and ctx.siblings:
        example["hard_negatives"] = [{"text": "...", "code": ctx.siblings[0].code,
                                      "flipped": ctx.siblings[0].aspect}]  # fmt: skip
    lines.append("Answer with JSON only, shaped like: " + json.dumps(example, ensure_ascii=False))
    return "\n".join(lines)


def build_tasks(
    contexts: Sequence[CodeContext],
    config: RunConfig,
    languages: Sequence[str],
    avoid: dict[tuple[str, str], list[str]] | None = None,
) -> list[Task]:
    """One task per code and language (of ``languages``, in the config's order)."""
    avoid = avoid or {}
    tasks = []
    for ctx in contexts:
        for lang in config.languages:
            if lang not in languages:
                continue
            negatives = config.hard_negatives if lang == "es" and ctx.siblings else 0
            rejected = tuple(sorted(avoid.get((ctx.code, lang), [])))
            tasks.append(
                Task(ctx, lang, config.styles, config.mentions_per_task, negatives, rejected)
            )
    return tasks


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def _json_object(text: str) -> Any:
    """The first JSON object in ``text`` (bare, fenced, or after chatter)."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            try:
                obj, _ = decoder.raw_decode(candidate, start)
                return obj
            except json.JSONDecodeError:
                start = candidate.find("{", start + 1)
    raise MalformedReply("no JSON object in the reply")


@dataclass(frozen=True)
class Reply:
    """A parsed, schema-valid reply. Items the task did not ask for are left out.

    Attributes:
        mentions: ``(text, style)`` pairs.
        negatives: ``(text, sibling code, flipped aspect)`` triples naming a listed sibling.
        ignored: items dropped (unrequested style, unlisted sibling code).
    """

    mentions: tuple[tuple[str, str], ...]
    negatives: tuple[tuple[str, str, str], ...]
    ignored: int = 0

    def to_dict(self) -> dict:
        """JSON-ready form (what the checkpoint stores)."""
        return {
            "mentions": [{"text": t, "style": s} for t, s in self.mentions],
            "hard_negatives": [{"text": t, "code": c, "flipped": f} for t, c, f in self.negatives],
            "ignored": self.ignored,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Reply:
        """Inverse of :meth:`to_dict`."""
        return cls(
            tuple((m["text"], m["style"]) for m in data["mentions"]),
            tuple((n["text"], n["code"], n["flipped"]) for n in data["hard_negatives"]),
            int(data.get("ignored", 0)),
        )


def parse_reply(text: str, task: Task) -> Reply:
    """Parse and validate a model's reply for ``task``.

    Raises:
        MalformedReply: no JSON object, a schema violation (the message says where), or no
            usable mention.

    Example: ``parse_reply('{"mentions": [{"text": "IAM", "style": "shorthand"}]}', t)``
    """
    obj = _json_object(text)
    errors = sorted(_VALIDATOR.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "reply"
        raise MalformedReply(f"{where}: {first.message[:200]}")
    ignored = 0
    mentions = []
    for item in obj["mentions"]:
        text_ = " ".join(item["text"].split())
        if item["style"] in task.styles and text_:
            mentions.append((text_, item["style"]))
        else:
            ignored += 1
    allowed = {s.code: s.aspect for s in task.context.siblings}
    negatives = []
    for item in obj.get("hard_negatives", []):
        text_ = " ".join(item["text"].split())
        code = item["code"].strip().upper()
        if code in allowed and text_ and len(negatives) < task.negatives:
            negatives.append((text_, code, item.get("flipped") or allowed[code]))
        else:
            ignored += 1
    if not mentions:
        raise MalformedReply("no mention in a requested style")
    return Reply(tuple(mentions), tuple(negatives), ignored)
