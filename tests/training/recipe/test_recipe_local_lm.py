"""The local causal-LM backend on a tiny randomly initialised Llama built from a config (no
download): batched generation, prompt rendering, and the run treating its (random) replies
as malformed, retrying and checkpointing them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tests.training.models.conftest import tiny_tokenizer_json  # noqa: E402
from training.recipe.checkpoint import FAILED, Checkpoint  # noqa: E402
from training.recipe.config import BackendConfig, RunConfig  # noqa: E402
from training.recipe.generate import generate  # noqa: E402
from training.recipe.grounding import CodeContext  # noqa: E402
from training.recipe.local_lm import TransformersBackend  # noqa: E402
from training.recipe.prompts import build_tasks  # noqa: E402

CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant:{% endif %}"
)


def tiny_causal_lm(out: Path, chat_template: str | None) -> Path:
    """A 2-layer Llama and its tokenizer saved like a downloaded instruct model."""
    from tokenizers import Tokenizer

    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(tiny_tokenizer_json())),
        bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
    )  # fmt: skip
    if chat_template:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(out)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096,
        bos_token_id=0, eos_token_id=2, pad_token_id=1,
    )  # fmt: skip
    transformers.LlamaForCausalLM(config).save_pretrained(out)
    return out


@pytest.fixture(scope="module", params=[CHAT_TEMPLATE, None], ids=["chat-template", "plain"])
def model_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal_lm(tmp_path_factory.mktemp("tiny-llama"), request.param)


def _backend(model_dir: Path, **settings: object) -> TransformersBackend:
    config = BackendConfig(kind="transformers", model_dir=str(model_dir), max_new_tokens=12,
                           batch_size=3, **settings)  # type: ignore[arg-type]  # fmt: skip
    return TransformersBackend(config)


def test_batched_generation_on_the_cpu(
    model_dir: Path, contexts: dict[str, CodeContext]
) -> None:
    backend = _backend(model_dir)
    assert backend.describe()["device"] == "cpu" and backend.describe()["dtype"] == "float32"
    assert backend.describe()["architecture"] == "LlamaForCausalLM"
    tasks = build_tasks(list(contexts.values())[:3], RunConfig(languages=("es",)), ("es",))
    completions = backend.complete(tasks, attempt=1)
    assert len(completions) == 3
    assert all(isinstance(c.text, str) for c in completions)
    assert all(0 < c.completion_tokens <= 12 for c in completions)
    # left padding: every prompt is counted without its padding
    assert len({c.prompt_tokens for c in completions}) > 1
    again = backend.complete(tasks, attempt=1)
    assert [c.text for c in again] == [c.text for c in completions]  # seeded per attempt


def test_greedy_decoding(model_dir: Path, contexts: dict[str, CodeContext]) -> None:
    tasks = build_tasks([contexts["I21.9"]], RunConfig(languages=("en",)), ("en",))
    backend = _backend(model_dir, temperature=0.0)
    assert backend.complete(tasks, 1)[0].text == backend.complete(tasks, 2)[0].text


def test_random_replies_are_retried_then_failed_and_checkpointed(
    model_dir: Path, contexts: dict[str, CodeContext], tmp_path: Path
) -> None:
    tasks = build_tasks(list(contexts.values())[:2], RunConfig(languages=("ca",)), ("ca",))
    checkpoint = Checkpoint(tmp_path / "generated.jsonl")
    results, stats = generate(tasks, _backend(model_dir), checkpoint, batch_size=2,
                              max_attempts=2, progress=False)  # fmt: skip
    assert all(r.status == FAILED and len(r.errors) == 2 for r in results.values())
    assert stats.malformed == 4 and stats.completion_tokens > 0
    assert set(checkpoint.load()) == {t.id for t in tasks}


def test_a_missing_model_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _backend(tmp_path / "nowhere")
