"""Shared by the guideline tests: the sentiment classes, a two-question tree, property settings."""

from __future__ import annotations

from hypothesis import settings

from app.guidelines.content import Answer, ClassRef, DecisionNode, DecisionTree

PROPERTY = settings(database=None, deadline=None, max_examples=200)

POS, NEG, NEU = ClassRef("sentiment", "pos"), ClassRef("sentiment", "neg"), ClassRef("sentiment", "neu")
TREE = DecisionTree(
    "q1",
    (
        DecisionNode("q1", "Opinion?", (Answer("no", None, NEU), Answer("yes", "q2", None))),
        DecisionNode("q2", "Favourable?", (Answer("yes", None, POS), Answer("no", None, NEG))),
    ),
)
