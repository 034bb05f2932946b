"""Independent judgments: with overlap 2, the second annotator sees nobody else's label on its
item until it has submitted its own, by any path (the task's item, node by id), and sees every
label once it has.
"""

from __future__ import annotations

from tests.conftest import Api
from tests.workflow.flow import POSITIVE, claimed, create_project, imported, labeled, rows, submit

TASK_LABELS = """
query TaskLabels($id: ID!) {
  node(id: $id) {
    ... on Assignment {
      item { labels { id value author { username } } reviews { id } }
    }
  }
}
"""

NODE = """
query Node($id: ID!) { node(id: $id) { id } }
"""

CLAIM_WITH_LABELS = """
mutation Claim($projectId: ID!) {
  claimNextTask(input: {projectId: $projectId}) {
    assignment { id item { labels { id } } }
    errors { code }
  }
}
"""


async def test_the_second_annotator_sees_no_other_label_before_its_own(api: Api) -> None:
    project = await create_project(api, "Overlap 2", overlap=2)
    await imported(api, project, rows(1))
    first = await labeled(api, project, POSITIVE, as_="ann1")

    # The claim payload itself is the first place a UI would look.
    claim = (await api.data(CLAIM_WITH_LABELS, {"projectId": project}, as_="ann2"))["claimNextTask"]
    task = claim["assignment"]
    assert task["item"]["labels"] == []

    seen = await api.data(TASK_LABELS, {"id": task["id"]}, as_="ann2")
    assert seen["node"]["item"] == {"labels": [], "reviews": []}

    # By id, the other label does not exist for ann2 yet.
    by_id = await api.gql(NODE, {"id": first["id"]}, as_="ann2")
    assert by_id == {"data": {"node": None}}


async def test_after_submitting_both_labels_are_visible(api: Api) -> None:
    project = await create_project(api, "Overlap 2", overlap=2)
    await imported(api, project, rows(1))
    first = await labeled(api, project, POSITIVE, as_="ann1")
    task = await claimed(api, project, as_="ann2")

    second = (await submit(api, task["id"], {"sentiment": "neg"}, as_="ann2"))["label"]

    seen = await api.data(TASK_LABELS, {"id": task["id"]}, as_="ann2")
    assert seen["node"]["item"]["labels"] == [
        {"id": first["id"], "value": POSITIVE, "author": {"username": "ann1"}},
        {"id": second["id"], "value": {"sentiment": "neg"}, "author": {"username": "ann2"}},
    ]


async def test_an_annotator_who_has_not_labeled_the_item_sees_none_of_it(api: Api) -> None:
    project = await create_project(api, "Overlap 3", overlap=3)
    await imported(api, project, rows(1))
    await labeled(api, project, POSITIVE, as_="ann1")
    await labeled(api, project, {"sentiment": "neg"}, as_="ann2")

    task = await claimed(api, project, as_="ann3")

    seen = await api.data(TASK_LABELS, {"id": task["id"]}, as_="ann3")
    assert seen["node"]["item"]["labels"] == []
