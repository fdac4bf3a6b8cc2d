"""Recipients over the REST API: saving, search in both scripts, CSV import."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_TOKEN, RunningHub

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

RECIPIENTS = "/api/v1/recipients"


async def add(hub: RunningHub, phone: str, name: str = "", **fields: Any) -> dict[str, Any]:
    response = await hub.post(RECIPIENTS, {"phone": phone, "name": name, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def search(hub: RunningHub, query: str) -> list[str]:
    response = await hub.client.get(
        hub.base_url + RECIPIENTS, params={"q": query},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()["items"]]


async def request(hub: RunningHub, method: str, path: str, body: Any = None) -> httpx.Response:
    return await hub.client.request(
        method, hub.base_url + path, json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )


async def test_a_recipient_is_saved_read_changed_and_deleted(hub_server: RunningHub) -> None:
    made = await add(
        hub_server, "90 123 45 67", "Dilnoza", tags=["vip"], metadata={"city": "Toshkent"}
    )
    changed = await request(hub_server, "PATCH", f"{RECIPIENTS}/{made['id']}", {"name": "Dilya"})
    read = await request(hub_server, "GET", f"{RECIPIENTS}/{made['id']}")
    deleted = await request(hub_server, "DELETE", f"{RECIPIENTS}/{made['id']}")
    gone = await request(hub_server, "GET", f"{RECIPIENTS}/{made['id']}")

    assert made["phone"] == "+998901234567"  # normalised to E.164
    assert made["id"].startswith("rcp_")
    assert (made["tags"], made["metadata"]) == (["vip"], {"city": "Toshkent"})
    assert changed.json()["name"] == read.json()["name"] == "Dilya"
    assert read.json()["metadata"] == {"city": "Toshkent"}
    assert deleted.status_code == 200
    assert gone.status_code == 404


async def test_a_number_is_saved_once_per_account(hub_server: RunningHub) -> None:
    first = await add(hub_server, "+998901234567", "A")
    again = await hub_server.post(RECIPIENTS, {"phone": "901234567", "name": "B"})
    other = (await hub_server.post("/api/v1/admin/accounts", {"name": "Other"})).json()["token"]
    elsewhere = await hub_server.post(RECIPIENTS, {"phone": "+998901234567"}, token=other)

    assert again.status_code == 422
    assert again.json()["errors"][0]["field"] == "phone"
    assert first["id"] in again.json()["errors"][0]["message"]
    assert elsewhere.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12"}, "phone"),
        ({"phone": "+998901234567", "tags": "vip"}, "tags"),
        ({"phone": "+998901234567", "metadata": {"bad key": "x"}}, "metadata"),
        ({"name": "no phone"}, "phone"),
    ],
)
async def test_a_bad_recipient_is_a_validation_error_naming_the_field(
    hub_server: RunningHub, body: dict[str, Any], field: str
) -> None:
    response = await hub_server.post(RECIPIENTS, body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith(field)


async def test_search_finds_names_in_either_script_and_any_accent_or_case(
    hub_server: RunningHub,
) -> None:
    await add(hub_server, "+998901111111", "Sherzod Aliyev")
    await add(hub_server, "+998902222222", "Шерзод Каримов")
    await add(hub_server, "+998903333333", "Oʻgʻiloy Rahimova")
    await add(hub_server, "+998904444444", "José Núñez")
    await add(hub_server, "+998905555555", "Bobur")

    assert sorted(await search(hub_server, "sherzod")) == ["Sherzod Aliyev", "Шерзод Каримов"]
    assert sorted(await search(hub_server, "ШЕРЗОД")) == ["Sherzod Aliyev", "Шерзод Каримов"]
    assert await search(hub_server, "каримов") == ["Шерзод Каримов"]
    assert await search(hub_server, "karimov") == ["Шерзод Каримов"]
    assert await search(hub_server, "o'g'iloy") == ["Oʻgʻiloy Rahimova"]
    assert await search(hub_server, "OGILOY") == ["Oʻgʻiloy Rahimova"]
    assert await search(hub_server, "jose nun") == ["José Núñez"]
    assert await search(hub_server, "bo") == ["Bobur"]  # shorter than the index's trigrams
    assert await search(hub_server, "zzz") == []


async def test_search_finds_any_fragment_of_a_number(hub_server: RunningHub) -> None:
    await add(hub_server, "+998901234567", "A")
    await add(hub_server, "+998935550101", "B")

    assert await search(hub_server, "1234") == ["A"]
    assert await search(hub_server, "+998 93 555") == ["B"]
    assert await search(hub_server, "0101") == ["B"]
    assert sorted(await search(hub_server, "998")) == ["A", "B"]


async def test_recipients_are_listed_in_pages_and_by_tag(hub_server: RunningHub) -> None:
    made = [await add(hub_server, f"+99890111000{n}", f"R{n}", tags=["t"] if n % 2 else [])
            for n in range(5)]  # fmt: skip
    first = (await hub_server.get(f"{RECIPIENTS}?limit=2")).json()
    rest = (await hub_server.get(f"{RECIPIENTS}?limit=10&cursor={first['next_cursor']}")).json()
    tagged = (await hub_server.get(f"{RECIPIENTS}?tag=t")).json()

    newest_first = [m["id"] for m in reversed(made)]
    assert [r["id"] for r in first["items"] + rest["items"]] == newest_first
    assert rest["next_cursor"] is None
    assert sorted(r["name"] for r in tagged["items"]) == ["R1", "R3"]


async def test_csv_import_keeps_good_rows_and_reports_each_bad_one_with_its_line(
    hub_server: RunningHub,
) -> None:
    csv = (
        "name,phone,tags,city\n"
        "Aziza,+998901000001,vip;new,Samarqand\n"
        "Bad number,12345,,\n"
        "Bekzod,901000002,,Buxoro\n"
        "\n"
        "Twice,+998901000001,,\n"
        "Short row,+998901000003\n"
        "Шахло,+998901000004,,Тошкент\n"
    )
    response = await hub_server.client.post(
        hub_server.base_url + f"{RECIPIENTS}/import", content=csv.encode(),
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "text/csv"},
    )  # fmt: skip
    again = await hub_server.client.post(
        hub_server.base_url + f"{RECIPIENTS}/import",
        content=b"phone,name\n+998901000002,Bekzod B.\n",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "text/csv"},
    )
    saved = (await hub_server.get(RECIPIENTS)).json()["items"]

    body = response.json()
    assert (body["created"], body["updated"], body["rejected"]) == (3, 0, 3)
    assert [(e["line"], e["reason"].split(":")[0]) for e in body["errors"]] == [
        (3, "phone"), (6, "the same number as line 2"), (7, "2 cells, the header has 4"),
    ]  # fmt: skip
    assert (again.json()["created"], again.json()["updated"]) == (0, 1)
    by_name = {r["name"]: r for r in saved}
    assert set(by_name) == {"Aziza", "Bekzod B.", "Шахло"}
    assert by_name["Aziza"]["tags"] == ["vip", "new"]
    assert by_name["Aziza"]["metadata"] == {"city": "Samarqand"}
    assert by_name["Шахло"]["metadata"] == {"city": "Тошкент"}


async def test_a_csv_without_a_phone_column_changes_nothing(hub_server: RunningHub) -> None:
    response = await hub_server.client.post(
        hub_server.base_url + f"{RECIPIENTS}/import", content=b"name,city\nA,B\n",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "text/csv"},
    )  # fmt: skip

    assert response.status_code == 422
    assert "phone" in response.json()["detail"]
    assert (await hub_server.get(RECIPIENTS)).json()["items"] == []


async def test_a_reimport_changes_only_the_columns_the_csv_has(hub_server: RunningHub) -> None:
    await add(hub_server, "+998901000001", "Ali", tags=["vip"], metadata={"city": "Xiva"})
    response = await hub_server.client.post(
        hub_server.base_url + f"{RECIPIENTS}/import", content=b"phone,shop\n+998901000001,A1\n",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "text/csv"},
    )  # fmt: skip
    (saved,) = (await hub_server.get(RECIPIENTS)).json()["items"]

    assert response.json()["updated"] == 1
    assert (saved["name"], saved["tags"]) == ("Ali", ["vip"])
    assert saved["metadata"] == {"city": "Xiva", "shop": "A1"}


async def test_an_unreadable_csv_is_a_validation_error(hub_server: RunningHub) -> None:
    huge_cell = b'phone,note\n+998901000001,"' + b"x" * 200_000 + b'"\n'
    response = await hub_server.client.post(
        hub_server.base_url + f"{RECIPIENTS}/import", content=huge_cell,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "text/csv"},
    )  # fmt: skip

    assert response.status_code == 422
    assert "CSV" in response.json()["detail"]


async def test_like_wildcards_in_a_short_query_match_only_themselves(
    hub_server: RunningHub,
) -> None:
    await add(hub_server, "+998901000001", "Ali")
    await add(hub_server, "+998901000002", "50% off")

    assert await search(hub_server, "%") == ["50% off"]
    assert await search(hub_server, "_") == []
