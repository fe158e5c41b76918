"""Export a BertModel bi-encoder to ONNX and quantise it to int8 for the runtime.

    python -m training.export --model build/pruned --out build/onnx/base [--quant qint8-pc]

The graph includes mean pooling (output ``embedding``); the runtime L2-normalises, after
cutting a Matryoshka prefix if the bundle uses one. Quantisation is dynamic (weights int8,
activations quantised on the fly). Variants are named so that the bundle build can compare
them on dev retrieval metrics, not only on cosine.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from app.search.encoder import CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE, EncoderConfig

log = logging.getLogger(__name__)

#: Quantisation variants: (weight type, per-channel, operator types to quantise, pattern of
#: node names kept in float, weights-only: ``MatMulConstBOnly``, which leaves attention's
#: activation x activation products in float). ``training.bundle`` measures them all on dev
#: retrieval; which one wins depends on the model, so none is assumed.
QUANT_VARIANTS = {
    "fp32": None,
    "qint8": ("QInt8", False, ("MatMul",), None, False),
    "qint8-pc": ("QInt8", True, ("MatMul",), None, False),
    "quint8": ("QUInt8", False, ("MatMul",), None, False),
    "qint8-pc-emb": ("QInt8", True, ("MatMul", "Gather"), None, False),
    "quint8-emb": ("QUInt8", False, ("MatMul", "Gather"), None, False),
    "qint8-pc-emb-w": ("QInt8", True, ("MatMul", "Gather"), None, True),
    "qint8-pc-emb-keeplast": ("QInt8", True, ("MatMul", "Gather"), r"/layer\.11/", False),
    "qint8-pc-emb-w-keeplast": ("QInt8", True, ("MatMul", "Gather"), r"/layer\.11/", True),
}
OPSET = 17


class Pooled:
    """Wraps a BertModel so that its forward returns mean-pooled token vectors."""

    def __new__(cls, model):
        import torch

        from training.base_model import mean_pool

        class _Pooled(torch.nn.Module):
            def __init__(self, bert):
                super().__init__()
                self.bert = bert

            def forward(self, input_ids, attention_mask):
                hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask)
                return mean_pool(hidden.last_hidden_state, attention_mask)

        return _Pooled(model).eval()


def export_fp32(model, path: Path) -> None:
    """Trace ``model`` (a BertModel) with dynamic batch and sequence axes."""
    import torch

    ids = torch.tensor([[0, 5, 6, 2], [0, 7, 2, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(
        Pooled(model),
        (ids, mask),
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=["embedding"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )


def quantize(fp32: Path, out: Path, variant: str) -> None:
    """Dynamic int8 quantisation of ``fp32`` into ``out`` (a plain copy for ``fp32``)."""
    spec = QUANT_VARIANTS[variant]
    if spec is None:
        shutil.copyfile(fp32, out)
        return
    from onnxruntime.quantization import QuantType, quantize_dynamic

    weight_type, per_channel, ops, keep, weights_only = spec
    excluded = []
    if keep:
        import onnx

        graph = onnx.load(str(fp32), load_external_data=False).graph
        excluded = [n.name for n in graph.node if n.op_type in ops and re.search(keep, n.name)]
    quantize_dynamic(
        fp32,
        out,
        weight_type=getattr(QuantType, weight_type),
        per_channel=per_channel,
        op_types_to_quantize=list(ops),
        nodes_to_exclude=excluded,
        extra_options={"MatMulConstBOnly": weights_only},
    )


def export(
    model_dir: Path, out: Path, variant: str = "qint8-pc-emb", max_length: int = 128
) -> Path:
    """Write an encoder directory the runtime's ``TextEncoder`` opens."""
    from transformers import BertModel

    model = BertModel.from_pretrained(model_dir, add_pooling_layer=False).eval()
    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / "encoder.fp32.onnx"
    export_fp32(model, fp32)
    quantize(fp32, out / MODEL_FILE, variant)
    fp32.unlink()
    shutil.copyfile(model_dir / "tokenizer.json", out / TOKENIZER_FILE)
    config = EncoderConfig(max_length=max_length, dim=model.config.hidden_size).to_dict()
    config["quantization"] = variant
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="BertModel checkpoint dir")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quant", choices=sorted(QUANT_VARIANTS), default="qint8-pc-emb")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    export(args.model, args.out, args.quant)
    size = (args.out / MODEL_FILE).stat().st_size / 1e6
    log.info("wrote %s (%s, %.1f MB)", args.out, args.quant, size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
