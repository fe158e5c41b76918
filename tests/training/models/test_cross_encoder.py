"""The cross-encoder on a tiny random backbone: pair encoding, listwise loss, save/load."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from training.rerank.model import (  # noqa: E402
    CrossEncoder,
    encode_pairs,
    listwise_loss,
    pair_encoder,
)

GROUPS = [
    ("fractura cuello fémur", ["fracture neck femur", "acute heart", "diabetes tipo",
                               "hipertensión"]),
    ("infarto agudo miocardio", ["acute heart", "hipertensión", "diabetes tipo",
                                 "fracture neck femur"]),
    ("diabetes tipo", ["diabetes tipo", "hipertensión", "acute heart", "fracture neck femur"]),
    ("hipertensión", ["hipertensión", "diabetes tipo", "fracture neck femur", "acute heart"]),
]  # fmt: skip


def _scores(model: CrossEncoder, tokenizer) -> torch.Tensor:
    queries = [q for q, codes in GROUPS for _ in codes]
    passages = [p for _, codes in GROUPS for p in codes]
    ids, mask = encode_pairs(tokenizer, queries, passages)
    return model(ids, mask).view(len(GROUPS), -1)


def test_pairs_match_the_tokenizer_template_and_truncate_longest_first(
    tiny_model_dir: Path,
) -> None:
    encoder = pair_encoder(tiny_model_dir / "tokenizer.json", max_length=64)
    query, passage = "fractura de cuello", "fracture of neck of femur"
    assert encoder.pair(query, passage) == encoder.tokenizer.encode(query, passage).ids
    prefixed = pair_encoder(tiny_model_dir / "tokenizer.json", max_length=64, prefixes=True)
    assert prefixed.pair(query, passage) == prefixed.tokenizer.encode(
        "query: " + query, "passage: " + passage
    ).ids
    short = pair_encoder(tiny_model_dir / "tokenizer.json", max_length=12)
    ids, mask = encode_pairs(short, [query], [passage])
    tokens = [short.tokenizer.id_to_token(i) for i in ids[0].tolist()]
    assert tokens[0] == "<s>" and tokens.count("</s>") == 3
    assert ids.shape[1] == 12 and int(mask.sum()) == 12
    q_len = tokens.index("</s>") - 1
    assert q_len >= 1 and len(tokens) - q_len - 4 >= q_len  # the longer passage keeps more


def test_listwise_loss_prefers_the_first_score() -> None:
    good = listwise_loss(torch.tensor([[5.0, 0.0, 0.0]]))
    bad = listwise_loss(torch.tensor([[0.0, 5.0, 0.0]]))
    assert float(good) < float(bad)
    uniform = float(listwise_loss(torch.zeros(2, 4)))
    assert uniform == pytest.approx(float(torch.log(torch.tensor(4.0))))


def test_training_lowers_the_loss_and_checkpoints_round_trip(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    assert CrossEncoder.from_base(tiny_model_dir, layers=1).bert.config.num_hidden_layers == 1
    model = CrossEncoder.from_base(tiny_model_dir)
    tokenizer = pair_encoder(tiny_model_dir / "tokenizer.json", max_length=32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(100):
        loss = listwise_loss(_scores(model, tokenizer))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5
    model.eval()
    with torch.no_grad():
        before = _scores(model, tokenizer)
    assert (before.argmax(dim=1) == 0).all()
    model.save(tmp_path / "ce", tiny_model_dir / "tokenizer.json")
    with torch.no_grad():
        after = _scores(CrossEncoder.load(tmp_path / "ce"), tokenizer)
    torch.testing.assert_close(before, after)
