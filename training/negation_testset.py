"""Accuracy of document mode's negation and uncertainty rules on a labelled Spanish test set.

    python -m training.negation_testset [--data training/data/negation_es.tsv]

``training/data/negation_es.tsv`` (written for this project: invented sentences, no patient
data) holds one finding per row: ``sentence, target, label, kind``. ``label`` is
``negated``, ``uncertain`` or ``affirmed``; ``kind`` groups the cases: ``pre`` (a cue before
the finding: "no", "sin", "niega", "se descarta", "ausencia de", "negativo para"), ``post``
("negativos", "descartada", "ausentes" after it), ``pseudo`` (pseudo-negations that negate
nothing: "no se descarta", "sin embargo", "gram negativo", "no Hodgkin"), ``terminator``
(a negation whose scope ends before the finding: "pero", ";", a new verb), ``uncertain``
("probable", "sospecha de", "compatible con", "a descartar", "en estudio"), ``affirmed`` (no
cue) and ``list`` (findings listed under one negation). The target is the first occurrence of
``target`` in ``sentence``; the prediction is ``negated`` when a negation scope governs it
(:mod:`app.document.negation`), else ``uncertain`` when a cue of doubt does
(:mod:`app.document.uncertainty`), else ``affirmed``.

Caveat: the sentences were written by the engineer who wrote the uncertainty cues, in the
same session, so the figure is an optimistic check of the rules, not an independent
measure; cues were not changed after the set was scored.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.document.negation import governing_scope, negation_scopes
from app.document.uncertainty import uncertain_cue, uncertainty_scopes

DEFAULT_DATA = Path(__file__).resolve().parent / "data" / "negation_es.tsv"
LABELS = ("negated", "uncertain", "affirmed")


@dataclass(frozen=True)
class Case:
    """One labelled finding in one sentence."""

    sentence: str
    target: str
    label: str
    kind: str


def read_cases(path: Path = DEFAULT_DATA) -> list[Case]:
    """The test set's rows.

    Raises:
        ValueError: a row whose label is unknown or whose target is not in its sentence.
    """
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    cases = [Case(r["sentence"], r["target"], r["label"], r["kind"]) for r in rows]
    for n, case in enumerate(cases, 2):
        if case.label not in LABELS or case.target not in case.sentence:
            raise ValueError(f"{path}: line {n}: bad label or target not in the sentence")
    return cases


def predict(sentence: str, target: str) -> str:
    """``negated``, ``uncertain`` or ``affirmed`` for the first ``target`` in ``sentence``.

    Example: ``predict("Se descarta neumonía.", "neumonía") == "negated"``
    """
    start = sentence.index(target)
    end = start + len(target)
    if governing_scope(negation_scopes(sentence), start, end) is not None:
        return "negated"
    if uncertain_cue(uncertainty_scopes(sentence), start, end) is not None:
        return "uncertain"
    return "affirmed"


def score(cases: Sequence[Case]) -> dict:
    """Accuracy overall, per kind and per gold label; the confusion counts and the errors."""
    predicted = [predict(c.sentence, c.target) for c in cases]
    right = [p == c.label for p, c in zip(predicted, cases, strict=True)]

    def accuracy(keep: Sequence[bool]) -> dict:
        n = sum(keep)
        ok = sum(r for r, k in zip(right, keep, strict=True) if k)
        return {"n": n, "correct": ok, "accuracy": ok / n if n else 0.0}

    kinds = sorted({c.kind for c in cases})
    return {
        "sentences": len(cases),
        "accuracy": sum(right) / len(cases) if cases else 0.0,
        "by_kind": {k: accuracy([c.kind == k for c in cases]) for k in kinds},
        "by_label": {k: accuracy([c.label == k for c in cases]) for k in LABELS},
        "confusion": {
            f"{gold}->{guess}": n
            for (gold, guess), n in sorted(Counter(
                (c.label, p) for c, p in zip(cases, predicted, strict=True)).items())
        },
        "errors": [
            {"sentence": c.sentence, "target": c.target, "label": c.label, "predicted": p}
            for c, p, r in zip(cases, predicted, right, strict=True) if not r
        ],
    }


def report_lines(result: dict) -> list[str]:
    """Markdown lines of a :func:`score` result."""
    lines = [
        f"Accuracy **{result['accuracy']:.3f}** on {result['sentences']} sentences "
        "(`training/data/negation_es.tsv`, written for this project; "
        "`python -m training.negation_testset`).",
        "",
        "| group | n | accuracy |",
        "|---|---|---|",
    ]
    for name, group in (("kind", result["by_kind"]), ("label", result["by_label"])):
        for key, v in group.items():
            lines.append(f"| {name} `{key}` | {v['n']} | {v['accuracy']:.3f} |")
    if result["errors"]:
        lines += ["", "Errors (gold -> predicted):", ""]
        lines += [f"- {e['sentence']} [{e['target']}]: {e['label']} -> {e['predicted']}"
                  for e in result["errors"]]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: prints the report, writes nothing."""
    parser = argparse.ArgumentParser(prog="python -m training.negation_testset",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    args = parser.parse_args(argv)
    result = score(read_cases(args.data))
    if args.json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(report_lines(result)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
