"""Erasure reaches the built-in model's stored fits: their vocabulary is taken from the decided
items' texts, so a subject's words could outlive its items there. An erasure drops every stored
fit of the subject's projects; versions, metrics and suggestions (classes and figures) stay."""

from __future__ import annotations

from sqlmodel import col, select

from app.automation import classifier
from app.automation.training_models import TrainingRun
from tests.automation.test_training import a_project, label_next, text, train
from tests.conftest import Api
from tests.erasure.support import erase, subject_items
from tests.workflow.flow import imported, pk

MARKER = "zorblaxian"


async def test_an_erasure_drops_the_stored_fits_that_learnt_the_subject_s_words(api: Api) -> None:
    project = await a_project(api, "erasure and the built-in model")
    truth = {f"d-{i}": "pos" if i % 2 == 0 else "neg" for i in range(20)}
    await imported(
        api, project, [{"externalId": e, "data": {"text": text(c, i)}} for i, (e, c) in enumerate(truth.items())]
    )
    mine = {f"s-{i}": "pos" for i in range(4)}
    await subject_items(
        api, project, "subject-42", [{"externalId": e, "data": {"text": f"{MARKER} great product"}} for e in mine]
    )
    await label_next(api, project, {**truth, **mine}, 24)
    [run] = (await train(api, project))["runs"]
    assert run["status"] == "SUCCEEDED"
    async with api.runtime.sessions() as session:
        [artifact] = (
            await session.scalars(select(TrainingRun.artifact).where(col(TrainingRun.project_id) == pk(project)))
        ).all()
    assert artifact is not None
    assert MARKER in classifier.loads(artifact).blocks[0].terms  # the word block learnt the subject's word

    erased = await erase(api, "subject-42")
    assert erased["errors"] == []
    assert erased["counts"]["trainedModels"] == 1

    async with api.runtime.sessions() as session:
        runs = (
            await session.execute(
                select(TrainingRun.artifact, TrainingRun.model_version_id).where(
                    col(TrainingRun.project_id) == pk(project)
                )
            )
        ).all()
    assert [(a, v is not None) for a, v in runs] == [(None, True)]  # the fit is gone, its version stays
