"""Grounded prompts and reply validation."""

from __future__ import annotations

import json

import pytest

from training.recipe.config import RunConfig
from training.recipe.grounding import CodeContext
from training.recipe.prompts import MalformedReply, Task, build_tasks, parse_reply


def _task(contexts: dict[str, CodeContext], code: str = "S72.001A", lang: str = "es") -> Task:
    return Task(contexts[code], lang, ("shorthand", "formal"), 3, 2 if lang == "es" else 0)


def test_the_prompt_states_the_hierarchy(contexts: dict[str, CodeContext]) -> None:
    ctx = contexts["S72.001A"]
    user = _task(contexts).messages()[1]["content"]
    assert ctx.title_en in user and ctx.title_es in user
    assert "Parent: S72.001" in user
    sibling = ctx.siblings[0]
    assert f"- {sibling.code} {sibling.title_en}" in user
    assert "open" in user and "instead of closed" in user  # what tells the sibling apart
    assert "Spanish (Spain)" in user and "hard negatives" in user
    assert "shorthand" in user and "lay:" not in user  # only the asked styles are described


def test_inclusion_terms_are_given(contexts: dict[str, CodeContext]) -> None:
    assert "Asthma NOS" in _task(contexts, "J45.909", "en").messages()[1]["content"]


def test_hard_negatives_are_asked_only_in_spanish(contexts: dict[str, CodeContext]) -> None:
    tasks = build_tasks([contexts["I21.9"]], RunConfig(languages=("es", "en", "fr")), ("es", "fr"))
    assert [(t.language, t.negatives) for t in tasks] == [("es", 2), ("fr", 0)]
    assert "hard negatives" not in tasks[1].messages()[1]["content"]


def test_rejections_change_the_prompt_and_the_task_id(contexts: dict[str, CodeContext]) -> None:
    config = RunConfig(languages=("es",))
    plain = build_tasks([contexts["I21.9"]], config, ("es",))[0]
    fed = build_tasks([contexts["I21.9"]], config, ("es",), {("I21.9", "es"): ["ataque"]})[0]
    assert '"ataque"' in fed.messages()[1]["content"]
    assert fed.id != plain.id
    assert plain.id == build_tasks([contexts["I21.9"]], config, ("es",))[0].id


def test_fenced_and_chatty_replies_parse(contexts: dict[str, CodeContext]) -> None:
    task = _task(contexts)
    sibling = task.context.siblings[0].code
    body = {
        "mentions": [{"text": " Fx  cuello fémur dcho ", "style": "shorthand"}],
        "hard_negatives": [{"text": "fx abierta cuello fémur dcho", "code": sibling.lower()}],
    }
    reply = parse_reply(f"Here you go:\n```json\n{json.dumps(body)}\n```\nThanks", task)
    assert reply.mentions == (("Fx cuello fémur dcho", "shorthand"),)
    assert reply.negatives == (("fx abierta cuello fémur dcho", sibling, "other"),)
    assert parse_reply("ok " + json.dumps(body), task).mentions == reply.mentions


def test_items_the_task_did_not_ask_for_are_ignored(contexts: dict[str, CodeContext]) -> None:
    task = _task(contexts)
    body = {
        "mentions": [{"text": "a", "style": "lay"}, {"text": "fx fémur dcho", "style": "formal"}],
        "hard_negatives": [{"text": "x", "code": "I10"}],  # not a listed sibling
    }
    reply = parse_reply(json.dumps(body), task)
    assert reply.mentions == (("fx fémur dcho", "formal"),)
    assert reply.negatives == () and reply.ignored == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("I cannot help with that.", "no JSON object"),
        ('{"mentions": [{"text": "x"}]}', "mentions/0: 'style' is a required property"),
        ('{"mentions": [], "extra": 1}', "reply: Additional properties"),
        ('{"mentions": [{"text": "x", "style": "poem"}]}', "mentions/0/style"),
        ('{"mentions": [{"text": "x", "style": "lay"}]}', "no mention in a requested style"),
        ('["a list"]', "no JSON object"),
        ('{"mentions": "x"}', "mentions: 'x' is not of type 'array'"),
    ],
)
def test_malformed_replies_say_why(
    contexts: dict[str, CodeContext], text: str, message: str
) -> None:
    with pytest.raises(MalformedReply, match=message):
        parse_reply(text, _task(contexts))
