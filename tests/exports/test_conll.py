"""CoNLL-2003 style BIO for a spans field, read back with a small CoNLL reader; spans that cut a
token are snapped outward to whole tokens."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from app.exports.conll import tag
from tests.conftest import Api
from tests.exports.support import exported, kinds_program


def read_conll(text: str) -> list[list[tuple[str, str]]]:
    """Documents of (token, tag): each opened by a -DOCSTART- line, tokens one per line, blank lines between."""
    documents: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        token, label = line.split("\t")
        if token == "-DOCSTART-":
            documents.append([])
            continue
        assert label == "O" or label[:2] in ("B-", "I-"), line
        documents[-1].append((token, label))
    return documents


async def test_spans_become_bio_tags_over_whitespace_tokens(api: Api) -> None:
    project = await kinds_program(api)

    response = await exported(api, project, "conll")  # the schema's only spans field

    assert response.headers["content-disposition"] == 'attachment; filename="Notes.conll"'
    assert response.text.startswith("-DOCSTART-\tO\n\n")
    documents = read_conll(response.text)
    assert sorted(documents) == sorted(
        [
            [("Ada", "B-PER"), ("Lovelace", "I-PER"), ("met", "O"), ("Babbage", "B-ORG")],
            # The span "ace Ho" cut both tokens: snapped out to the whole of them.
            [("Grace", "B-PER"), ("Hopper", "I-PER"), ("wrote", "O"), ("code", "O")],
        ]
    )


async def test_spacy_lines_keep_the_offsets_as_labeled(api: Api) -> None:
    project = await kinds_program(api)

    response = await exported(api, project, "spacy")

    assert response.headers["content-disposition"] == 'attachment; filename="Notes-spacy.jsonl"'
    lines = {line["meta"]["external_id"]: line for line in map(json.loads, response.text.splitlines())}
    assert [(s["label"], lines["note-0"]["text"][s["start"] : s["end"]]) for s in lines["note-0"]["spans"]] == [
        ("PER", "Ada Lovelace"),
        ("ORG", "Babbage"),
    ]
    # Not snapped here: the reader's aligner decides (spaCy: Doc.char_span(..., alignment_mode="expand")).
    assert lines["note-1"]["spans"] == [{"start": 2, "end": 8, "label": "PER"}]


def test_overlapping_spans_leave_shared_tokens_to_the_earlier_span() -> None:
    text = "New York City Hall"
    spans = [{"start": 9, "end": 18, "label": "ORG"}, {"start": 0, "end": 13, "label": "LOC"}]

    assert tag(text, spans) == [("New", "B-LOC"), ("York", "I-LOC"), ("City", "I-LOC"), ("Hall", "B-ORG")]


@given(st.lists(st.sampled_from(["a", "bb", "ccc", " ", "  ", "\n"]), max_size=12), st.data())
def test_every_token_is_tagged_once_and_i_never_opens_an_entity(parts: list[str], data: st.DataObject) -> None:
    text = "".join(parts)
    spans = []
    if text:
        for _ in range(data.draw(st.integers(0, 3))):
            start = data.draw(st.integers(0, len(text) - 1))
            end = data.draw(st.integers(start + 1, len(text)))
            spans.append({"start": start, "end": end, "label": data.draw(st.sampled_from(["A", "B"]))})

    tagged = tag(text, spans)

    assert [token for token, _ in tagged] == text.split()
    previous = "O"
    for _, label in tagged:
        if label.startswith("I-"):
            assert previous != "O"
            assert previous[2:] == label[2:]
        previous = label
