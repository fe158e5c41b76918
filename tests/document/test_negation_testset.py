"""The negation and uncertainty test set: its shape, and the rules' accuracy on it."""

from __future__ import annotations

from training.negation_testset import LABELS, predict, read_cases, report_lines, score


def test_the_set_has_every_kind_and_enough_sentences() -> None:
    cases = read_cases()
    assert len(cases) >= 150
    assert {c.kind for c in cases} == {"pre", "post", "pseudo", "terminator", "uncertain",
                                       "affirmed", "list"}
    assert {c.label for c in cases} == set(LABELS)
    assert all(c.target in c.sentence for c in cases)
    assert len({(c.sentence, c.target) for c in cases}) == len(cases)


def test_accuracy_meets_the_target() -> None:
    result = score(read_cases())
    assert result["accuracy"] >= 0.90
    assert all(v["accuracy"] >= 0.85 for v in result["by_kind"].values())
    lines = report_lines(result)
    assert lines[0].startswith("Accuracy **")


def test_predict_reads_each_status() -> None:
    assert predict("Se descarta fractura de pelvis.", "fractura de pelvis") == "negated"
    assert predict("Sospecha de fractura de pelvis.", "fractura de pelvis") == "uncertain"
    assert predict("Fractura de pelvis.", "Fractura de pelvis") == "affirmed"
    assert predict("No se descarta fractura de pelvis.", "fractura de pelvis") == "uncertain"
