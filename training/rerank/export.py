"""Export a trained cross-encoder to int8 ONNX for the runtime.

    python -m training.rerank.export --model build/reranker --out build/reranker-onnx \\
        [--quant qint8-pc-emb] [--top-n 16]

``training.rerank.tune --checkpoint`` then checks the int8 ranking against torch.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from app.search.reranker import CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE, RerankerConfig
from training.export import OPSET, QUANT_VARIANTS, quantize


def export_fp32(model, path: Path) -> None:
    """Trace the cross-encoder with dynamic batch and sequence axes (output ``score``)."""
    import torch

    ids = torch.tensor([[0, 5, 6, 2, 2, 7, 2], [0, 7, 2, 2, 5, 2, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0]], dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(
        model.eval(), (ids, mask), str(path),
        input_names=["input_ids", "attention_mask"], output_names=["score"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "score": {0: "batch"}},
        opset_version=OPSET, dynamo=False,
    )


def export(
    model_dir: Path, out: Path, variant: str = "qint8-pc-emb", max_length: int | None = None,
    top_n: int = 16,
) -> Path:
    """Write a reranker directory that ``app.search.reranker.CrossEncoderReranker`` opens.

    ``max_length`` defaults to the one the model was trained with (its ``train_log.json``).
    """
    from training.rerank.model import PASSAGE_PREFIX, QUERY_PREFIX, CrossEncoder

    model = CrossEncoder.load(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / "reranker.fp32.onnx"
    export_fp32(model, fp32)
    quantize(fp32, out / MODEL_FILE, variant)
    fp32.unlink()
    shutil.copyfile(model_dir / TOKENIZER_FILE, out / TOKENIZER_FILE)
    log_file = model_dir / "train_log.json"
    trained = {}
    if log_file.exists():
        trained = json.loads(log_file.read_text(encoding="utf-8"))["config"]
    max_length = min(max_length or trained.get("max_length", 64),
                     model.bert.config.max_position_embeddings)
    prefixes = (QUERY_PREFIX, PASSAGE_PREFIX) if trained.get("prefixes") else ("", "")
    config = RerankerConfig(max_length=max_length, query_prefix=prefixes[0],
                            passage_prefix=prefixes[1], top_n=top_n).to_dict()
    config.update(quantization=variant, layers=model.bert.config.num_hidden_layers)
    for name, key in (("train_log.json", "training"), ("groups_card.json", "groups")):
        if (model_dir / name).exists():  # what the model card says about the training
            facts = json.loads((model_dir / name).read_text(encoding="utf-8"))
            config[key] = {k: v for k, v in facts.items() if k != "loss"}  # not the history
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("build/reranker"))
    parser.add_argument("--out", type=Path, default=Path("build/reranker-onnx"))
    parser.add_argument("--quant", choices=sorted(QUANT_VARIANTS), default="qint8-pc-emb")
    parser.add_argument("--max-length", type=int, help="default: as trained")
    parser.add_argument("--top-n", type=int, default=16, help="until tuning picks one")
    args = parser.parse_args(argv)
    export(args.model, args.out, args.quant, args.max_length, args.top_n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
