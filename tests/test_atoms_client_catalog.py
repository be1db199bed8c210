"""The pickers' data: phone numbers, agents, audiences and their members, read from the
simulator over real HTTP."""

import pytest

from campaigns.atoms import AtomsClient, AtomsNotFound, AtomsRejected

UNKNOWN_ID = "0123456789abcdef01234567"


@pytest.fixture
def atoms(sim):
    with AtomsClient(sim.base_url, sim.api_key, sleep=lambda seconds: None) as client:
        yield client


def audience_named(atoms, name):
    return next(a for a in atoms.list_audiences() if a.name == name)


def test_phone_numbers_come_with_number_provider_country_and_state(atoms):
    numbers = {phone.number: phone for phone in atoms.list_phone_numbers()}

    mumbai = numbers["+912268093560"]
    assert (mumbai.provider, mumbai.country_code, mumbai.is_active) == ("plivo", "IN", True)
    assert len(mumbai.id) == 24
    assert numbers["+16465550187"].is_active is False
    assert numbers["+14155550142"].agent_id == ""


def test_agents_are_paged_with_offset_as_the_page_size(atoms):
    first = atoms.list_agents(page=1, page_size=2)
    second = atoms.list_agents(page=2, page_size=2)

    assert (len(first.items), first.total, first.total_pages, first.has_more) == (2, 3, 2, True)
    assert (len(second.items), second.page, second.has_more) == (1, 2, False)
    assert not {a.id for a in first.items} & {a.id for a in second.items}


def test_all_agents_walks_every_page(atoms, sim):
    agents = atoms.all_agents(page_size=1)

    assert len({agent.id for agent in agents}) == 3
    assert sim.calls_to("GET /agent") == 3
    assert not any(agent.archived for agent in agents)


def test_agent_search_narrows_the_list(atoms):
    page = atoms.list_agents(search="payment")

    assert [agent.name for agent in page.items] == ["Payment Follow-up"]


def test_get_agent_reads_one_agent(atoms):
    listed = atoms.list_agents(search="Appointment").items[0]

    agent = atoms.get_agent(listed.id)

    assert agent == listed
    assert agent.workflow_type == "workflow_graph"


def test_an_unknown_agent_is_not_found_although_atoms_answers_400(atoms):
    with pytest.raises(AtomsNotFound) as caught:
        atoms.get_agent(UNKNOWN_ID)

    assert caught.value.status == 400
    assert caught.value.messages == ("No agent found",)


def test_audiences_list_their_member_count_and_the_campaigns_using_them(atoms):
    mumbai = audience_named(atoms, "Mumbai leads - March")

    assert mumbai.member_count == 50
    assert mumbai.phone_column == "phoneNumber"
    assert mumbai.has_campaigns is True
    assert set(mumbai.campaign_names) == {"Mumbai leads - first touch",
                                          "Mumbai leads - follow-up"}
    assert mumbai.created_at is not None


def test_get_audience_reads_one_audience_without_inventing_a_count(atoms):
    listed = audience_named(atoms, "Pilot testers")

    audience = atoms.get_audience(listed.id)

    assert (audience.id, audience.name, audience.phone_column) == (
        listed.id, "Pilot testers", "phoneNumber")
    assert audience.member_count is None


def test_an_unknown_audience_is_not_found(atoms):
    with pytest.raises(AtomsNotFound):
        atoms.get_audience(UNKNOWN_ID)
    with pytest.raises(AtomsNotFound):
        atoms.list_audience_members(UNKNOWN_ID)


def test_an_uploaded_csv_becomes_an_audience_whose_members_can_be_paged(atoms):
    csv_bytes = (b"firstName,phoneNumber\nAsha,+919800000001\nRavi,+919800000002\n"
                 b"Meera,+919800000003\n")

    created = atoms.create_audience("Walk-in leads", "phoneNumber", csv_bytes,
                                    description="from the front desk")
    first = atoms.list_audience_members(created.id, page=1, page_size=2)
    second = atoms.list_audience_members(created.id, page=2, page_size=2)

    assert (created.name, created.description, created.phone_column) == (
        "Walk-in leads", "from the front desk", "phoneNumber")
    assert audience_named(atoms, "Walk-in leads").member_count == 3
    assert (first.total, first.total_pages, first.has_more) == (3, 2, True)
    assert [m.data["firstName"] for m in first.items + second.items] == [
        "Asha", "Ravi", "Meera"]
    assert second.items[0].data["phoneNumber"] == "+919800000003"
    assert second.has_more is False


def test_a_csv_without_the_phone_column_is_rejected_with_atoms_reason(atoms):
    with pytest.raises(AtomsRejected) as caught:
        atoms.create_audience("Broken", "mobile", b"firstName,phoneNumber\nAsha,+9198\n")

    assert any("mobile" in message for message in caught.value.messages)
    assert "mobile" in caught.value.user_message


def test_deleting_an_audience_removes_it(atoms):
    created = atoms.create_audience("Temporary", "phoneNumber", b"phoneNumber\n+15550100\n")

    atoms.delete_audience(created.id)

    assert "Temporary" not in {a.name for a in atoms.list_audiences()}
    with pytest.raises(AtomsNotFound):
        atoms.get_audience(created.id)


def test_an_audience_still_used_by_a_campaign_cannot_be_deleted(atoms):
    pilot = audience_named(atoms, "Pilot testers")

    with pytest.raises(AtomsRejected) as caught:
        atoms.delete_audience(pilot.id)

    assert "can't delete audience" in caught.value.messages[0]
    assert "Pilot testers" in {a.name for a in atoms.list_audiences()}
