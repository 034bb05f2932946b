"""The guideline as a PDF beside its Markdown: the body, definitions and the decision tree, drawn."""

from __future__ import annotations

from app.guidelines.content import parse
from app.guidelines.pdf import diagram, layout
from tests.conftest import Api
from tests.reports.support import TREE, pdf_text, seeded


async def test_the_guideline_pdf_has_the_tree_and_the_definitions(api: Api) -> None:
    retro = await seeded(api)

    response = await api.client.get(
        f"/guidelines/{retro.project}/3.pdf", headers={"Authorization": f"Bearer {api.token('ann1')}"}
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="Retro-guideline-v3.pdf"'
    text = " ".join(pdf_text(response.content).split())
    assert "Retro — annotation guideline v3" in text
    assert "Label the meaning, not the words." in text
    assert "Sarcasm is negative now." in text
    assert "Sarcastic praise counts as negative." in text
    assert "Decision tree" in text
    for node in TREE["nodes"]:
        assert text.count(node["question"]) >= 2, node  # in the diagram and in the outline
    assert "sentiment: neutral" in text
    assert "sentiment: pos" in text


async def test_a_guideline_pdf_is_there_for_guideline_readers_only(api: Api) -> None:
    retro = await seeded(api)
    url = f"/guidelines/{retro.project}/3.pdf"

    hidden = await api.client.get(url, headers={"Authorization": f"Bearer {api.token('pm_b')}"})
    missing = await api.client.get(
        f"/guidelines/{retro.project}/9.pdf", headers={"Authorization": f"Bearer {api.token('ann1')}"}
    )
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert missing.json() == {"error": "not_found", "error_description": "No such guideline version."}
    assert (await api.client.get(url)).status_code == 401


def test_the_diagram_draws_every_question_once_and_a_box_per_decided_class() -> None:
    # Stored content spells every class's field out.
    nodes = [
        {**n, "answers": [{**a, "field": "sentiment"} if "class" in a else a for a in n["answers"]]}
        for n in TREE["nodes"]
    ]
    tree = parse({"decisionTree": {"root": TREE["root"], "nodes": nodes}}).tree
    assert tree is not None
    boxes, edges = layout(tree)
    assert [(b.text, b.layer, b.leaf) for b in boxes] == [
        ("Does the text take a side?", 0, False),
        ("sentiment: neutral", 1, True),
        ("Is it mostly favourable?", 1, False),
        ("sentiment: pos", 2, True),
        ("sentiment: neg", 2, True),
    ]
    assert [e.label for e in edges] == ["no", "yes", "yes", "no"]
    # A question two answers lead to is one box; a cycle in tolerant stored content stays finite.
    looped = parse(
        {
            "decisionTree": {
                "root": "a",
                "nodes": [
                    {
                        "id": "a",
                        "question": "A?",
                        "answers": [{"answer": "x", "next": "b"}, {"answer": "y", "next": "b"}],
                    },
                    {"id": "b", "question": "B?", "answers": [{"answer": "back", "next": "a"}]},
                ],
            }
        }
    ).tree
    assert looped is not None
    boxes, edges = layout(looped)
    assert [b.text for b in boxes] == ["A?", "B?"]
    assert len(edges) == 3
    assert diagram(looped) is not None
