"""`/audience` routes: CSV upload rules, listing, members paging, search, add and remove."""

import pytest

from tests.simulator.helpers import JS_TIME, MUMBAI, OBJECT_ID, PILOT, US, create

CSV = b"firstName,lastName,phoneNumber\nAsha,Rao,+919800000001\nJohn,Doe,+15550001234\n"


def upload(api, content=CSV, **fields):
    form = {"name": "March leads", "phoneNumberColumnName": "phoneNumber", **fields}
    form = {key: value for key, value in form.items() if value is not None}
    files = {"file": ("contacts.csv", content, "text/csv")} if content is not None else None
    if files is None:
        # httpx sends urlencoded without files; force multipart like the SDK does.
        files = {"unused": ("", b"", "text/plain")}
    return api.post("/audience", data=form, files=files)


def test_upload_creates_an_audience_with_200(api):
    response = upload(api, description="From the CRM", identifierColumnName="firstName")
    assert response.status_code == 200
    data = response.json()["data"]
    assert OBJECT_ID.fullmatch(data["_id"])
    assert data["name"] == "March leads"
    assert data["description"] == "From the CRM"
    assert data["phoneNumberColumnName"] == "phoneNumber"
    assert data["identifierColumnName"] == "firstName"
    assert JS_TIME.fullmatch(data["createdAt"])
    assert "memberCount" not in data
    members = api.get(f"/audience/{data['_id']}/members").json()["data"]["members"]
    assert members[0]["data"] == {
        "firstName": "Asha",
        "lastName": "Rao",
        "phoneNumber": "+919800000001",
    }


def test_upload_keeps_a_utf8_bom_and_crlf_out_of_the_data(api):
    content = "\ufeffname,phone\r\nZoë,+15550001111\r\n".encode()
    response = upload(api, content=content, phoneNumberColumnName="phone")
    assert response.status_code == 200
    audience_id = response.json()["data"]["_id"]
    members = api.get(f"/audience/{audience_id}/members").json()["data"]["members"]
    assert members[0]["data"] == {"name": "Zoë", "phone": "+15550001111"}


@pytest.mark.parametrize(
    ("content", "fields", "message"),
    [
        (None, {}, "CSV file is required"),
        (b"", {}, "CSV file is required"),
        (CSV, {"name": None}, "name is required"),
        (CSV, {"phoneNumberColumnName": None}, "phoneNumberColumnName is required"),
        (CSV, {"phoneNumberColumnName": "mobile"}, "Column 'mobile' not found in the CSV header"),
        (CSV, {"identifierColumnName": "id"}, "Column 'id' not found in the CSV header"),
        (b"firstName,phoneNumber\n", {}, "CSV file has no contacts below its header row"),
        (b"firstName,phoneNumber\nA,\n", {}, "Row 2 has no value in column 'phoneNumber'"),
        (b"\xff\xfe\x00bad", {}, "CSV file must be UTF-8 text"),
    ],
)
def test_upload_rejects_bad_input_with_400(api, content, fields, message):
    response = upload(api, content=content, **fields)
    assert response.status_code == 400
    assert message in response.json()["errors"]


def test_upload_rejects_duplicate_numbers(api):
    content = b"firstName,phoneNumber\nA,+15550001234\nB,+15550001234\n"
    response = upload(api, content=content)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "Some phone numbers in your CSV already exist in this audience. "
        "Please remove duplicate entries and try again."
    ]


def test_upload_rejects_more_than_ten_thousand_members(api):
    rows = "".join(f"User,+1555{i:07d}\n" for i in range(10_001))
    response = upload(api, content=("firstName,phoneNumber\n" + rows).encode())
    assert response.status_code == 400
    assert response.json()["errors"] == ["Audience cannot exceed 10000 members"]


def test_upload_is_rejected_when_not_multipart(api):
    response = api.post("/audience", json={"name": "x", "phoneNumberColumnName": "p"})
    assert response.status_code == 400
    assert "CSV file is required" in response.json()["errors"]


def test_list_is_a_bare_array_with_counts_and_campaigns(api, seeded):
    response = api.get("/audience")
    assert response.status_code == 200
    audiences = {a["name"]: a for a in response.json()["data"]}
    assert {name: a["memberCount"] for name, a in audiences.items()} == {
        PILOT: 2,
        MUMBAI: 50,
        US: 1000,
    }
    mumbai = audiences[MUMBAI]
    assert mumbai["hasCampaigns"] is True
    assert {c["status"] for c in mumbai["campaigns"]} == {"completed", "paused"}
    assert set(mumbai["campaigns"][0]) == {"_id", "name", "status", "createdAt"}


def test_get_returns_the_audience_without_counts(api, seeded):
    audience_id = seeded.audiences[PILOT]["_id"]
    data = api.get(f"/audience/{audience_id}").json()["data"]
    assert data["_id"] == audience_id
    assert "memberCount" not in data and "campaigns" not in data


def test_get_unknown_is_404_and_malformed_is_400(api):
    response = api.get("/audience/" + "a" * 24)
    assert response.status_code == 404
    assert response.json() == {"status": False, "errors": ["Audience not found"]}
    assert api.get("/audience/nope").status_code == 400


def test_delete_refuses_an_audience_in_use_and_answers_an_empty_array(api, seeded):
    used = seeded.audiences[PILOT]["_id"]
    response = api.delete(f"/audience/{used}")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        f"can't delete audience, campaign with this audience {used} exists"
    ]
    fresh = upload(api).json()["data"]["_id"]
    response = api.delete(f"/audience/{fresh}")
    assert response.status_code == 200
    assert response.json() == {"status": True, "data": []}
    assert api.get(f"/audience/{fresh}").status_code == 404


def test_members_page_with_offset_default_five_and_ignore_limit(api, seeded):
    audience_id = seeded.audiences[MUMBAI]["_id"]
    data = api.get(f"/audience/{audience_id}/members", params={"limit": 50}).json()["data"]
    assert len(data["members"]) == 5
    assert (data["totalCount"], data["totalPages"], data["hasMore"]) == (50, 10, True)
    last = api.get(f"/audience/{audience_id}/members", params={"page": 3, "offset": 20})
    data = last.json()["data"]
    assert len(data["members"]) == 10 and data["hasMore"] is False
    assert set(data["members"][0]) == {"_id", "data"}


def test_members_bad_request_uses_the_documented_string_status(api, seeded):
    audience_id = seeded.audiences[MUMBAI]["_id"]
    response = api.get(f"/audience/{audience_id}/members", params={"page": 0})
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert api.get("/audience/" + "9" * 24 + "/members").status_code == 404


def test_search_by_query_matches_any_field(api, seeded):
    audience_id = seeded.audiences[US]["_id"]
    first = api.get(f"/audience/{audience_id}/members").json()["data"]["members"][0]["data"]
    response = api.get(f"/audience/{audience_id}/members/search", params={"query": first["email"]})
    data = response.json()["data"]
    assert response.status_code == 200
    assert [m["data"] for m in data["members"]] == [first]
    assert data["searchInfo"] == {
        "searchType": "general",
        "searchTerm": first["email"],
        "searchFields": [],
        "totalResults": 1,
    }


def test_search_by_fields_requires_every_field_to_match(api, seeded):
    audience_id = seeded.audiences[US]["_id"]
    first = api.get(f"/audience/{audience_id}/members").json()["data"]["members"][0]["data"]
    params = {"firstName": first["firstName"].lower(), "lastName": first["lastName"]}
    data = api.get(f"/audience/{audience_id}/members/search", params=params).json()["data"]
    assert data["members"]
    for member in data["members"]:
        assert (member["data"]["firstName"], member["data"]["lastName"]) == (
            first["firstName"],
            first["lastName"],
        )
    assert data["searchInfo"]["searchType"] == "multiple"
    assert data["searchInfo"]["searchFields"] == ["firstName", "lastName"]


def test_search_by_phone_matches_digits_only(api, seeded):
    audience_id = seeded.audiences[US]["_id"]
    first = api.get(f"/audience/{audience_id}/members").json()["data"]["members"][0]["data"]
    digits = first["phoneNumber"][-7:]
    dashed = f"{digits[:3]}-{digits[3:]}"
    params = {"phoneNumber": dashed}
    found = api.get(f"/audience/{audience_id}/members/search", params=params).json()["data"]
    assert first in [m["data"] for m in found["members"]]


def test_search_needs_exactly_one_mode(api, seeded):
    audience_id = seeded.audiences[PILOT]["_id"]
    path = f"/audience/{audience_id}/members/search"
    response = api.get(path)
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("At least one search parameter is required")
    assert api.get(path, params={"query": "a", "firstName": "b"}).status_code == 400


def test_add_members_skips_duplicates_and_reports_counts(api, seeded):
    audience_id = seeded.audiences[PILOT]["_id"]
    existing = api.get(f"/audience/{audience_id}/members").json()["data"]["members"][0]["data"]
    members = [
        {"phoneNumber": "+15550009999", "firstName": "New"},
        {"phoneNumber": existing["phoneNumber"], "firstName": "Dup"},
    ]
    response = api.post(f"/audience/{audience_id}/members", json={"members": members})
    assert response.status_code == 200
    assert response.json()["data"] == [
        {"message": "1 members added successfully", "data": {"added": 1, "skipped": 1}}
    ]
    listed = api.get(f"/audience/{audience_id}/members").json()["data"]
    assert listed["totalCount"] == 3


def test_add_members_leaves_existing_campaign_participants_alone(api, seeded):
    audience_id = seeded.audiences[PILOT]["_id"]
    campaign = create(api, seeded, audienceId=audience_id)
    api.post(
        f"/audience/{audience_id}/members", json={"members": [{"phoneNumber": "+15550007777"}]}
    )
    metrics = api.get(f"/campaign/{campaign['_id']}").json()["data"]["metrics"]
    assert metrics["total_participants"] == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "members must be a non-empty array"),
        ({"members": []}, "members must be a non-empty array"),
        ({"members": [{"firstName": "NoPhone"}]}, "Each member must have a phoneNumber field"),
    ],
)
def test_add_members_validates_the_body(api, seeded, body, message):
    audience_id = seeded.audiences[PILOT]["_id"]
    response = api.post(f"/audience/{audience_id}/members", json=body)
    assert response.status_code == 400
    assert response.json()["errors"] == [message]


def test_add_members_enforces_the_member_limit(api, seeded):
    audience_id = seeded.audiences[US]["_id"]
    members = [{"phoneNumber": f"+1666{i:07d}"} for i in range(9_001)]
    response = api.post(f"/audience/{audience_id}/members", json={"members": members})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "Cannot add 9001 members. You currently have 1000 members in this audience. "
        "The maximum limit is 10000 members. You can add up to 9000 more members."
    ]


def test_add_members_to_unknown_audience_is_404(api):
    response = api.post(
        "/audience/" + "7" * 24 + "/members", json={"members": [{"phoneNumber": "1"}]}
    )
    assert response.status_code == 404


def test_delete_members_takes_a_json_body_on_delete(api, seeded):
    audience_id = seeded.audiences[MUMBAI]["_id"]
    members = api.get(f"/audience/{audience_id}/members").json()["data"]["members"]
    ids = [members[0]["_id"], members[1]["_id"], "0" * 24]
    response = api.request("DELETE", f"/audience/{audience_id}/members", json={"memberIds": ids})
    assert response.status_code == 200
    assert response.json() == {"status": True, "data": {"deletedCount": 2}}
    assert api.get(f"/audience/{audience_id}/members").json()["data"]["totalCount"] == 48


def test_delete_members_requires_member_ids(api, seeded):
    audience_id = seeded.audiences[MUMBAI]["_id"]
    response = api.request("DELETE", f"/audience/{audience_id}/members", json={})
    assert response.status_code == 400
    assert response.json()["errors"] == ["memberIds must be a non-empty array"]
