"""The trainer's closing diagnostic: which class its validation errors fall in."""

from __future__ import annotations

from trainer.reporting import describe_errors


def test_errors_are_counted_per_true_class_and_name_the_class_they_were_taken_for():
    labels = [0, 0, 0, 0, 1, 1, 1]
    scores = [0.9, 0.7, 0.2, 0.5, 0.6, 0.51, 0.1]  # 0.5 is class 0: the sigmoid must exceed it
    assert describe_errors(labels, scores, ("horses", "humans")) == (
        "horses: 2 of 4 called humans; humans: 1 of 3 called horses"
    )


def test_a_perfect_model_has_no_errors():
    assert describe_errors([0, 1], [0.0, 1.0], ("a", "b")) == "a: 0 of 1 called b; b: 0 of 1 called a"
