"""One recipe run's configuration: a TOML file, copied verbatim into the run's output.

    [run]                       # what to generate
    seed = 13
    chapters = ["2", "9", "19"] # or "all"
    codes_per_chapter = 400
    languages = ["es", "en", "ca", "it", "pt", "fr"]
    styles = ["shorthand", "formal", "lay", "fragment"]
    mentions_per_task = 4
    hard_negatives = 2          # Spanish tasks only
    siblings = 6

    [backend]
    kind = "deterministic"      # or "transformers", "endpoint"

See ``training/recipe/configs/`` for one file per backend and :class:`BackendConfig` for
every backend setting.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LANGUAGES = ("es", "en", "ca", "it", "pt", "fr")
STYLES = ("shorthand", "formal", "lay", "fragment")
BACKENDS = ("deterministic", "transformers", "endpoint")


class ConfigError(ValueError):
    """The recipe file is missing, not TOML, or has an unknown or invalid setting."""


@dataclass(frozen=True)
class RunConfig:
    """What to generate.

    Attributes:
        seed: every random choice (code selection, sampling seeds) derives from it.
        chapters: chapter numbers to draw codes from, or ``("all",)``.
        codes_per_chapter: codes drawn per chapter (fewer when a chapter has fewer).
        languages: mention languages (ISO 639-1; a subset of :data:`LANGUAGES`).
        styles: mention styles asked for (a subset of :data:`STYLES`).
        mentions_per_task: mentions asked per code and language.
        hard_negatives: qualifier-flipped hard negatives asked per Spanish task.
        siblings: siblings shown in a prompt (the ones hard negatives may name).
        group_size: codes per Spanish listwise group (positive included).
        max_attempts: tries per task when the reply is malformed.
    """

    seed: int = 13
    chapters: tuple[str, ...] = ("all",)
    codes_per_chapter: int = 50
    languages: tuple[str, ...] = LANGUAGES
    styles: tuple[str, ...] = STYLES
    mentions_per_task: int = 4
    hard_negatives: int = 2
    siblings: int = 6
    group_size: int = 16
    max_attempts: int = 3


@dataclass(frozen=True)
class BackendConfig:
    """How replies are produced.

    Attributes:
        kind: ``deterministic``, ``transformers`` or ``endpoint``.
        model_dir: (transformers) a local model folder (weights, tokenizer, config).
        gguf_file: (transformers) a GGUF file inside ``model_dir`` (llama.cpp's format),
            dequantised on load; needs the ``gguf`` and ``accelerate`` packages.
        device: (transformers) ``auto`` (CUDA when torch sees it), ``cuda`` or ``cpu``.
        dtype: (transformers) ``auto`` (bf16 on CUDA, fp32 on CPU), ``bfloat16``,
            ``float16`` or ``float32``.
        batch_size: prompts generated together (transformers) or in flight (endpoint).
        max_new_tokens: reply length bound.
        temperature: sampling temperature (0: greedy).
        top_p: nucleus sampling.
        url: (endpoint) base URL of an OpenAI-compatible server (``http://127.0.0.1:8000/v1``);
            its host must be loopback or a private (hospital) network address.
        model: (endpoint) the model name the server expects.
        api_key_env: (endpoint) environment variable holding the key, if the server wants one.
        allow_hosts: (endpoint) further host names allowed although they resolve elsewhere.
        requests_per_minute: (endpoint) rate limit (0: none).
        tokens_per_minute: (endpoint) rate limit on the server's reported usage (0: none).
        timeout: (endpoint) seconds per request.
        retries: (endpoint) tries on 429, 5xx and connection errors, with back-off.
        json_mode: (endpoint) ask for ``response_format: json_object``.
    """

    kind: str = "deterministic"
    model_dir: str = ""
    gguf_file: str = ""
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int = 8
    max_new_tokens: int = 384
    temperature: float = 0.8
    top_p: float = 0.95
    url: str = ""
    model: str = ""
    api_key_env: str = ""
    allow_hosts: tuple[str, ...] = ()
    requests_per_minute: float = 0.0
    tokens_per_minute: float = 0.0
    timeout: float = 120.0
    retries: int = 5
    json_mode: bool = True


@dataclass(frozen=True)
class CurationSettings:
    """Recipe curation on top of :mod:`training.data.curate`.

    Attributes:
        min_chars: shortest mention kept.
        max_chars: longest mention kept.
        semantic_threshold: cosine of near-duplicates of one code (needs ``--encoder``).
        agreement: keep a mention only when the current encoder ranks its code within
            ``agreement_k`` of the code and its prompt's siblings (needs ``--encoder``).
        agreement_k: see ``agreement``.
        check_language: drop mentions confidently identified as another language.
        review_per_cell: mentions sampled per (chapter, language) for spot inspection.
    """

    min_chars: int = 3
    max_chars: int = 160
    semantic_threshold: float = 0.98
    agreement: bool = False
    agreement_k: int = 3
    check_language: bool = True
    review_per_cell: int = 5


@dataclass(frozen=True)
class RecipeConfig:
    """A whole recipe file (sections ``run``, ``backend``, ``curation``)."""

    run: RunConfig = field(default_factory=RunConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)
    curation: CurationSettings = field(default_factory=CurationSettings)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tuples as lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def generation_key(self) -> str:
        """Hash of what decides the replies (run and backend; not curation): a run folder
        generated under one key cannot be resumed under another."""
        data = self.to_dict()
        keep = {"run": data["run"], "backend": data["backend"]}
        for volatile in ("batch_size", "timeout", "retries", "requests_per_minute",
                         "tokens_per_minute", "api_key_env"):  # fmt: skip
            keep["backend"].pop(volatile)
        text = json.dumps(keep, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _section(cls: type, name: str, values: Any) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] must be a table")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"[{name}] unknown setting(s): {', '.join(unknown)}")
    converted = {}
    for key, value in values.items():
        default = getattr(cls(), key)
        if isinstance(default, tuple):
            value = (value,) if isinstance(value, str) else value
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"[{name}] {key} must be a list of strings")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"[{name}] {key} must be true or false")
        elif isinstance(default, int | float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"[{name}] {key} must be a number")
            value = type(default)(value)
        elif not isinstance(value, str):
            raise ConfigError(f"[{name}] {key} must be a string")
        converted[key] = value
    return cls(**converted)


def parse_config(text: str, source: str = "<recipe>") -> RecipeConfig:
    """Parse and validate a recipe file's text.

    Raises:
        ConfigError: not TOML, unknown sections or settings, wrong types or values.

    Example: ``parse_config('[backend]\\nkind = "deterministic"').backend.kind``
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from exc
    unknown = sorted(set(data) - {"run", "backend", "curation"})
    if unknown:
        raise ConfigError(f"{source}: unknown section(s): {', '.join(unknown)}")
    try:
        config = RecipeConfig(
            run=_section(RunConfig, "run", data.get("run", {})),
            backend=_section(BackendConfig, "backend", data.get("backend", {})),
            curation=_section(CurationSettings, "curation", data.get("curation", {})),
        )
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    problems = validate(config)
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    return config


def validate(config: RecipeConfig) -> list[str]:
    """Problems with the values (empty when valid)."""
    run, backend = config.run, config.backend
    problems = []
    if bad := sorted(set(run.languages) - set(LANGUAGES)):
        problems.append(f"unknown language(s) {', '.join(bad)} (known: {', '.join(LANGUAGES)})")
    if bad := sorted(set(run.styles) - set(STYLES)):
        problems.append(f"unknown style(s) {', '.join(bad)} (known: {', '.join(STYLES)})")
    if not run.languages or not run.styles:
        problems.append("languages and styles must not be empty")
    for name in ("codes_per_chapter", "mentions_per_task", "max_attempts", "group_size"):
        if getattr(run, name) < 1:
            problems.append(f"{name} must be at least 1")
    if run.hard_negatives < 0 or run.siblings < 0:
        problems.append("hard_negatives and siblings must not be negative")
    if backend.kind not in BACKENDS:
        problems.append(f"backend kind {backend.kind!r} unknown (known: {', '.join(BACKENDS)})")
    if backend.kind == "transformers" and not backend.model_dir:
        problems.append("the transformers backend needs model_dir")
    if backend.kind == "endpoint" and not (backend.url and backend.model):
        problems.append("the endpoint backend needs url and model")
    if backend.batch_size < 1 or backend.max_new_tokens < 1:
        problems.append("batch_size and max_new_tokens must be at least 1")
    return problems


def load_config(path: Path) -> tuple[RecipeConfig, str]:
    """Read a recipe file; returns the config and the file's text (to copy into the run).

    Raises:
        ConfigError: see :func:`parse_config`; also an unreadable file.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the recipe ({exc})") from exc
    return parse_config(text, str(path)), text
