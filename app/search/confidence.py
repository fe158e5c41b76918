"""Named confidence levels for the reranker's calibrated probability that a result is right.

The probability comes from ``RerankerConfig.confidences`` (calibrated on CodiEsp dev by
``training.rerank.tune``, whose report shows how often the top result is right at each
level). The names are what the UI and the CLI show.
"""

from __future__ import annotations

#: ``(name, lowest probability)``, highest first; the last catches everything.
LEVELS: tuple[tuple[str, float], ...] = (("alta", 0.75), ("media", 0.4), ("baja", 0.0))


def level_of(confidence: float) -> str:
    """The level a probability falls in. Example: ``level_of(0.9) == "alta"``"""
    for name, low in LEVELS:
        if confidence >= low:
            return name
    return LEVELS[-1][0]
