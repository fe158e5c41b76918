"""Second stage: a learned ranker (gradient-boosted trees) over features of each candidate.

A model directory holds ``ranker.onnx`` (LightGBM LambdaRank exported with onnxmltools:
input ``features`` float32 ``[n, len(FEATURES)]``, output the score per row) and
``ranker.json`` (the feature names it was trained with, its confidence calibration and
training facts), both written by ``python -m training.ranker.train``. It runs in
onnxruntime, already the encoder's runtime, so the app needs no LightGBM.

Order: valid codes first (a coder submits those), then by descending score. Confidence:
a softmax over the first ``head`` scores (times ``scale``) and a "none of these" logit,
never rising down the list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.errors import ModelError
from app.search.candidates import CandidateSpace
from app.search.confidence import monotone, softmax_with_null
from app.search.features import FEATURES
from app.search.onnx_runtime import open_session, required_files
from app.search.types import Candidate

MODEL_FILE = "ranker.onnx"
CONFIG_FILE = "ranker.json"


@dataclass(frozen=True)
class RankerCalibration:
    """Confidence from ranker scores: ``softmax_with_null(scores[:head] * scale, null_logit)``."""

    scale: float = 1.0
    null_logit: float = 0.0
    head: int = 10

    def confidences(self, scores: np.ndarray) -> np.ndarray:
        """Confidences of the first ``head`` scores (in the order given), never rising."""
        head = np.asarray(scores[: self.head], dtype=np.float64)
        if not len(head):
            return head
        return monotone(softmax_with_null(head * self.scale, self.null_logit))


class LearnedRanker:
    """Score a candidate space with the trees and order it.

    Args:
        directory: the model directory (``resources/ranker``).
        threads: onnxruntime intra-op threads (the trees need one).

    Raises:
        ModelError: a file is missing or unreadable, or the model was trained with other
            features than this version of Cielo computes.
    """

    name = "ranker"

    def __init__(self, directory: Path, threads: int | None = 1):
        model, config = required_files(directory, (MODEL_FILE, CONFIG_FILE))
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
            calibration = data["calibration"]
            self.calibration = RankerCalibration(
                float(calibration["scale"]), float(calibration["null_logit"]),
                int(calibration["head"]),
            )
            features = tuple(data["features"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{config}: unreadable ranker configuration ({exc})") from exc
        if features != FEATURES:
            raise ModelError(
                f"{directory}: the ranker was trained with other features than this version "
                "of Cielo computes; rebuild it with `python -m training.ranker.train`"
            )
        try:
            self.session = open_session(model, threads)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"{model}: unusable ranker model ({exc})") from exc
        self.directory = directory
        self._input = self.session.get_inputs()[0].name

    def scores(self, features: np.ndarray) -> np.ndarray:
        """The model's score of each row."""
        if not len(features):
            return np.zeros(0, dtype=np.float32)
        out = self.session.run(None, {self._input: features.astype(np.float32, copy=False)})[0]
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def rank(self, space: CandidateSpace, features: np.ndarray) -> list[Candidate]:
        """The pool as candidates, valid codes first, best score first, head with confidence."""
        scores = self.scores(features)
        fused = {c.code: c for c in space.fused}
        order = sorted(
            range(len(space.pool)),
            key=lambda i: (not space.pool[i].record.valid, -float(scores[i]), i),
        )
        ordered_scores = scores[order] if len(order) else scores
        confidences = self.calibration.confidences(ordered_scores)
        out = []
        for position, i in enumerate(order):
            entry = space.pool[i]
            origin = fused.get(entry.origin)
            members = origin.retriever if origin is not None else ""
            retriever = members if entry.via == "retrieved" else f"{members}+{entry.via}"
            out.append(Candidate(
                entry.code, float(scores[i]), retriever,
                origin.matched if origin is not None else (),
                float(confidences[position]) if position < len(confidences) else None,
            ))
        return out
