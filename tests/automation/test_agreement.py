"""Agreement with a model measured apart for tasks that showed it and tasks that showed nothing
(anchoring bias), from real labels submitted through the API, on both databases."""

from __future__ import annotations

from typing import Any

from tests.automation.support import AGREEMENT, claim, items, label, pushed, row, set_policy
from tests.conftest import Api
from tests.workflow.flow import project_a


async def agreement(api: Api, model: str = "m", version: str | None = None, *, as_: str = "qa") -> dict[str, Any]:
    data = await api.data(AGREEMENT, {"id": project_a(api), "model": model, "version": version}, as_=as_)
    found: dict[str, Any] = data["project"]["modelAgreement"]
    return found


def figure(labels: int, agreeing: int) -> dict[str, Any]:
    rate = agreeing / labels if labels else None
    fields = [{"field": "sentiment", "labels": labels, "agreeing": agreeing, "rate": rate}] if labels else []
    return {"labels": labels, "agreeing": agreeing, "rate": rate, "fields": fields}


async def labeled(api: Api, annotator: str, sentiment: str, *, showing: bool) -> dict[str, Any]:
    task = await claim(api, as_=annotator, showing=showing)
    await label(api, task["id"], sentiment, as_=annotator)
    return task


async def test_agreement_is_measured_apart_for_shown_and_not_shown_tasks(api: Api) -> None:
    await items(api, ["a-1", "a-2", "a-3", "a-4", "a-5", "a-6", "a-7"])
    model = {"a-1": "pos", "a-2": "pos", "a-3": "neg", "a-4": "neg", "a-5": "pos", "a-6": "neu"}
    await pushed(api, [row(ext, cls) for ext, cls in model.items()], model="m", version="1")
    await pushed(api, [row("a-4", "neg"), row("a-7", "neu")], model="lex", version="1")

    # NEVER: nothing shown; two of three labels agree with the model.
    assert (await labeled(api, "ann1", "pos", showing=True))["item"]["externalId"] == "a-1"
    assert (await labeled(api, "ann2", "neg", showing=True))["item"]["externalId"] == "a-2"
    assert (await labeled(api, "ann3", "neg", showing=True))["item"]["externalId"] == "a-3"
    # ALWAYS: a-4 and a-5 shown (both follow the model); a-6's client never asked (not shown, disagrees);
    # a-7's task showed only lex, and m suggests for it only afterwards.
    await set_policy(api, "ALWAYS")
    shown = await labeled(api, "ann1", "neg", showing=True)
    assert [s["modelName"] for s in shown["suggestions"]] == ["lex", "m"]
    assert len((await labeled(api, "ann2", "pos", showing=True))["suggestions"]) == 1
    assert (await labeled(api, "ann3", "pos", showing=False))["item"]["externalId"] == "a-6"
    only_lex = await labeled(api, "ann1", "pos", showing=True)
    assert [s["modelName"] for s in only_lex["suggestions"]] == ["lex"]
    await pushed(api, [row("a-7", "pos")], model="m", version="1")

    found = await agreement(api)

    assert found == {
        "modelName": "m",
        "modelVersion": None,
        "otherShown": 1,
        "shown": figure(2, 2),
        "notShown": figure(4, 2),
    }
    # lex: a-4 shown (agrees), a-7 shown (disagrees: neu against pos).
    assert (await agreement(api, "lex"))["shown"] == figure(2, 1)

    # A second version: a label shown nothing is compared with the latest version on its item.
    await pushed(api, [row("a-1", "neg")], model="m", version="2")
    assert (await agreement(api))["notShown"] == figure(4, 1)
    assert (await agreement(api, version="2")) == {
        "modelName": "m",
        "modelVersion": "2",
        "otherShown": 0,
        "shown": figure(0, 0),
        "notShown": figure(1, 0),
    }
    # Shown labels stay compared with the version their task showed.
    assert (await agreement(api))["shown"] == figure(2, 2)


async def test_an_unknown_model_or_version_is_null(api: Api) -> None:
    await items(api, ["a-1"])
    await pushed(api, [row("a-1")], model="m", version="1")

    assert await agreement(api, "nobody") is None
    assert await agreement(api, "m", "9") is None
    assert (await agreement(api, "m", as_="pm"))["notShown"] == figure(0, 0)
