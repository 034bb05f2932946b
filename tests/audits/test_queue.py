"""What enters the audit queue: the seeded sample, each targeted rule, flags, and the policy's own
validation, all through the API on both databases."""

from __future__ import annotations

import hashlib
import math

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.audits import service as audits
from app.errors import DomainError
from app.projects.models import Project
from tests.audits.support import CLAIM_ESCALATION, RESOLVE, items, policy_set, queued, set_policy
from tests.conftest import Api
from tests.workflow.flow import audit_events, create_project, grant, imported, labeled, pk, rows

SEED = 20_261_202


def drawn(seed: int, salt: str, item_id: str, rate: float) -> bool:
    """The documented draw, computed here: blake2b-64 of "<seed>:<salt>:<item uuid>" under the rate."""
    key = f"{seed}:{salt}:{pk(item_id)}" if salt else f"{seed}:{pk(item_id)}"
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") / 2**64 < rate


async def fix_seed(api: Api, project: str, seed: int) -> None:
    async with api.runtime.sessions() as session:
        await session.execute(update(Project).where(col(Project.id) == pk(project)).values(review_seed=seed))
        await session.commit()


async def test_the_audit_sample_follows_the_rate_is_seeded_and_independent_of_the_review_sample(api: Api) -> None:
    project = await create_project(api, "Audit sample", overlap=1)
    await fix_seed(api, project, SEED)
    n, rate = 400, 0.25
    await policy_set(api, project, reviewRate=0.0, auditRate=rate)
    await imported(api, project, rows(n))
    for _ in range(n):
        await labeled(api, project, {"sentiment": "pos"}, as_="ann1")

    seen = await items(api, project)
    sample = queued(seen)
    assert all(reasons == ["SAMPLED"] for reasons in sample.values())
    # Binomial(400, 0.25): mean 100, sd 8.66; the seeded draw lands within 4 sd.
    assert abs(len(sample) - n * rate) <= 4 * math.sqrt(n * rate * (1 - rate))
    # Reproducible: exactly the items the documented draw picks for this seed, whatever the run.
    expected = {name for name, node in seen.items() if drawn(SEED, "audit", node["id"], rate)}
    assert set(sample) == expected
    # The review draw with the same seed is another sample: the audit one is salted.
    review = {name for name, node in seen.items() if drawn(SEED, "", node["id"], rate)}
    assert review != expected
    both = len(review & expected)
    # Independent draws share about n * rate^2 = 25 items (sd 4.8), not ~100.
    assert abs(both - n * rate * rate) <= 4 * math.sqrt(n * rate * rate * (1 - rate * rate))


async def test_high_impact_and_rare_classes_queue_exactly_their_decisions(api: Api) -> None:
    project = await create_project(api, "Targets", overlap=1)
    await policy_set(api, project, reviewRate=0.0, highImpactClasses={"sentiment": ["neg"]}, rareClassShare=0.1)
    values = [{"sentiment": "pos", "topics": ["price"]}] * 9 + [
        {"sentiment": "neg"},  # item-9: high impact; neg is 1/10 of the decisions, not under 0.1
        {"sentiment": "neu"},  # item-10: neu 1/11 < 0.1: rare
        {"sentiment": "neg"},  # item-11: high impact; neg 2/12
        {"sentiment": "pos", "topics": ["delivery"]},  # item-12: delivery 1/13 < 0.1: rare (a multi-choice class)
        {"sentiment": "pos", "topics": ["price"]},  # item-13: nothing
    ]
    await imported(api, project, rows(len(values)))
    for value in values:
        await labeled(api, project, value, as_="ann1")

    assert queued(await items(api, project)) == {
        "item-9": ["HIGH_IMPACT_CLASS"],
        "item-10": ["RARE_CLASS"],
        "item-11": ["HIGH_IMPACT_CLASS"],
        "item-12": ["RARE_CLASS"],
    }


async def test_low_confidence_and_expert_decisions_are_audited(api: Api) -> None:
    project = await create_project(api, "Confidence", overlap=3)
    await grant(api, "expert", "EXPERT", project)
    await policy_set(api, project, reviewRate=0.0, auditBelowConfidence=0.9, auditExpertDecisions=True)
    await set_policy(api, project, maxOverlap=3, acceptConfidence=0.6)
    await imported(api, project, rows(3))
    for annotator, answers in {"ann1": "ppp", "ann2": "ppn", "ann3": "pnu"}.items():
        for answer in answers:
            sentiment = {"p": "pos", "n": "neg", "u": "neu"}[answer]
            await labeled(api, project, {"sentiment": sentiment}, as_=annotator)

    seen = await items(api, project)
    # item-0: 3/3 agree (1.0), item-1: 2/3 (0.667 < 0.9), item-2: three answers, escalated.
    assert queued(seen) == {"item-1": ["LOW_CONFIDENCE"]}
    assert seen["item-2"]["status"] == "ESCALATED"

    claimed = (await api.data(CLAIM_ESCALATION, {"projectId": project}, as_="expert"))["claimNextEscalation"]
    item_id = claimed["escalation"]["item"]["id"]
    resolution = {"itemId": item_id, "value": {"sentiment": "neu"}, "rationale": "Flat."}
    resolved = (await api.data(RESOLVE, {"input": resolution}, as_="expert"))["resolveEscalation"]
    assert resolved["errors"] == []
    assert queued(await items(api, project)) == {"item-1": ["LOW_CONFIDENCE"], "item-2": ["EXPERT_DECISION"]}


async def test_flag_for_audit_queues_the_decision_in_force_or_adds_to_its_pending_audit(api: Api) -> None:
    project = await create_project(api, "Flags", overlap=1)
    await policy_set(api, project, reviewRate=0.0, highImpactClasses={"sentiment": ["neg"]})
    await imported(api, project, rows(3))
    await labeled(api, project, {"sentiment": "pos"}, as_="ann1")
    await labeled(api, project, {"sentiment": "neg"}, as_="ann1")
    seen = await items(api, project)

    async with api.runtime.sessions() as session:
        await audits.flag_for_audit(session, pk(seen["item-0"]["id"]), "label issue: 0.91")
        await audits.flag_for_audit(session, pk(seen["item-1"]["id"]), "label issue: 0.72")
        with pytest.raises(DomainError) as undecided:
            await audits.flag_for_audit(session, pk(seen["item-2"]["id"]), "x")
        await session.commit()
    assert [p.code for p in undecided.value.problems] == ["NOT_DECIDED"]

    after = await items(api, project)
    assert queued(after) == {"item-0": ["FLAGGED"], "item-1": ["HIGH_IMPACT_CLASS", "FLAGGED"]}
    # One pending audit per decision in force: the flag joined item-1's.
    assert len(after["item-1"]["audits"]) == 1
    assert after["item-1"]["audits"][0]["reasonDetail"] == "label issue: 0.72"


async def test_the_audit_policy_is_checked_shown_and_audited(api: Api) -> None:
    project = await create_project(api, "Audit policy", overlap=1)
    bad = await set_policy(
        api,
        project,
        auditRate=1.5,
        auditBelowConfidence=-0.1,
        rareClassShare=2.0,
        highImpactClasses={"nope": ["x"], "sentiment": ["neg", "meh"]},
    )
    assert sorted((e["code"], e["field"]) for e in bad["errors"]) == [
        ("INVALID_VALUE", "highImpactClasses.nope"),
        ("INVALID_VALUE", "highImpactClasses.sentiment.1"),
        ("OUT_OF_RANGE", "auditBelowConfidence"),
        ("OUT_OF_RANGE", "auditRate"),
        ("OUT_OF_RANGE", "rareClassShare"),
    ]
    not_a_map = await set_policy(api, project, highImpactClasses=["neg"])
    assert [(e["code"], e["field"]) for e in not_a_map["errors"]] == [("INVALID_VALUE", "highImpactClasses")]
    assert await audit_events(api, "quality.policy", project) == []

    good = await set_policy(
        api,
        project,
        auditRate=0.1,
        auditBelowConfidence=0.8,
        highImpactClasses={"sentiment": ["neg"], "topics": ["delivery"]},
        rareClassShare=0.05,
        auditExpertDecisions=True,
    )
    assert good["project"]["qualityPolicy"] == {
        "reviewRate": 1.0,
        "auditRate": 0.1,
        "auditBelowConfidence": 0.8,
        "highImpactClasses": {"sentiment": ["neg"], "topics": ["delivery"]},
        "rareClassShare": 0.05,
        "auditExpertDecisions": True,
    }
    [event] = await audit_events(api, "quality.policy", project)
    assert event["details"]["changed"] == {
        "audit_rate": 0.1,
        "audit_below_confidence": 0.8,
        "high_impact_classes": {"sentiment": ["neg"], "topics": ["delivery"]},
        "rare_class_share": 0.05,
        "audit_expert_decisions": True,
    }
