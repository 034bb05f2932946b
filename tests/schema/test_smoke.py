from tests.conftest import Api, gid


async def test_viewer_lists_own_roles(api: Api) -> None:
    data = await api.data("{ viewer { username roles { role projectId } } }", as_="pm")
    assert data["viewer"] == {
        "username": "pm",
        "roles": [{"role": "PROJECT_MANAGER", "projectId": gid("Project", api.world.project_a)}],
    }
