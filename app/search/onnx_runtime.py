"""What the ONNX text models share: their JSON config, opening a session, padding a batch."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnxruntime
from tokenizers import Encoding

from app.errors import ModelError

PAD_ID = 1  # XLM-R's <pad>

C = TypeVar("C", bound="ModelConfig")


class ModelConfig:
    """``read``/``to_dict`` for the dataclass that a model's JSON config file holds; keys
    the dataclass does not know (training facts, measurements) are ignored."""

    @classmethod
    def read(cls: type[C], path: Path) -> C:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def required_files(model_dir: Path, names: Sequence[str]) -> list[Path]:
    """The paths of ``names`` in ``model_dir``.

    Raises:
        ModelError: any of them is missing (all are named).
    """
    paths = [model_dir / name for name in names]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ModelError(f"{model_dir}: missing {', '.join(missing)}")
    return paths


def open_session(path: Path, threads: int | None = None) -> onnxruntime.InferenceSession:
    """A CPU inference session, quiet, with ``threads`` intra-op threads when given."""
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def pad_ids(rows: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
    """``input_ids`` and ``attention_mask`` for id lists, right-padded to the longest."""
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), PAD_ID, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def pad_batch(encodings: Sequence[Encoding], rows: Sequence[int]) -> dict[str, np.ndarray]:
    """:func:`pad_ids` of ``encodings[rows]``."""
    return pad_ids([encodings[i].ids for i in rows])
