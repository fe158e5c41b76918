"""What the training loops share: the learning-rate schedule and the loss summary."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


def warmup_cosine(steps: int, warmup: float) -> Callable[[int], float]:
    """A ``LambdaLR`` factor: linear warm-up over ``warmup`` of ``steps``, then cosine to 0.

    Example: ``warmup_cosine(100, 0.1)(9) == 1.0``
    """
    warm = max(1, int(steps * warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))

    return factor


def loss_summary(history: Sequence[float], window: int = 10) -> dict:
    """Mean loss of the first and last ``window`` steps, and every step's loss (rounded)."""
    first, last = history[:window], history[-window:]
    return {
        "loss_first": round(sum(first) / max(1, len(first)), 4),
        "loss_last": round(sum(last) / max(1, len(last)), 4),
        "loss": [round(x, 4) for x in history],
    }
