"""Recipe files: parsing, validation messages, and the key that guards resumption."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.recipe.config import ConfigError, load_config, parse_config

CONFIGS = Path(__file__).parents[3] / "training" / "recipe" / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_configs_parse(path: Path) -> None:
    config, text = load_config(path)
    assert config.backend.kind in ("deterministic", "transformers", "endpoint")
    assert text == path.read_text(encoding="utf-8")


def test_values_and_defaults() -> None:
    config = parse_config(
        '[run]\nchapters = ["9"]\nlanguages = ["es", "ca"]\nmentions_per_task = 2\n'
        '[backend]\nkind = "endpoint"\nurl = "http://127.0.0.1:9/v1"\nmodel = "m"\n'
        "requests_per_minute = 30\n"
    )
    assert config.run.chapters == ("9",)
    assert config.run.languages == ("es", "ca")
    assert config.run.styles == ("shorthand", "formal", "lay", "fragment")
    assert config.backend.requests_per_minute == 30.0
    assert config.to_dict()["run"]["languages"] == ["es", "ca"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[run\n", "not valid TOML"),
        ("[runs]\n", "unknown section(s): runs"),
        ("[run]\ncolour = 1\n", "unknown setting(s): colour"),
        ('[run]\nseed = "x"\n', "seed must be a number"),
        ('[run]\nlanguages = ["es", "de"]\n', "unknown language(s) de"),
        ('[run]\nstyles = ["poem"]\n', "unknown style(s) poem"),
        ("[run]\nmentions_per_task = 0\n", "mentions_per_task must be at least 1"),
        ('[backend]\nkind = "cloud"\n', "backend kind 'cloud' unknown"),
        ('[backend]\nkind = "transformers"\n', "needs model_dir"),
        ('[backend]\nkind = "endpoint"\nurl = "http://127.0.0.1/v1"\n', "needs url and model"),
        ("[curation]\nagreement = 1\n", "agreement must be true or false"),
    ],
)
def test_invalid_files_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_config(text, "recipe.toml")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_generation_key_follows_what_decides_the_replies() -> None:
    base = parse_config("[run]\nseed = 1\n")
    assert base.generation_key() == parse_config("[run]\nseed = 1\n").generation_key()
    assert base.generation_key() != parse_config("[run]\nseed = 2\n").generation_key()
    # throughput settings and curation do not change the replies
    same = parse_config(
        "[run]\nseed = 1\n[backend]\nbatch_size = 99\n[curation]\nagreement = true\n"
    )
    assert same.generation_key() == base.generation_key()
