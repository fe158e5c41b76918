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
    config["heads"] = model.config.num_attention_heads  # training.dequantize reads it back
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    return out


# ---------------------------------------------------------------- two towers in one file


def _boundary(graph, split: int) -> str:
    """The tensor the two towers share: the output of the last layer below ``split``."""
    prefix = "/bert/embeddings/LayerNorm/"
    if split:
        prefix = f"/bert/encoder/layer.{split - 1}/output/LayerNorm/"
    for node in graph.node:
        if node.op_type == "LayerNormalization" and node.name.startswith(prefix):
            return node.output[0]
    raise ValueError(f"no layer-norm output under {prefix} in the exported graph")


def _split_nodes(graph, boundary: str) -> tuple[list, list]:
    """(nodes the boundary depends on, the rest), each in graph order."""
    producer = {out: node for node in graph.node for out in node.output}
    needed, stack = set(), [boundary]
    while stack:
        node = producer.get(stack.pop())
        if node is None or id(node) in needed:
            continue
        needed.add(id(node))
        stack.extend(node.input)
    bottom = [n for n in graph.node if id(n) in needed]
    top = [n for n in graph.node if id(n) not in needed]
    return bottom, top


def merge_towers(query_path: Path, passage_path: Path, split: int, out: Path) -> None:
    """One ONNX file holding both towers of an asymmetric encoder.

    The two exports must share the embeddings and layers below ``split`` (the caller checks
    the weights: :func:`export_towers`). The merged graph runs them and the query tower's top
    layers and pooling, then an ``If`` on the boolean input ``query`` returns those or runs the
    passage tower's top: a query costs what a one-tower encoder costs, with the same
    onnxruntime fusions, and the file grows only by the top layers.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    from app.search.encoder import TOWER_INPUT

    query, passage = onnx.load(str(query_path)), onnx.load(str(passage_path))
    q_graph, p_graph = query.graph, passage.graph
    q_bottom, q_top = _split_nodes(q_graph, _boundary(q_graph, split))
    _, p_top = _split_nodes(p_graph, _boundary(p_graph, split))
    q_init = {t.name: t for t in q_graph.initializer}
    p_init = {t.name: t for t in p_graph.initializer}
    available = {o for n in q_bottom for o in n.output} | {i.name for i in q_graph.input}
    p_producer = {o: n for n in p_graph.node for o in n.output}

    # The passage branch: its own nodes, plus whatever they read that the shared part lacks
    # (weights that differ, nodes of tensors the query export named otherwise), renamed.
    branch, seen, extra, renamed = [], set(), [], {}
    work = list(p_top)
    while work:
        node = work.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        branch.append(node)
        for name in node.input:
            if not name or name in available:
                continue
            if name in p_init:
                same = name in q_init and np.array_equal(
                    numpy_helper.to_array(q_init[name]), numpy_helper.to_array(p_init[name])
                )
                if not same and name not in renamed:
                    renamed[name] = "passage/" + name
                    tensor = onnx.TensorProto()
                    tensor.CopyFrom(p_init[name])
                    tensor.name = renamed[name]
                    extra.append(tensor)
            elif name in p_producer:
                work.append(p_producer[name])
    order = {id(n): i for i, n in enumerate(p_graph.node)}
    branch.sort(key=lambda n: order[id(n)])
    for node in branch:
        for name in node.output:
            renamed[name] = "passage/" + name
    passage_nodes = []
    for node in branch:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.name = "passage/" + node.name
        copy.input[:] = [renamed.get(i, i) for i in node.input]
        copy.output[:] = [renamed.get(o, o) for o in node.output]
        passage_nodes.append(copy)

    (output,) = q_graph.output
    value = helper.make_tensor_value_info
    # The query tower's top stays in the main graph and the "then" branch only passes its
    # output on: onnxruntime fuses a subgraph's nodes less (skip layer norms), and the query
    # path must compute what the same tower in a one-tower file computes (a drift there was
    # enough to cost 0.002 dev exact top-1 at int8). A passage pays for the query top.
    query_out = "query/" + output.name
    for node in q_top:
        node.output[:] = [query_out if o == output.name else o for o in node.output]
    then_branch = helper.make_graph(
        [helper.make_node("Identity", [query_out], ["query/selected"], name="query/selected")],
        "query_tower",
        [],
        [value("query/selected", onnx.TensorProto.FLOAT, None)],
    )
    else_branch = helper.make_graph(
        passage_nodes, "passage_tower", [],
        [value(renamed[output.name], onnx.TensorProto.FLOAT, None)],
    )  # fmt: skip
    branch_node = helper.make_node(
        "If", [TOWER_INPUT], [output.name], name="tower",
        then_branch=then_branch, else_branch=else_branch,
    )  # fmt: skip
    graph = helper.make_graph(
        q_bottom + q_top + [branch_node],
        "two_tower_encoder",
        list(q_graph.input) + [value(TOWER_INPUT, onnx.TensorProto.BOOL, [])],
        [output],
        initializer=list(q_graph.initializer) + extra,
        # the exporter's shapes: without them onnxruntime cannot prove the shapes its
        # skip-layer-norm fusion needs, and the unfused graph drifts from a one-tower file
        value_info=[v for v in q_graph.value_info if v.name != output.name],
    )
    merged = helper.make_model(graph, opset_imports=query.opset_import)
    merged.ir_version = query.ir_version
    onnx.checker.check_model(merged)
    onnx.save(merged, str(out))


def export_towers(
    query_model,
    passage_model,
    init: Path,
    out: Path,
    trainable_layers: int,
    variant: str | None = None,
) -> Path:
    """Write an encoder directory holding ``query_model``'s and ``passage_model``'s towers.

    Quantised as ``variant`` (default: as the ``init`` encoder was); tokenizer and settings
    are ``init``'s.
    """
    import tempfile

    config = json.loads((init / CONFIG_FILE).read_text(encoding="utf-8"))
    variant = variant or config.get("quantization", "qint8-pc-emb")
    split = query_model.config.num_hidden_layers - trainable_layers
    shared = passage_model.state_dict()
    for name, weight in query_model.state_dict().items():
        layer = name.split(".")[2] if name.startswith("encoder.layer.") else None
        if (layer is None or int(layer) < split) and not weight.equal(shared[name]):
            raise ValueError(f"the towers must share {name} (below layer {split})")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        paths = {}
        for name, model in (("query", query_model), ("passage", passage_model)):
            fp32 = Path(tmp) / f"{name}.fp32.onnx"
            export_fp32(model, fp32)
            paths[name] = Path(tmp) / f"{name}.onnx"
            quantize(fp32, paths[name], variant)
        merged = Path(tmp) / MODEL_FILE
        merge_towers(paths["query"], paths["passage"], split, merged)
        if init.resolve() != out.resolve():
            shutil.copyfile(init / TOKENIZER_FILE, out / TOKENIZER_FILE)
        config["towers"] = {"query_layers_tuned": trainable_layers, "shared_layers": split}
        config["quantization"] = variant
        (Path(tmp) / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        for name in (MODEL_FILE, CONFIG_FILE):
            (Path(tmp) / name).replace(out / name)
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

