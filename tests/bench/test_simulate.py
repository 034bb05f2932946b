"""bench/simulate.py: a small simulated program through the real server on SQLite, and the
accounting it reports with."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bench.crowd import KINDS, confusion, make_crowd
from bench.simulate import (
    CLASSES,
    LABELGRAPH,
    NAIVE,
    Config,
    Figures,
    Person,
    Tally,
    accuracy,
    figures,
    main,
    make_world,
    person,
    simulate,
    targets,
)
from bench.stores import SqliteStore

# A spammer that is always wrong, so its suspension does not hang on chance in a small run.
EXTREME_SPAMMER = Person(
    "spammer",
    "spammer",
    "ANNOTATOR",
    tuple(tuple(1.0 if j == (i + 1) % len(CLASSES) else 0.0 for j in range(len(CLASSES))) for i in range(len(CLASSES))),
)


def small_config() -> Config:
    crowd = (
        person("good1", "good"),
        person("medium1", "medium"),
        person("medium2", "medium"),
        person("biased", "biased"),
        EXTREME_SPAMMER,
        person("reviewer", "good", "REVIEWER"),
        person("expert", "good", "EXPERT"),
    )
    # Gold served often, and a cap the four honest annotators can always reach.
    quick = dataclasses.replace(
        LABELGRAPH,
        quality={**LABELGRAPH.quality, "maxOverlap": 3},
        gold={**(LABELGRAPH.gold or {}), "goldRate": 0.5},
    )
    return Config(items=40, seed=3, gold_share=0.4, crowd=crowd, programs=(NAIVE, quick), stall_s=30)


def test_a_small_run_decides_everything_and_suspends_the_spammer(tmp_path: Path) -> None:
    report = simulate(small_config(), SqliteStore(tmp_path))
    a, b = report.runs["a"], report.runs["b"]
    assert a.decided == b.decided == 40
    # The naive program: exactly 3 labels per item, no gold, one review per decided item.
    assert a.labels_per_item == 3.0
    assert a.gold_per_item == 0.0
    assert a.reviews_per_item == 1.0
    assert a.expert_per_item == 0.0
    assert a.spammer is None
    # Labelgraph's policy served gold questions and suspended the spammer on them.
    assert b.gold_per_item > 0
    assert b.spammer is not None
    assert b.spammer[1] >= 5  # goldMinAnswers
    for value in (a.accuracy, b.accuracy, report.ds_on_a, report.mv_on_a):
        assert 0.0 <= value <= 1.0
    text = "\n".join(report.lines())
    assert "targets:" in text
    assert "(b) accuracy" in text
    assert "labels/item" in text
    assert sum(1 for line in text.splitlines() if line.endswith((": met", ": MISSED"))) == 2


def test_accuracy_counts_missing_final_labels_as_wrong() -> None:
    truth = {"x": 0, "y": 1, "z": 2, "w": 3}
    assert accuracy({"x": 0, "y": 1, "z": 4, "gold-0001": 1}, truth) == 0.5
    assert accuracy({}, {}) == 0.0


def test_figures_count_gold_answers_among_the_human_labels_and_apart() -> None:
    tally = Tally(
        labels=Counter({"good1": 5, "spammer": 3}),
        gold_answers=Counter({"good1": 1, "spammer": 1}),
        reviews=2,
        corrections=1,
        expert_resolutions=1,
        suspended={"spammer": (3, 1)},
    )
    f = figures(tally, {"x": 0, "y": 0}, {"x": 0, "y": 1}, "spammer", 1.0)
    assert f.labels_per_item == 5.0  # (8 labels + 2 gold answers) / 2 items
    assert f.gold_per_item == 1.0
    assert f.reviews_per_item == 1.5  # reviews and expert resolutions
    assert f.expert_per_item == 0.5
    assert f.corrections_per_item == 0.5
    assert f.accuracy == 0.5
    assert f.decided == 2
    assert f.spammer == (3, 1)
    assert figures(tally, {}, {"x": 0}, None, 1.0).spammer is None


def test_targets_judge_accuracy_against_ds_and_labels_against_the_naive_program() -> None:
    def fig(acc: float, labels: float) -> Figures:
        return Figures(acc, 10, labels, 0.0, 0.0, 0.0, 0.0, None, 1.0)

    met = targets(fig(0.97, 3.0), fig(0.93, 1.8), ds_on_a=0.92)
    assert [t.met for t in met] == [True, True]
    missed = targets(fig(0.97, 3.0), fig(0.91, 2.05), ds_on_a=0.92)
    assert [t.met for t in missed] == [False, False]


def test_the_world_and_the_answers_are_seeded() -> None:
    assert make_world(50, 0.1, 7) == make_world(50, 0.1, 7)
    assert make_world(50, 0.1, 7) != make_world(50, 0.1, 8)
    world = make_world(50, 0.1, 7)
    assert len(world.truth) == 50
    assert len(world.gold) == 5
    assert not set(world.truth) & set(world.gold)
    medium = person("medium1", "medium")
    answers = [medium.answer(7, item, cls) for item, cls in world.truth.items()]
    assert answers == [medium.answer(7, item, cls) for item, cls in world.truth.items()]


def test_answers_follow_the_confusion_matrix() -> None:
    biased = person("biased", "biased")
    drawn = Counter(biased.answer(1, f"item-{i}", 3) for i in range(4000))
    assert set(drawn) == {0, 3}  # right, or the class it leans to
    assert drawn[3] / 4000 == pytest.approx(0.5, abs=0.03)


def test_confusion_is_what_make_crowd_draws_from() -> None:
    crowd = make_crowd(n_items=40_000, per_item=5, n_classes=5, n_annotators=8, seed=1)
    r = crowd.ratings
    for annotator, kind in enumerate(crowd.skill):
        mine = r.annotator == annotator
        observed = np.zeros((5, 5))
        np.add.at(observed, (crowd.truth[r.item[mine]], r.value[mine]), 1)
        observed /= observed.sum(axis=1, keepdims=True)
        assert np.abs(observed - confusion(kind, 5)).max() < 0.03, kind
    for kind in KINDS:
        assert np.allclose(confusion(kind, 5).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="unknown annotator kind"):
        confusion("saboteur", 5)


@pytest.mark.parametrize(
    "argv", [["--items", "5"], ["--store", "oracle"], ["--seed", "-1"], ["--items", "many"], ["--bogus"]]
)
def test_bad_arguments_are_one_line_and_exit_code_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
