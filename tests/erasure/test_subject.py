"""eraseSubject, on both databases: a marker planted in everything written about a subject's items
(data, metadata, label rationale and free-text value, review comment and correction, the
decision made from it, a comment and its mention, an escalation reason, a QA audit's comment, a
model suggestion) is nowhere in the database afterwards; ids, class values and counts remain,
exports and queries show the tombstone, and another subject's items are untouched."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from app.audits import service as audits
from app.audits.models import AuditStatus, QaAudit
from app.automation.models import Model, ModelKind, ModelVersion, SpotCheck, Suggestion
from app.ingestion.models import Item
from app.workflow.models import AggregationMethod, Decision, Escalation, QualityModel
from tests.conftest import Api, gid
from tests.discussion.support import ADD, PROMOTE
from tests.erasure.support import ITEM, TEXT_SCHEMA, erase, lines, subject_items, text_project, where_marker
from tests.workflow.flow import audit_events, claim, claimed, codes, grant, pk, review, submit

PROPOSE = """
mutation P($input: ProposeSchemaChangeInput!) { proposeSchemaChange(input: $input) { errors { code field message } } }
"""
PUBLISH = "mutation P($input: PublishGuidelineInput!) { publishGuideline(input: $input) { errors { code } } }"
COUNTS = "query C($id: ID!) { project(id: $id) { itemCounts { queued final withdrawn total } } }"
MARKER = "zq-marker-7f3a"
OTHER = "zq-other-19bc"


async def planted(api: Api) -> dict[str, Any]:
    """Project with subj-x's x-1 decided (labeled, corrected, commented on, escalated, audited,
    suggested for), x-2 claimed and open; subj-y's y-1 holds the other marker."""
    project = await text_project(api)
    await subject_items(
        api,
        project,
        "subj-x",
        [
            {"externalId": "x-1", "data": {"text": f"said {MARKER}"}, "metadata": {"by": MARKER}, "priority": 9},
            {"externalId": "x-2", "data": {"text": f"more {MARKER}"}, "priority": 8},
        ],
    )
    await subject_items(api, project, "subj-y", [{"externalId": "y-1", "data": {"text": OTHER}, "priority": 1}])
    task = await claimed(api, project, as_="ann1")
    assert task["item"]["externalId"] == "x-1"
    label = await submit(
        api, task["id"], {"sentiment": "pos", "note": f"note {MARKER}"}, as_="ann1", rationale=f"because {MARKER}"
    )
    assert label["errors"] == [], label
    corrected = await review(
        api,
        label["label"]["id"],
        "CORRECT",
        comment=f"fixed {MARKER}",
        corrected_value={"sentiment": "neg", "note": f"better {MARKER}"},
    )
    assert corrected["errors"] == [], corrected
    item_id = task["item"]["id"]
    comment = await api.data(
        ADD,
        {"input": {"itemId": item_id, "body": f"look {MARKER}", "mentions": [gid("User", api.world.id("reviewer"))]}},
        as_="pm",
    )
    assert comment["addComment"]["errors"] == [], comment
    # A schema proposal's impact report keeps example values: the label's and the decision's.
    proposed_schema = {"fields": [*TEXT_SCHEMA["fields"][:2], {"name": "note", "kind": "text", "max_length": 5}]}
    proposed = await api.data(
        PROPOSE,
        {"input": {"projectId": project, "definition": proposed_schema, "rationale": "Shorter notes."}},
        as_="pm",
    )
    assert proposed["proposeSchemaChange"]["errors"] == [], proposed
    open_task = await claimed(api, project, as_="ann2")
    assert open_task["item"]["externalId"] == "x-2"
    async with api.runtime.sessions() as session:
        item = await session.get(Item, pk(item_id))
        assert item is not None
        decision = await session.scalar(select(Decision).where(Decision.item_id == item.id))
        assert decision is not None
        session.add(Escalation(project_id=item.project_id, item_id=item.id, reason=f"split {MARKER}", confidence=0.5))
        session.add(
            QaAudit(
                project_id=item.project_id,
                item_id=item.id,
                decision_id=decision.id,
                decision_version=decision.version,
                reason_detail=f"flagged {MARKER}",
                comment=f"audited {MARKER}",
                status=AuditStatus.DONE,
            )
        )
        model = Model(
            project_id=item.project_id, name="m", kind=ModelKind.EXTERNAL, registered_by=api.world.id("mlbot")
        )
        session.add(model)
        await session.flush()
        version = ModelVersion(
            model_id=model.id, project_id=item.project_id, version="1", registered_by=api.world.id("mlbot")
        )
        session.add(version)
        await session.flush()
        suggestion = Suggestion(
            project_id=item.project_id,
            item_id=item.id,
            model_version_id=version.id,
            value={"sentiment": "pos", "note": f"model {MARKER}"},
            confidence=0.9,
            per_field={"sentiment": 0.9},
            # A model's free text about the item: erased like any other.
            explanation=f"the text says {MARKER}",
            schema_version_id=decision.schema_version_id,
            created_by=api.world.id("mlbot"),
        )
        session.add(suggestion)
        await session.flush()
        # A spot check of auto-accept keeps a copy of the suggestion's value.
        session.add(
            SpotCheck(
                item_id=item.id,
                project_id=item.project_id,
                suggestion_id=suggestion.id,
                model_version_id=version.id,
                value=dict(suggestion.value),
                confidence=0.9,
            )
        )
        # A WEIGHTED estimate of the text field lists the texts it saw as classes.
        session.add(
            QualityModel(
                project_id=item.project_id,
                field="note",
                method=AggregationMethod.WEIGHTED,
                classes=[f'"note {MARKER}"'],
                prior=[1.0],
            )
        )
        await session.commit()
    return {
        "project": project,
        "item": item_id,
        "label": label["label"]["id"],
        "open": open_task["id"],
        "comment": comment["addComment"]["comment"]["id"],
    }


async def promoted_twice(api: Api, scene: dict[str, Any]) -> None:
    """The comment's thread quoted into a guideline edge case, published, then copied into the next draft."""
    thread = {"itemId": scene["item"], "commentId": scene["comment"]}
    for title in ("Looks", "Looks again"):
        promoted = await api.data(PROMOTE, {"input": {**thread, "title": title}}, as_="pm")
        assert promoted["promoteToGuideline"]["errors"] == [], promoted
        if title == "Looks":
            published = await api.data(
                PUBLISH, {"input": {"projectId": scene["project"], "changelog": "Looks."}}, as_="pm"
            )
            assert published["publishGuideline"]["errors"] == [], published


async def test_no_copy_of_the_subject_s_content_is_left_anywhere(api: Api) -> None:
    await promoted_twice(api, await planted(api))
    before = await where_marker(api, MARKER)
    # The search finds what was planted (so an empty answer afterwards means something).
    planted_in = {
        "item",
        "label",
        "review",
        "decision",
        "comment",
        "escalation",
        "qa_audit",
        "suggestion",
        "spot_check",
        "quality_model",
        "guideline_version",
    }
    assert planted_in | {"schema_change_request"} <= set(before)
    assert sorted(before["suggestion"]) == ["explanation", "value"]  # the model's text field and its own words

    erased = await erase(api, "subj-x")

    assert erased["errors"] == []
    assert erased["counts"] == {
        "items": 2,
        "itemsWithdrawn": 1,  # x-2, undecided; x-1 keeps its decision
        "assignmentsCancelled": 1,
        "labels": 1,
        "reviews": 1,
        "decisions": 1,
        "comments": 1,
        "mentions": 1,
        "escalations": 1,
        "audits": 1,
        "suggestions": 1,
        "goldAnswers": 0,
        "guidelineEdgeCases": 3,  # the published version's one, the draft's two
        "trainedModels": 0,  # no built-in model was trained here (tests/erasure/test_trained_models.py)
    }
    assert await where_marker(api, MARKER) == {}
    # The other subject keeps its content.
    assert set(await where_marker(api, OTHER)) == {"item"}


async def test_lineage_and_counts_still_add_up(api: Api) -> None:
    scene = await planted(api)
    counts_before = (await api.data(COUNTS, {"id": scene["project"]}, as_="pm"))["project"]["itemCounts"]
    shown_before = (await api.data(ITEM, {"id": scene["item"]}, as_="pm"))["node"]

    await erase(api, "subj-x")

    shown = (await api.data(ITEM, {"id": scene["item"]}, as_="pm"))["node"]
    assert shown["data"] == {"erased": True}
    assert shown["metadata"] == {}
    assert shown["erasedAt"] is not None
    assert shown["status"] == "FINAL"
    assert (shown["externalId"], shown["contentHash"]) == (shown_before["externalId"], shown_before["contentHash"])
    [label] = shown["labels"]
    assert label["id"] == scene["label"]
    assert label["value"] == {"sentiment": "pos", "note": "[erased]"}  # the class stays, the words go
    assert label["rationale"] == "[erased]"
    [comment] = shown["comments"]  # a deleted comment's tombstone: replies would still hang together
    assert (comment["body"], comment["mentions"]) == (None, [])
    assert comment["deletedAt"] is not None
    counts = (await api.data(COUNTS, {"id": scene["project"]}, as_="pm"))["project"]["itemCounts"]
    assert counts["total"] == counts_before["total"] == 3
    assert counts == {"queued": 1, "final": 1, "withdrawn": 1, "total": 3}


async def test_the_export_shows_the_tombstone(api: Api) -> None:
    scene = await planted(api)

    await erase(api, "subj-x")

    exported = await api.client.get(
        f"/export/{scene['project']}.jsonl", headers={"Authorization": f"Bearer {api.token('pm')}"}
    )
    assert exported.status_code == 200
    assert MARKER not in exported.text
    # The decision stays (counts add up), its line carries no content, labels or review any more.
    [line] = lines(exported.text)
    assert line == {"item_id": str(pk(scene["item"])), "decision_version": 1, "tombstone": "ERASED"}


async def test_the_subject_s_open_tasks_are_cancelled_and_its_items_leave_the_queue(api: Api) -> None:
    scene = await planted(api)

    await erase(api, "subj-x")

    assert codes(await submit(api, scene["open"], {"sentiment": "pos"}, as_="ann2")) == [
        ("ASSIGNMENT_CANCELLED", "assignmentId")
    ]
    task = await claimed(api, scene["project"], as_="ann3")
    assert task["item"]["externalId"] == "y-1"
    assert codes(await claim(api, scene["project"], as_="ann2")) == [("QUEUE_EMPTY", "projectId")]


async def test_the_erasure_is_recorded_and_audited_without_content(api: Api) -> None:
    await planted(api)

    erased = await erase(api, "subj-x", reason="Subject asked on 2026-11-30.")

    [event] = await audit_events(api, "subject.erase")
    assert event["entityId"] == str(pk(erased["erasureId"]))
    assert event["details"]["items"] == 2
    assert MARKER not in str(event)
    assert event["details"]["projects"] == 1


async def test_an_unknown_subject_erases_nothing_and_is_still_recorded(api: Api) -> None:
    erased = await erase(api, "subj-nobody")

    assert erased["errors"] == []
    assert erased["counts"]["items"] == 0
    assert len(await audit_events(api, "subject.erase")) == 1


async def test_bad_input_is_a_typed_error_and_writes_nothing(api: Api) -> None:
    from tests.security import database_state

    before = await database_state(api)

    bad_ref = await erase(api, "someone@example.org")
    no_reason = await erase(api, "subj-x", reason="  ")
    too_long = await erase(api, "subj-x", reason="x" * 1001)

    assert codes(bad_ref) == [("INVALID_SUBJECT_REF", "subjectRef")]
    assert codes(no_reason) == [("REQUIRED", "reason")]
    assert codes(too_long) == [("TOO_LONG", "reason")]
    assert await database_state(api) == before


async def test_only_compliance_officers_erase_subjects(api: Api) -> None:
    body = await api.gql(
        "mutation E($input: EraseSubjectInput!) { eraseSubject(input: $input) { erasureId } }",
        {"input": {"subjectRef": "subj-x", "reason": "x"}},
        as_="admin",
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


CLAIM_AUDIT = """
mutation Q($input: ClaimNextAuditInput!) { claimNextAudit(input: $input) { resumed errors { code } } }
"""


async def test_an_erased_decided_item_leaves_the_audit_queue_even_when_claimed(api: Api) -> None:
    scene = await planted(api)
    await grant(api, "qa", "QA_AUDITOR", scene["project"])
    async with api.runtime.sessions() as session:
        await audits.flag_for_audit(session, pk(scene["item"]), "suspected label issue")
        await session.commit()
    claimed_audit = await api.data(CLAIM_AUDIT, {"input": {"projectId": scene["project"]}}, as_="qa")
    assert claimed_audit["claimNextAudit"]["errors"] == [], claimed_audit

    await erase(api, "subj-x")

    again = await api.data(CLAIM_AUDIT, {"input": {"projectId": scene["project"]}}, as_="qa")
    assert again["claimNextAudit"]["errors"] == [{"code": "QUEUE_EMPTY"}]
