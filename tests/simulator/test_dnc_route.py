"""`GET /dnc`: the do-not-call entries as atoms-api.md §11 describes them."""

from tests.simulator.helpers import JS_TIME, OBJECT_ID


def test_the_seeded_entries_come_with_id_not__id_and_a_pagination_block(api):
    body = api.get("/dnc").json()
    assert body["status"] is True
    entries = body["data"]["entries"]
    assert [e["phoneNumber"] for e in entries] == ["+442079460001", "+442079460000"]  # newest
    first = entries[0]
    assert OBJECT_ID.fullmatch(first["id"]) and "_id" not in first
    assert OBJECT_ID.fullmatch(first["agentId"]) and OBJECT_ID.fullmatch(first["orgId"])
    assert first["detectedInCallId"] is None
    assert JS_TIME.fullmatch(first["createdAt"]) and JS_TIME.fullmatch(first["updatedAt"])
    assert "agentId" not in entries[1]  # organization-wide
    assert body["data"]["pagination"] == {"page": 1, "offset": 50, "total": 2,
                                          "totalPages": 1, "hasMore": False}


def test_offset_is_a_page_size_clamped_to_500_and_page_walks(api):
    page = api.get("/dnc", params={"offset": "1", "page": "2", "sortOrder": "asc"}).json()
    assert [e["phoneNumber"] for e in page["data"]["entries"]] == ["+442079460001"]
    assert page["data"]["pagination"]["hasMore"] is False
    assert api.get("/dnc", params={"offset": "9999"}).json()["data"]["pagination"][
        "offset"] == 500
    assert api.get("/dnc", params={"offset": "0"}).json()["data"]["pagination"]["offset"] == 1


def test_agent_filter_search_and_sort(api, seeded, sim):
    agent_id = api.get("/dnc").json()["data"]["entries"][0]["agentId"]
    only = api.get("/dnc", params={"agentId": agent_id}).json()["data"]["entries"]
    assert [e["phoneNumber"] for e in only] == ["+442079460001"]
    sim.add_dnc("+14155550123")
    found = api.get("/dnc", params={"search": "555 0123"}).json()["data"]["entries"]
    assert [e["phoneNumber"] for e in found] == ["+14155550123"]
    by_number = api.get("/dnc", params={"sortField": "phoneNumber", "sortOrder": "asc"})
    assert [e["phoneNumber"] for e in by_number.json()["data"]["entries"]] == [
        "+14155550123", "+442079460000", "+442079460001"]


def test_a_bad_agent_id_is_400_and_a_foreign_one_404(api):
    bad = api.get("/dnc", params={"agentId": "nope"})
    assert (bad.status_code, bad.json()["errors"]) == (400, ["Invalid input"])
    foreign = api.get("/dnc", params={"agentId": "a" * 24})
    assert (foreign.status_code, foreign.json()["errors"]) == (404, ["Resource not found"])
    assert api.get("/dnc", params={"sortField": "name"}).status_code == 400


def test_needs_the_key(sim):
    import httpx

    assert httpx.get(sim.base_url + "/dnc").status_code == 401
