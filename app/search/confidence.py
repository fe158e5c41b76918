"""Calibrated confidence: the probability that a result is the right code, and its name.

Without the reranker, :class:`FirstStageCalibration` turns what the first stage knows about
its best candidates (fused score, exact-alias hit, how many retrievers agree, rank) into a
softmax share over the head and a "none of these" outcome; its weights are fitted on CodiEsp
dev by ``python -m training.calibrate`` (``resources/calibration.json``). With the reranker,
``RerankerConfig.confidences`` does the same over the cross-encoder's scores. The levels'
names are what the UI and the CLI show; the reports say how often the top code is right at
each level.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.atomic import atomic_text_writer

if TYPE_CHECKING:  # types imports level_of from here
    from app.search.types import Candidate

#: ``(name, lowest probability)``, highest first; the last catches everything.
LEVELS: tuple[tuple[str, float], ...] = (("alta", 0.75), ("media", 0.4), ("baja", 0.0))
CALIBRATION_FILE = "calibration.json"
#: First-stage features, in the order of :meth:`FirstStageCalibration.features` columns.
FEATURES = ("score", "alias", "agreement", "log_rank")
RRF_SCALE = 60.0  # the fusion's damping constant: a member's rank-1 vote becomes ~1


def level_of(confidence: float) -> str:
    """The level a probability falls in. Example: ``level_of(0.9) == "alta"``"""
    for name, low in LEVELS:
        if confidence >= low:
            return name
    return LEVELS[-1][0]


def monotone(confidences: Sequence[float]) -> list[float]:
    """Confidences capped by the running minimum down the list, so that no result shows
    more confidence than the one above it (the list's order is the ranking's).

    Example: ``monotone([0.03, 0.09, 0.01]) == [0.03, 0.03, 0.01]``
    """
    out: list[float] = []
    for value in confidences:
        out.append(min(value, out[-1]) if out else value)
    return out


def softmax_with_null(logits: np.ndarray, null_logit: float) -> np.ndarray:
    """Each logit's share of a softmax over ``logits`` and ``null_logit`` (sums below 1)."""
    top = max(float(logits.max(initial=null_logit)), null_logit)
    weights = np.exp(logits - top)
    return weights / (weights.sum() + np.exp(null_logit - top))


@dataclass(frozen=True)
class FirstStageCalibration:
    """Confidence of first-stage results: ``logit = weights · features``, softmax over the
    first ``head`` candidates and ``null_logit``. The order of the results is not changed."""

    weights: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0)
    null_logit: float = 0.0
    head: int = 10

    @classmethod
    def read(cls, path: Path) -> FirstStageCalibration:
        """Read a calibration file written by :meth:`write`.

        Raises:
            ValueError: not JSON, or the wrong fields.
        """
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if tuple(data.get("features", ())) != FEATURES:
            raise ValueError(f"{path}: features {data.get('features')} are not {FEATURES}")
        return cls(tuple(float(w) for w in data["weights"]), float(data["null_logit"]),
                   int(data["head"]))

    def write(self, path: Path, **facts: object) -> None:
        """Write the calibration (with ``facts`` about how it was fitted)."""
        data = {"features": list(FEATURES), **asdict(self), **facts}
        with atomic_text_writer(Path(path)) as fh:
            fh.write(json.dumps(data, indent=2) + "\n")

    @staticmethod
    def features(candidates: Sequence[Candidate]) -> np.ndarray:
        """One row of :data:`FEATURES` per candidate (in first-stage order)."""
        rows = np.zeros((len(candidates), len(FEATURES)))
        for rank, cand in enumerate(candidates):
            members = cand.retriever.split("+")
            rows[rank] = (
                cand.score * RRF_SCALE, float("alias" in members), len(members) - 1,
                np.log1p(rank),
            )
        return rows

    def confidences(self, candidates: Sequence[Candidate]) -> np.ndarray:
        """The head's confidences, in the candidates' order."""
        logits = self.features(candidates[: self.head]) @ np.asarray(self.weights)
        return softmax_with_null(logits, self.null_logit)

    def annotate(self, candidates: list[Candidate]) -> list[Candidate]:
        """The candidates, the head's with their confidence (order unchanged; a candidate's
        confidence never exceeds the one above it: :func:`monotone`)."""
        confidences = monotone(self.confidences(candidates).tolist())
        head = [
            replace(c, confidence=float(p))
            for c, p in zip(candidates[: self.head], confidences, strict=True)
        ]
        return head + candidates[self.head :]
