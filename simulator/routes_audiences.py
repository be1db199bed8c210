"""`/audience` routes: CSV upload, list, get, delete, and member paging, search, add, remove."""

import csv
import io
import re

from .multipart import parse_form
from .wire import ApiError, Response, js_time, ok, paginate

FILE_LIMIT = 5 * 1024 * 1024
MEMBER_LIMIT = 10_000
DUPLICATES = (
    "Some phone numbers in your CSV already exist in this audience. "
    "Please remove duplicate entries and try again."
)
SEARCH_REQUIRED = (
    "At least one search parameter is required. Use 'query' for general search across all "
    "fields, or use field-specific searches like 'firstName=john' or 'phoneNumber=123456'."
)
_PAGING_KEYS = {"page", "offset", "limit"}
PHONE_TERM = re.compile(r"[\d\s().+-]*\d[\d\s().+-]*")


def _shape(audience: dict) -> dict:
    shaped = {
        key: audience[key]
        for key in ("_id", "name", "description", "phoneNumberColumnName")
        + ("organization", "createdBy")
    }
    shaped["createdAt"] = js_time(audience["createdAt"])
    shaped["updatedAt"] = js_time(audience["updatedAt"])
    return shaped


def create_audience(world, *, name, description, phone_column, identifier, rows, now) -> dict:
    """Store an audience whose members are `rows` (dicts of column -> value)."""
    audience = {
        "_id": world.new_id(),
        "name": name,
        "description": description,
        "phoneNumberColumnName": phone_column,
        "identifierColumnName": identifier,
        "organization": world.state["organizationId"],
        "createdBy": world.state["userId"],
        "createdAt": now,
        "updatedAt": now,
        "members": [],
    }
    audience["members"] = [{"_id": world.new_id(), "data": row} for row in rows]
    world.audiences[audience["_id"]] = audience
    return audience


def _read_csv(content: bytes, phone_column: str, identifier: str | None) -> list[dict]:
    """Comma-separated, header row required, every value kept as a string."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "CSV file must be UTF-8 text") from None
    try:
        table = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise ApiError(400, f"CSV file could not be parsed: {error}") from None
    if not table:
        raise ApiError(400, "CSV file is empty; it needs a header row")
    header = [cell.strip() for cell in table[0]]
    for column in (phone_column, identifier):
        if column is not None and column not in header:
            raise ApiError(400, f"Column '{column}' not found in the CSV header")
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        cells = [cell.strip() for cell in cells] + [""] * (len(header) - len(cells))
        row = {column: cells[i] for i, column in enumerate(header) if column}
        if not row[phone_column]:
            raise ApiError(400, f"Row {number} has no value in column '{phone_column}'")
        rows.append(row)
    if not rows:
        raise ApiError(400, "CSV file has no contacts below its header row")
    if len(rows) > MEMBER_LIMIT:
        raise ApiError(400, f"Audience cannot exceed {MEMBER_LIMIT} members")
    phones = [row[phone_column] for row in rows]
    if len(set(phones)) != len(phones):
        raise ApiError(400, DUPLICATES)
    return rows


def post_audience(world, req) -> Response:
    # Refuse an oversized upload before parsing it; the small slack covers the text fields.
    if len(req.body) > FILE_LIMIT + 64 * 1024:
        raise ApiError(400, "CSV file must be at most 5 MB")
    fields, files = parse_form(req.headers.get("content-type", ""), req.body)
    errors = [
        f"{key} is required" for key in ("name", "phoneNumberColumnName") if not fields.get(key)
    ]
    content = files.get("file")
    if not content:
        errors.append("CSV file is required")
    if errors:
        raise ApiError(400, *errors)
    if len(content) > FILE_LIMIT:
        raise ApiError(400, "CSV file must be at most 5 MB")
    phone_column = fields["phoneNumberColumnName"].strip()
    identifier = fields.get("identifierColumnName", "").strip() or None
    rows = _read_csv(content, phone_column, identifier)
    audience = create_audience(
        world,
        name=fields["name"].strip(),
        description=fields.get("description", ""),
        phone_column=phone_column,
        identifier=identifier,
        rows=rows,
        now=world.now,
    )
    shaped = _shape(audience)
    if identifier:
        shaped["identifierColumnName"] = identifier
    return ok(shaped)


def list_audiences(world, req) -> Response:
    world.advance_all()  # the nested campaign statuses must be current
    using: dict[str, list[dict]] = {}
    for campaign in world.campaigns.values():
        using.setdefault(campaign["audienceId"], []).append(
            {
                "_id": campaign["_id"],
                "name": campaign["name"],
                "status": campaign["status"],
                "createdAt": js_time(campaign["createdAt"]),
            }
        )
    shaped = []
    for audience in world.audiences.values():
        campaigns = using.get(audience["_id"], [])
        shaped.append(
            {
                **_shape(audience),
                "memberCount": len(audience["members"]),
                "hasCampaigns": bool(campaigns),
                "campaigns": campaigns,
            }
        )
    return ok(shaped)


def get_audience(world, req) -> Response:
    return ok(_shape(world.audience(req.params["id"])))


def delete_audience(world, req) -> Response:
    audience = world.audience(req.params["id"])
    if any(c["audienceId"] == audience["_id"] for c in world.campaigns.values()):
        raise ApiError(
            400, f"can't delete audience, campaign with this audience {audience['_id']} exists"
        )
    del world.audiences[audience["_id"]]
    return ok([])


def list_members(world, req) -> Response:
    try:
        audience = world.audience(req.params["id"])
        page = req.int_param("page", 1)
        size = req.int_param("offset", 5)  # `limit` is ignored, as documented
    except ApiError as error:
        if error.status == 400:
            error.status_value = "error"  # the documented 400 body uses a string status
        raise
    members, total_pages, has_more = paginate(audience["members"], page, size)
    return ok(
        {
            "members": members,
            "totalCount": len(audience["members"]),
            "totalPages": total_pages,
            "hasMore": has_more,
        }
    )


def _matches(value, term: str, is_phone: bool) -> bool:
    text = str(value).lower()
    if term in text:
        return True
    # A phone-looking term matches phone numbers on digits: "555-0142" finds "+14155550142".
    if not is_phone or not PHONE_TERM.fullmatch(term):
        return False
    return _digits(term) in _digits(text)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def search_members(world, req) -> Response:
    audience = world.audience(req.params["id"])
    phone_column = audience["phoneNumberColumnName"]
    query = req.query.get("query", "").strip()
    by_field = {
        key: value.strip()
        for key, value in req.query.items()
        if key != "query" and key not in _PAGING_KEYS and value.strip()
    }
    if query and by_field:
        raise ApiError(400, "Use either 'query' or field-specific searches, not both")
    if not query and not by_field:
        raise ApiError(400, SEARCH_REQUIRED)
    if query:
        term = query.lower()
        found = [
            member
            for member in audience["members"]
            if any(_matches(v, term, k == phone_column) for k, v in member["data"].items())
        ]
        info = {"searchType": "general", "searchTerm": query, "searchFields": []}
    else:
        found = [
            member
            for member in audience["members"]
            if all(
                key in member["data"]
                and _matches(member["data"][key], term.lower(), key == phone_column)
                for key, term in by_field.items()
            )
        ]
        terms = " ".join(by_field.values())
        info = {"searchType": "multiple", "searchTerm": terms, "searchFields": list(by_field)}
    return ok({"members": found, "searchInfo": {**info, "totalResults": len(found)}})


def add_members(world, req) -> Response:
    audience = world.audience(req.params["id"])
    members = req.json_object().get("members")
    if not isinstance(members, list) or not members:
        raise ApiError(400, "members must be a non-empty array")
    phone_column = audience["phoneNumberColumnName"]
    if not all(isinstance(m, dict) and m.get(phone_column) not in (None, "") for m in members):
        raise ApiError(400, f"Each member must have a {phone_column} field")
    current = len(audience["members"])
    if current + len(members) > MEMBER_LIMIT:
        raise ApiError(
            400,
            f"Cannot add {len(members)} members. You currently have {current} members in this "
            f"audience. The maximum limit is {MEMBER_LIMIT} members. You can add up to "
            f"{MEMBER_LIMIT - current} more members.",
        )
    seen = {str(m["data"].get(phone_column)) for m in audience["members"]}
    added = 0
    for member in members:
        phone = str(member[phone_column])
        if phone in seen:
            continue  # duplicates are skipped, not rejected
        seen.add(phone)
        audience["members"].append({"_id": world.new_id(), "data": dict(member)})
        added += 1
    if added:
        audience["updatedAt"] = world.now
    result = {"added": added, "skipped": len(members) - added}
    return ok([{"message": f"{added} members added successfully", "data": result}])


def remove_members(world, req) -> Response:
    audience = world.audience(req.params["id"])
    member_ids = req.json_object().get("memberIds")
    if not isinstance(member_ids, list) or not member_ids:
        raise ApiError(400, "memberIds must be a non-empty array")
    doomed = {str(member_id) for member_id in member_ids}
    kept = [m for m in audience["members"] if m["_id"] not in doomed]
    deleted = len(audience["members"]) - len(kept)
    audience["members"] = kept
    if deleted:
        audience["updatedAt"] = world.now
    return ok({"deletedCount": deleted})


ROUTES = [
    ("GET", "/audience", list_audiences),
    ("POST", "/audience", post_audience),
    ("GET", "/audience/{id}", get_audience),
    ("DELETE", "/audience/{id}", delete_audience),
    ("GET", "/audience/{id}/members", list_members),
    ("POST", "/audience/{id}/members", add_members),
    ("DELETE", "/audience/{id}/members", remove_members),
    ("GET", "/audience/{id}/members/search", search_members),
]
