"""One audience: search its members, add one (same checks as an upload), remove selected,
and delete it, which is refused while an unfinished campaign uses it."""

import pytest
from django.urls import reverse

from campaigns.connections import atoms_client
from campaigns.models import AudienceUpload, AuditEntry, SuppressedNumber
from tests.campaign_factory import make_campaign
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(sim, atoms_settings, users):
    return sim


def audience_named(name: str):
    return next(a for a in atoms_client().list_audiences() if a.name == name)


def fresh_audience(name: str = "Scratch") -> str:
    csv = b"firstName,phoneNumber\nAsha,+14155550100\nRavi,+14155550101\nMeera,+14155550102\n"
    return atoms_client().create_audience(name, "phoneNumber", csv).id


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_search_finds_members_by_name_or_digits(login_as, world):
    audience_id = fresh_audience()
    page = login_as("manager").get(reverse("audience_detail", args=[audience_id]),
                                   {"q": "555-0101"})
    html = page.content.decode()
    assert html.count('data-testid="member-row"') == 1 and "Ravi" in html
    assert world.calls_to("GET /audience/{id}/members/search") == 1
    none = login_as("manager").get(reverse("audience_detail", args=[audience_id]), {"q": "zz"})
    assert "No contact matches “zz”" in none.content.decode()


def test_many_matches_and_the_members_are_paged_and_a_page_past_the_end_leads_back(
        login_as, world):
    us = audience_named("US renewals Q3")  # 1,000 seeded contacts, all +1 415 555 ....
    client = login_as("manager")
    url = reverse("audience_detail", args=[us.id])
    first = client.get(url, {"q": "555"}).content.decode()
    assert first.count('data-testid="member-row"') == 25
    assert "Page 1 of 40 · 1000 found" in first and "?q=555&amp;page=2" in first
    last = client.get(url, {"q": "555", "page": 40}).content.decode()
    assert last.count('data-testid="member-row"') == 25 and "Page 40 of 40" in last
    past = client.get(url, {"page": 99999}).content.decode()
    assert ("Page 99999 is past the end: this audience has 1,000 contacts on 40 pages."
            in past) and '<a href="?page=40">Go to the last page</a>' in past
    assert "This audience has no contacts" not in past


def test_the_members_pages_have_first_and_last_links_beside_previous_and_next(
        login_as, world):
    us = audience_named("US renewals Q3")  # 1,000 seeded contacts: 40 pages of 25
    client = login_as("manager")
    url = reverse("audience_detail", args=[us.id])
    first = client.get(url).content.decode()
    assert '<a href="?page=40">Last »</a>' in first and "« First" not in first
    middle = client.get(url, {"page": 20}).content.decode()
    assert '<a href="?page=1">« First</a>' in middle and '<a href="?page=40">Last »</a>' in middle
    # Next to the end, Previous and Next already go there.
    assert "Last »" not in client.get(url, {"page": 39}).content.decode()
    assert "« First" not in client.get(url, {"page": 2}).content.decode()
    searched = client.get(url, {"q": "555", "page": 3}).content.decode()
    assert '<a href="?q=555&amp;page=1">« First</a>' in searched
    assert '<a href="?q=555&amp;page=40">Last »</a>' in searched


def add(client, audience_id, phone, **columns):
    data = {"phone_number": phone, "region": "US",
            **{f"col_{k}": v for k, v in columns.items()}}
    return client.post(reverse("audience_member_add", args=[audience_id]), data)


def test_adding_one_contact_normalises_the_number(login_as, world):
    audience_id = fresh_audience()
    response = add(login_as("staff"), audience_id, "(415) 555-0110", firstName="Lee")
    assert response.status_code == 302
    members = atoms_client().all_audience_members(audience_id)
    assert dict(members[-1].data) == {"firstName": "Lee", "phoneNumber": "+14155550110"}
    assert AuditEntry.objects.get().action == "edit_audience"


def test_add_a_contact_starts_at_the_country_its_file_was_read_as(login_as, world, users):
    """It started at the default (US) for an audience of UK numbers uploaded here (probe)."""
    audience_id = fresh_audience("Read as UK")
    AudienceUpload.objects.create(created_by=users["staff"], name="Read as UK", region="GB",
                                  content=b"", audience_id=audience_id,
                                  state=AudienceUpload.State.DONE)
    form = login_as("staff").get(reverse("audience_detail", args=[audience_id])
                                 ).context["add_form"]
    assert form["region"].value() == "GB"
    other = login_as("staff").get(reverse("audience_detail", args=[fresh_audience()])
                                  ).context["add_form"]
    assert other["region"].value() == "US"  # made elsewhere: the default


def test_the_columns_keep_the_files_order_in_the_table_and_the_add_form(login_as, world):
    """"name,phone,city" showed as city, name: the columns were sorted (probe)."""
    audience = atoms_client().create_audience(
        "Ordered", "phone", b"name,phone,city,age\nAsha,+14155550100,Pune,41\n")
    page = login_as("staff").get(reverse("audience_detail", args=[audience.id]))
    assert page.context["columns"] == ["phone", "name", "city", "age"]
    assert list(page.context["add_form"].fields)[:4] == [
        "phone_number", "col_name", "col_city", "col_age"]


def test_a_crafted_add_cannot_give_the_audience_columns_it_does_not_have(login_as, world):
    """Posted col_ fields became columns every viewer saw: an empty name, a 5,000-character
    one, "__proto__"."""
    audience_id = fresh_audience()
    response = add(login_as("staff"), audience_id, "+14155550111", firstName="Lee",
                   **{"": "x", "k" * 500: "y", "__proto__": "z"})
    assert response.status_code == 302
    members = atoms_client().all_audience_members(audience_id)
    assert dict(members[-1].data) == {"firstName": "Lee", "phoneNumber": "+14155550111"}


@pytest.mark.parametrize(("phone", "error"), [
    ("12345", "Too short to be a phone number."),
    ("call me", "Not a phone number."),
    ("+1 415 555 0100", "This number is already in the audience."),
    ("+14155550177", "This number is on the do-not-call list."),
    ("", "Type the contact's phone number."),  # not "This field is required."
])
def test_a_contact_that_fails_the_checks_is_refused_beside_the_field(login_as, world, phone,
                                                                     error):
    SuppressedNumber.objects.create(phone_number="+14155550177")
    audience_id = fresh_audience()
    response = add(login_as("staff"), audience_id, phone, firstName="Lee")
    assert response.status_code == 422
    assert response.context["form"].errors["phone_number"] == [error]
    assert 'value="Lee"' in response.content.decode()
    assert len(atoms_client().all_audience_members(audience_id)) == 3


def test_remove_selected_asks_first_naming_the_numbers_then_removes_exactly_those(
        login_as, world):
    audience_id = fresh_audience()
    members = atoms_client().all_audience_members(audience_id)
    url = reverse("audience_members_remove", args=[audience_id])
    staff = login_as("staff")
    # The page's "Remove selected" asks with a GET (Back and Forward then need no resend).
    asked = staff.get(url, {"member": [members[0].id, members[2].id]})
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Remove 2 contacts from “Scratch”?" in page
    assert "<li>+14155550100</li>" in page and "<li>+14155550102</li>" in page
    assert 'name="confirm" value="1"' in page and page.count('name="member"') == 2
    assert world.calls_to("DELETE /audience/{id}/members") == 0  # nothing removed yet
    assert len(atoms_client().all_audience_members(audience_id)) == 3

    response = staff.post(url, {"member": [members[0].id, members[2].id], "confirm": "1"})
    assert messages_of(response) == ["2 contacts removed: +14155550100, +14155550102."]
    left = atoms_client().all_audience_members(audience_id)
    assert [m.data["firstName"] for m in left] == ["Ravi"]
    # The same confirmation sent again (another tab): nothing left to remove, and it says so.
    again = staff.post(url, {"member": [members[0].id, members[2].id], "confirm": "1"})
    assert messages_of(again)[-1] == "Nothing was removed: those contacts had already gone."


def test_the_question_counts_the_contacts_when_atoms_cannot_name_them(login_as, world):
    audience_id = fresh_audience()
    members = atoms_client().all_audience_members(audience_id)
    world.faults(error_rate=1, fail_routes=["GET /audience/{id}/members"])
    asked = login_as("staff").post(reverse("audience_members_remove", args=[audience_id]),
                                   {"member": [members[0].id]})
    world.clear_faults()
    page = asked.content.decode()
    assert "Remove 1 contact from “Scratch”?" in page
    assert "Atoms could not be asked for their numbers" in page
    assert len(atoms_client().all_audience_members(audience_id)) == 3


def test_contacts_already_gone_are_not_asked_about(login_as, world):
    audience_id = fresh_audience()
    response = login_as("staff").post(reverse("audience_members_remove", args=[audience_id]),
                                      {"member": ["0123456789abcdef01234567"]})
    assert messages_of(response) == ["The contacts ticked are no longer in the audience."]
    assert world.calls_to("DELETE /audience/{id}/members") == 0


def test_removing_many_names_a_few_and_counts_the_rest(login_as, world):
    rows = "".join(f"C{n},+1415555{n:04d}\n" for n in range(8))
    audience_id = atoms_client().create_audience(
        "Eight", "phoneNumber", f"firstName,phoneNumber\n{rows}".encode()).id
    ids = [m.id for m in atoms_client().all_audience_members(audience_id)]
    response = login_as("staff").post(reverse("audience_members_remove", args=[audience_id]),
                                      {"member": ids, "confirm": "1"})
    assert messages_of(response) == [
        "8 contacts removed: +14155550000, +14155550001, +14155550002, +14155550003, "
        "+14155550004 and 3 more."]


def test_the_delete_page_counts_contacts_in_plain_words(login_as, world):
    one = atoms_client().create_audience("Just one", "phoneNumber",
                                         b"phoneNumber\n+14155550100\n").id
    page = login_as("staff").get(reverse("audience_delete", args=[one])).content.decode()
    assert "This deletes its 1 contact in Atoms." in page
    page = login_as("staff").get(reverse("audience_delete", args=[fresh_audience()]))
    assert "This deletes its 3 contacts in Atoms." in page.content.decode()


def test_remove_with_nothing_ticked_says_so_and_sends_nothing(login_as, world):
    audience_id = fresh_audience()
    response = login_as("staff").post(reverse("audience_members_remove", args=[audience_id]))
    assert messages_of(response) == ["Tick the contacts to remove first."]
    assert world.calls_to("DELETE /audience/{id}/members") == 0


def test_delete_is_refused_while_an_unfinished_campaign_uses_it(login_as, world, users):
    draft = make_campaign(world, users["staff"])
    pilot = audience_named("Pilot testers")
    url = reverse("audience_delete", args=[pilot.id])
    page = login_as("staff").get(url).content.decode()
    assert 'data-testid="in-use"' in page and draft.name in page
    response = login_as("staff").post(url)
    assert response.status_code == 422
    assert ("This audience is used by “Spring renewals”, which is not finished"
            in response.context["error"])
    assert world.calls_to("DELETE /audience/{id}") == 0
    assert AuditEntry.objects.filter(action="delete_audience").get().outcome == "refused"


def test_an_unused_audience_is_deleted_in_atoms(login_as, world):
    audience_id = fresh_audience()
    response = login_as("staff").post(reverse("audience_delete", args=[audience_id]))
    assert response["Location"] == reverse("audience_list")
    assert audience_id not in {a.id for a in atoms_client().list_audiences()}
    assert AuditEntry.objects.get(action="delete_audience").outcome == "ok"


def test_atoms_refusal_for_a_finished_campaign_names_it(login_as, world):
    # Seeded "Mumbai leads - March" is used only by campaigns not in our mirror.
    mumbai = audience_named("Mumbai leads - March")
    response = login_as("staff").post(reverse("audience_delete", args=[mumbai.id]))
    assert response.status_code == 422
    assert "Atoms keeps this audience while these campaigns refer to it" in (
        response.context["error"])


@pytest.mark.parametrize("name", ["audience_member_add", "audience_members_remove",
                                  "audience_delete"])
def test_managers_cannot_change_audiences(login_as, world, name):
    audience_id = fresh_audience()
    response = login_as("manager").post(reverse(name, args=[audience_id]),
                                        {"phone_number": "+14155550111", "region": "US"})
    assert response.status_code == 403
    assert len(atoms_client().all_audience_members(audience_id)) == 3


def test_when_atoms_fails_to_add_the_reason_is_shown_and_the_input_kept(login_as, world):
    audience_id = fresh_audience()
    world.faults(error_rate=1, fail_routes=["POST /audience/{id}/members"])
    response = add(login_as("staff"), audience_id, "+14155550120", firstName="Lee")
    assert response.status_code == 422
    # A 500 may have landed: the audience was asked, does not show it, and says so once
    # (it said "did not add" and "we cannot tell" in one sentence).
    (said,) = response.context["form"].non_field_errors()
    assert said == ("Atoms did not add the contact (Atoms answered with an error of its own "
                    "(HTTP 500), and the audience does not show it). Try again.")
    assert 'value="+14155550120"' in response.content.decode()
    assert AuditEntry.objects.get().outcome == "failed"


def test_an_add_whose_answer_was_lost_is_found_in_atoms_not_called_a_failure(login_as, world):
    """The add lands, its answer is lost: Atoms is asked, and shows the number."""
    audience_id = fresh_audience()
    world.faults(drop_response_rate=1, timeout_seconds=1,
                 fail_routes=["POST /audience/{id}/members"])
    response = add(login_as("staff"), audience_id, "+14155550120", firstName="Lee")
    world.clear_faults()
    assert response.status_code == 302
    assert messages_of(response) == ["+14155550120 added."]
    assert "+14155550120" in [m.data["phoneNumber"]
                              for m in atoms_client().all_audience_members(audience_id)]
    assert AuditEntry.objects.get().outcome == "ok"


def test_an_add_whose_answer_was_lost_and_cannot_be_checked_says_it_may_have_landed(
        login_as, world):
    audience_id = fresh_audience()
    world.faults(drop_response_rate=1, timeout_seconds=1, error_rate=1,
                 fail_routes=["POST /audience/{id}/members", "GET /audience/{id}/members/search"])
    response = add(login_as("staff"), audience_id, "+14155550120", firstName="Lee")
    world.clear_faults()
    (said,) = response.context["form"].non_field_errors()
    assert "the contact may have been added: search for the number" in said
    assert "did not add" not in said


def test_an_add_or_removal_whose_answer_never_came_does_not_say_it_did_not_happen(
        login_as, world, settings):
    """A probe, Atoms 20 s slow: "Atoms did not add the contact ... Try again" and "Atoms
    did not remove the contacts", and Atoms did both 5 s later."""
    settings.ATOMS_READ_TIMEOUT = 1
    audience_id = fresh_audience()
    member = atoms_client().all_audience_members(audience_id)[0]
    world.faults(latency_ms=2500, fail_routes=["POST /audience/{id}/members",
                                               "DELETE /audience/{id}/members"])
    added = add(login_as("staff"), audience_id, "+14155550120", firstName="Lee")
    (said,) = added.context["form"].non_field_errors()
    assert "did not add" not in said and "Atoms may still add it" in said
    removed = login_as("staff").post(reverse("audience_members_remove", args=[audience_id]),
                                     {"member": [member.id], "confirm": "1"})
    (said,) = messages_of(removed)
    assert "did not remove" not in said and "Atoms may still remove them" in said
    world.clear_faults()

    # And Atoms did both; waited for, or a late request lands in the next test's stats
    # (seen: a "nothing was sent" test counted this one's DELETE).
    def both_landed() -> bool:
        members = atoms_client().all_audience_members(audience_id)
        return ("+14155550120" in [m.data["phoneNumber"] for m in members]
                and member.id not in [m.id for m in members])

    wait_until(both_landed, timeout=10, what="the slow add and removal landing")


def test_a_search_atoms_failed_does_not_say_nothing_matched(login_as, world):
    """A probe: beside "Atoms could not be reached", "No contact matches" a number the
    audience has."""
    audience_id = fresh_audience()
    world.faults(error_rate=1, fail_routes=["GET /audience/{id}/members/search"])
    page = login_as("staff").get(reverse("audience_detail", args=[audience_id]),
                                 {"q": "+14155550100"}).content.decode()
    world.clear_faults()
    assert "Please try again" in page and "No contact matches" not in page


def test_when_atoms_fails_to_remove_it_says_so(login_as, world):
    audience_id = fresh_audience()
    member = atoms_client().all_audience_members(audience_id)[0]
    world.faults(error_rate=1, fail_routes=["DELETE /audience/{id}/members"])
    response = login_as("staff").post(reverse("audience_members_remove", args=[audience_id]),
                                      {"member": [member.id], "confirm": "1"})
    assert messages_of(response)[0] == (
        "Atoms did not remove the contacts (Atoms answered with an error of its own (HTTP "
        "500), and the audience still has them). Try again.")
    assert len(atoms_client().all_audience_members(audience_id)) == 3


def test_a_malformed_member_id_is_refused_without_asking_atoms(login_as, world):
    audience_id = fresh_audience()
    response = login_as("staff").post(reverse("audience_members_remove", args=[audience_id]),
                                      {"member": ["../x"], "confirm": "1"})
    assert "Atoms did not remove the contacts" in messages_of(response)[0]
    assert world.calls_to("DELETE /audience/{id}/members") == 0


def test_a_removal_whose_answer_was_lost_is_found_in_atoms_not_called_a_failure(
        login_as, world):
    """The removal lands, its answer is lost: the page said "Atoms did not remove the
    contacts" above a list without them."""
    audience_id = fresh_audience()
    member = atoms_client().all_audience_members(audience_id)[0]
    world.faults(drop_response_rate=1, timeout_seconds=1,
                 fail_routes=["DELETE /audience/{id}/members"])
    response = login_as("staff").post(reverse("audience_members_remove", args=[audience_id]),
                                      {"member": [member.id], "confirm": "1"})
    world.clear_faults()
    assert not any("did not remove" in said for said in messages_of(response))
    assert len(atoms_client().all_audience_members(audience_id)) == 2
    assert AuditEntry.objects.get().message == (
        "Removed 1 contact (Atoms' answer was lost; it no longer has them)")


def test_a_delete_whose_answer_was_lost_is_found_in_atoms_and_leaves_the_lists(
        login_as, world):
    """Deleted in Atoms, its answer lost: the page said it could not tell, and the list and
    the create form's picker still offered it for five minutes."""
    audience_id = fresh_audience()
    staff = login_as("staff")
    assert audience_id in staff.get(reverse("audience_list")).content.decode()  # cached
    world.faults(drop_response_rate=1, timeout_seconds=1, fail_routes=["DELETE /audience/{id}"])
    response = staff.post(reverse("audience_delete", args=[audience_id]))
    world.clear_faults()
    assert response["Location"] == reverse("audience_list")
    assert audience_id not in staff.get(reverse("audience_list")).content.decode()
    assert AuditEntry.objects.get(action="delete_audience").outcome == "ok"


def test_a_delete_atoms_failed_on_says_what_the_look_found(login_as, world):
    """A 500 to the delete: the dashboard looked, Atoms still had it, and the page still
    said "we cannot tell whether the request was carried out"."""
    audience_id = fresh_audience()
    world.faults(error_rate=1, fail_routes=["DELETE /audience/{id}"])
    response = login_as("staff").post(reverse("audience_delete", args=[audience_id]),
                                      follow=True)
    world.clear_faults()
    page = response.content.decode()
    assert ("Atoms answered with an error of its own (HTTP 500), and Atoms still has it: "
            "nothing was deleted.") in page and "cannot tell" not in page
    assert atoms_client().get_audience(audience_id).id == audience_id
