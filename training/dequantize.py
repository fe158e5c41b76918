"""Read an int8 ONNX bi-encoder (as ``training.export`` writes it) back into a torch BertModel.

The bundle ships only the quantised encoder; its torch checkpoint is a build artefact. The
query encoder's fine-tuning (``training.train_query_encoder``) starts from exactly what the
runtime runs, so the int8 weights are dequantised (``(q - zero_point) * scale``, per channel
where the export quantised per channel) into a ``BertModel`` of the same shape.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

#: ``/bert/encoder/layer.3/attention/self/query/MatMul_quant`` uses the weight of
#: ``encoder.layer.3.attention.self.query``; ``.../LayerNorm/LayerNormalization`` a layer norm's
_NODE = re.compile(r"^/bert/(.+)/(?:MatMul(?:_quant)?|Add|LayerNormalization)$")


def _dequantize(values: dict, name: str) -> np.ndarray:
    base = name.removesuffix("_quantized")
    q = values[name].astype(np.float32)
    zero = values[base + "_zero_point"].astype(np.float32)
    scale = values[base + "_scale"].astype(np.float32)
    return (q - zero) * scale


def onnx_state_dict(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The BertModel state dict held by an ONNX encoder, and the config its shapes imply."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    if any(node.op_type == "If" for node in model.graph.node):
        raise ValueError(
            f"{path} is already a two-tower encoder: tune the query side of the symmetric one"
        )
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:  # equal weights the exporter merged: Identity of one tensor
        if node.op_type == "Identity" and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]
    state: dict[str, np.ndarray] = {}
    for name, array in values.items():
        if not name.startswith("bert."):
            continue
        key = name.removeprefix("bert.")
        if key.endswith("_quantized"):
            state[key.removesuffix("_quantized")] = _dequantize(values, name)
        elif not key.endswith(("_scale", "_zero_point")):
            state[key] = array.astype(np.float32)
    # Linear and layer-norm weights are found through the nodes that use them: the exporter
    # may merge equal initialisers (a model whose biases are all zero has one bias tensor).
    for node in model.graph.node:
        match = _NODE.match(node.name)
        if not match:
            continue
        module, op = match.group(1).replace("/", "."), node.op_type
        if op in ("MatMul", "MatMulInteger") and node.input[1] in values:
            weight = node.input[1]
            quantized = weight.endswith("_quantized")
            matrix = _dequantize(values, weight) if quantized else values[weight]
            state[module + ".weight"] = np.ascontiguousarray(matrix.T)
        elif op == "Add" and module + ".weight" in state:
            bias = next((i for i in node.input if i in values), None)
            if bias is not None:
                state[module + ".bias"] = values[bias].astype(np.float32)
        elif op == "LayerNormalization":
            state[module + ".weight"] = values[node.input[1]].astype(np.float32)
            state[module + ".bias"] = values[node.input[2]].astype(np.float32)
    words = state["embeddings.word_embeddings.weight"]
    layers = 1 + max(
        int(m.group(1)) for k in state if (m := re.match(r"encoder\.layer\.(\d+)\.", k))
    )
    hidden = words.shape[1]
    config = {
        "vocab_size": words.shape[0],
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": hidden // 32,
        "intermediate_size": state["encoder.layer.0.intermediate.dense.weight"].shape[0],
        "max_position_embeddings": state["embeddings.position_embeddings.weight"].shape[0],
        "type_vocab_size": state["embeddings.token_type_embeddings.weight"].shape[0],
        "layer_norm_eps": 1e-12,
        "hidden_act": "gelu",
        "pad_token_id": 1,
    }
    return state, config


def load_bert(path: Path):
    """A ``BertModel`` (no pooler) holding the dequantised weights of the ONNX encoder ``path``.

    The head count is the one ``encoder.json`` beside it records, else e5-small's width / 32.
    """
    import json

    import torch
    from transformers import BertConfig, BertModel

    state, config = onnx_state_dict(path)
    settings = path.with_name("encoder.json")
    if settings.exists():
        config["num_attention_heads"] = json.loads(settings.read_text()).get(
            "heads", config["num_attention_heads"]
        )
    model = BertModel(BertConfig(**config), add_pooling_layer=False)
    tensors = {k: torch.from_numpy(v) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ValueError(
            f"{path}: weights do not fit a BertModel ({missing[:3]}, {unexpected[:3]})"
        )
    return model.eval()
