"""changePassword, the admin-issued reset link and resetPassword, and the password policy."""

from __future__ import annotations

import pytest

from app.auth.password_policy import PasswordPolicy, check_password, common_passwords
from tests.auth.support import (
    CHANGE_PASSWORD,
    ISSUE_RESET,
    RESET,
    anonymous_data,
    codes,
    password_sign_in,
    refresh,
    signed_in,
    with_token,
)
from tests.conftest import PASSWORD, Api, gid
from tests.security import assert_forbidden

NEW = "amber-lantern-quietly-92"


async def test_change_password_ends_the_other_sign_ins(api: Api) -> None:
    here = await signed_in(api, "ann1", PASSWORD)
    elsewhere = await signed_in(api, "ann1", PASSWORD)

    def change(current: str, new: str) -> dict[str, object]:
        return {"input": {"currentPassword": current, "newPassword": new, "refreshToken": here["refresh_token"]}}

    wrong = await api.data(CHANGE_PASSWORD, change("not-my-password", NEW), as_="ann1")
    assert codes(wrong["changePassword"]) == ["WRONG_PASSWORD"]
    same = await api.data(CHANGE_PASSWORD, change(PASSWORD, PASSWORD), as_="ann1")
    assert codes(same["changePassword"]) == ["SAME_PASSWORD"]
    named = await api.data(CHANGE_PASSWORD, change(PASSWORD, "ANN1"), as_="ann1")
    assert codes(named["changePassword"]) == ["PASSWORD_TOO_SHORT"]
    common = await api.data(CHANGE_PASSWORD, change(PASSWORD, "1qaz2wsx3edc"), as_="ann1")
    assert codes(common["changePassword"]) == ["COMMON_PASSWORD"]

    changed = await with_token(api, here["access_token"], CHANGE_PASSWORD, change(PASSWORD, NEW))
    assert changed.json()["data"]["changePassword"] == {"signInsEnded": 1, "errors": []}

    assert (await refresh(api, elsewhere["refresh_token"])).json()["error"] == "invalid_grant"
    assert (await refresh(api, here["refresh_token"])).status_code == 200
    assert (await password_sign_in(api, "ann1", PASSWORD)).status_code == 400
    await signed_in(api, "ann1", NEW)


async def test_service_accounts_have_no_password_to_change(api: Api) -> None:
    body = await api.data(CHANGE_PASSWORD, {"input": {"currentPassword": PASSWORD, "newPassword": NEW}}, as_="mlbot")
    assert codes(body["changePassword"]) == ["WRONG_IDENTITY_KIND"]


async def test_a_reset_link_sets_a_new_password_once_and_cuts_off_the_old_sign_ins(api: Api) -> None:
    ann2 = gid("User", api.world.id("ann2"))
    before = await signed_in(api, "ann2", PASSWORD)
    in_use, old_refresh = before["access_token"], before["refresh_token"]
    assert (await with_token(api, in_use)).status_code == 200

    issued = (await api.data(ISSUE_RESET, {"input": {"userId": ann2}}, as_="admin"))["issuePasswordReset"]
    assert issued["errors"] == []
    assert issued["resetToken"]
    token = issued["resetToken"]

    weak = await anonymous_data(api, RESET, {"input": {"token": token, "password": "qwertyuiopasdfgh"}})
    assert codes(weak["resetPassword"]) in (["COMMON_PASSWORD"], ["WEAK_PASSWORD"])
    done = await anonymous_data(api, RESET, {"input": {"token": token, "password": NEW}})
    assert done["resetPassword"] == {"username": "ann2", "errors": []}

    # Issued before the reset (even within its second): refused from the next request on.
    assert (await with_token(api, in_use)).status_code == 401
    assert (await refresh(api, old_refresh)).json()["error"] == "invalid_grant"
    assert (await password_sign_in(api, "ann2", PASSWORD)).status_code == 400
    # Signing in right after the reset works, even within the second of the cut-off.
    fresh = await signed_in(api, "ann2", NEW)
    assert (await with_token(api, fresh["access_token"])).status_code == 200

    again = await anonymous_data(api, RESET, {"input": {"token": token, "password": "another-" + NEW}})
    assert codes(again["resetPassword"]) == ["INVALID_TOKEN"]


async def test_a_newer_reset_link_replaces_the_older(api: Api) -> None:
    ann2 = gid("User", api.world.id("ann2"))
    first = (await api.data(ISSUE_RESET, {"input": {"userId": ann2}}, as_="admin"))["issuePasswordReset"]
    second = (await api.data(ISSUE_RESET, {"input": {"userId": ann2}}, as_="admin"))["issuePasswordReset"]
    old = await anonymous_data(api, RESET, {"input": {"token": first["resetToken"], "password": NEW}})
    assert codes(old["resetPassword"]) == ["INVALID_TOKEN"]
    new = await anonymous_data(api, RESET, {"input": {"token": second["resetToken"], "password": NEW}})
    assert new["resetPassword"]["errors"] == []


async def test_who_gets_a_reset_link(api: Api) -> None:
    def ask(name: str) -> dict[str, object]:
        return {"input": {"userId": gid("User", api.world.id(name))}}

    assert codes((await api.data(ISSUE_RESET, ask("admin"), as_="admin"))["issuePasswordReset"]) == ["SELF_RESET"]
    bot = (await api.data(ISSUE_RESET, ask("mlbot"), as_="admin"))["issuePasswordReset"]
    assert codes(bot) == ["WRONG_IDENTITY_KIND"]
    assert_forbidden(await api.gql(ISSUE_RESET, ask("ann1"), as_="pm"))
    assert codes((await api.data(ISSUE_RESET, ask("ann1"), as_="ann2"))["issuePasswordReset"]) == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short-1", "PASSWORD_TOO_SHORT"),
        ("x" * 1025, "TOO_LONG"),
        ("Alice.Liddell", "PASSWORD_IS_NAME"),  # the username
        ("alice@example.org", "PASSWORD_IS_NAME"),  # the e-mail address
        ("alice_liddell", "PASSWORD_IS_NAME"),  # the display name, punctuation aside
        ("1q2w3e4r5t6y", "COMMON_PASSWORD"),
        ("Football1234", "WEAK_PASSWORD"),
        ("alice.liddell2024", "WEAK_PASSWORD"),  # the name and a year
        ("qwertyuiop[]", "WEAK_PASSWORD"),  # a keyboard walk
        ("correct-horse-battery", None),
        ("amber lantern quietly 92", None),
    ],
)
def test_the_password_policy(password: str, code: str | None) -> None:
    found = check_password(
        password,
        PasswordPolicy(min_length=12, min_score=3),
        username="alice.liddell",
        email="alice@example.org",
        display_name="Alice Liddell",
    )
    assert [p.code for p in found] == ([code] if code else [])


def test_the_common_list_comes_from_the_package() -> None:
    listed = common_passwords()
    assert len(listed) >= 10_000
    assert {"password", "123456", "qwerty"} <= listed


def test_the_score_can_be_turned_off() -> None:
    assert check_password("Football1234", PasswordPolicy(min_length=12, min_score=0), username="x1") == []
