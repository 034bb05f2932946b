"""The structured part of the demo guideline: what a labeling UI shows next to each class."""

from __future__ import annotations

from typing import Any


def _define(field: str, **texts: str) -> list[dict[str, str]]:
    return [{"field": field, "class": name, "definition": text} for name, text in texts.items()]


def _examples(name: str, positive: list[str], negative: list[tuple[str, str]]) -> list[dict[str, str]]:
    shown = [{"field": "sentiment", "class": name, "polarity": "POSITIVE", "text": text} for text in positive]
    return shown + [
        {"field": "sentiment", "class": name, "polarity": "NEGATIVE", "text": text, "note": note}
        for text, note in negative
    ]


GUIDELINE_CONTENT: dict[str, Any] = {
    "definitions": _define(
        "sentiment",
        positive="Satisfied overall; praise with a small wish stays positive.",
        negative="Dissatisfied: a defect, a return, a complaint, disappointment.",
        neutral="No opinion either way: questions, plain facts, lukewarm verdicts without specifics.",
        mixed="A clear positive and a clear negative of similar weight, neither winning.",
    )
    + _define(
        "topics",
        price="Cost, value for money, sales, subscriptions.",
        quality="How well it works or is made, defects out of the box.",
        delivery="Shipping time, packaging, missing parts, damage in transit.",
        durability="How it holds up after weeks or months.",
        support="Customer service, warranty, returns, exchanges, spare parts.",
        usability="Set-up, controls, apps, cleaning, day-to-day handling.",
    ),
    "examples": _examples(
        "positive",
        ["Good sound, battery lasts forever. Wish the case was smaller."],
        [("Does the job.", "Lukewarm without specifics is neutral.")],
    )
    + _examples(
        "negative",
        ["It stopped working after a week, what are the next steps?"],
        [("Sound 10/10. Microphone 3/10.", "Good and bad of similar weight is mixed.")],
    )
    + _examples(
        "mixed",
        ["Sound 10/10. Microphone 3/10."],
        [("Comfortable, but I'm returning them.", "A dealbreaker wins: negative.")],
    ),
    "edgeCases": [
        {"title": "Sarcasm", "description": "Label what the writer means, not the words.", "class": "negative"},
        {"title": "Updated reviews", "description": "Label the latest opinion; fixed by support is usually mixed."},
        {"title": "Someone else's opinion", "description": "'My mum says ...' counts as the writer's opinion."},
    ],
    "decisionTree": {
        "root": "opinion",
        "nodes": [
            {
                "id": "opinion",
                "question": "Does the writer say something good or bad about the product or the company?",
                "answers": [{"answer": "no", "class": "neutral"}, {"answer": "yes", "next": "dealbreaker"}],
            },
            {
                "id": "dealbreaker",
                "question": "Is there a dealbreaker (a return, a defect, a refund)?",
                "answers": [{"answer": "yes", "class": "negative"}, {"answer": "no", "next": "balance"}],
            },
            {
                "id": "balance",
                "question": "Are good and bad points of similar weight?",
                "answers": [{"answer": "yes", "class": "mixed"}, {"answer": "no", "next": "side"}],
            },
            {
                "id": "side",
                "question": "Which side wins?",
                "answers": [{"answer": "good", "class": "positive"}, {"answer": "bad", "class": "negative"}],
            },
        ],
    },
}
