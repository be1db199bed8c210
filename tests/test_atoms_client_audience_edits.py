"""The client's do-not-call and member-editing calls, against the simulator over HTTP."""

import pytest

from campaigns.atoms import AtomsClient, AtomsNotFound, AtomsUnavailable

CSV = b"firstName,phoneNumber\nAsha,+14155550100\nRavi,+14155550101\n"


@pytest.fixture
def atoms(sim):
    with AtomsClient(sim.base_url, sim.api_key, sleep=lambda seconds: None) as client:
        yield client


def test_dnc_entries_are_read_with_id_number_agent_and_source(atoms, sim):
    sim.add_dnc("+14155550123")
    entries = atoms.all_dnc(page_size=1)  # one per page: the walk must visit all three
    assert [e.phone_number for e in entries] == ["+14155550123", "+442079460001",
                                                 "+442079460000"]
    org_wide, for_agent = entries[2], entries[1]
    assert (org_wide.agent_id, org_wide.source) == ("", "manual_upload")
    assert len(for_agent.agent_id) == 24 and for_agent.created_at is not None
    assert sim.calls_to("GET /dnc") == 3


def test_a_dnc_read_is_retried_then_reported_unavailable(atoms, sim):
    sim.faults(error_rate=1, fail_routes=["GET /dnc"])
    with pytest.raises(AtomsUnavailable):
        atoms.all_dnc()
    assert sim.calls_to("GET /dnc") == 3  # reads are retried


def test_members_are_added_skipped_searched_and_removed(atoms):
    audience = atoms.create_audience("Edits", "phoneNumber", CSV)
    added = atoms.add_audience_members(audience.id, [
        {"phoneNumber": "+14155550102", "firstName": "Meera"},
        {"phoneNumber": "+14155550100"},  # already there: Atoms skips it
    ])
    assert added == (1, 1)
    found = atoms.search_audience_members(audience.id, "Meera")
    assert [m.data["phoneNumber"] for m in found] == ["+14155550102"]
    everyone = atoms.all_audience_members(audience.id, page_size=2)
    assert len(everyone) == 3
    assert atoms.remove_audience_members(audience.id, [found[0].id]) == 1
    assert len(atoms.all_audience_members(audience.id)) == 2


def test_member_edits_of_an_unknown_audience_are_not_found(atoms):
    with pytest.raises(AtomsNotFound):
        atoms.add_audience_members("0123456789abcdef01234567", [{"phoneNumber": "+1"}])
    with pytest.raises(ValueError):
        atoms.remove_audience_members("0123456789abcdef01234567", ["../x"])
