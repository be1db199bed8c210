"""What campaigns are made from: agents, audiences and phone numbers, read from Atoms.

The lists feed the create form's pickers and the Audiences and Phone numbers pages. They
are the only page-time Atoms reads besides drill-downs, so they are cached for
PICKER_CACHE_SECONDS; a last good copy is kept without expiry so that a short Atoms outage
still leaves a usable form, with a note saying the lists may be old. An audience's members
are a drill-down: read page by page when someone opens it.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import RedisError

from campaigns import atoms
from campaigns.connections import atoms_client
from campaigns.live import health

_FRESH_KEY = "pickers:fresh:v1"
_LAST_GOOD_KEY = "pickers:last-good:v1"


@dataclass
class Pickers:
    agents: list = field(default_factory=list)
    audiences: list = field(default_factory=list)
    phone_numbers: list = field(default_factory=list)
    fetched_at: object = None
    # Plain words shown above the form when Atoms could not be asked.
    error: str = ""

    def agent(self, agent_id: str):
        return next((a for a in self.agents if a.id == agent_id), None)

    def audience(self, audience_id: str):
        return next((a for a in self.audiences if a.id == audience_id), None)

    def phone_number(self, phone_id: str):
        return next((p for p in self.phone_numbers if p.id == phone_id), None)


def load_pickers(*, refresh: bool = False) -> Pickers:
    if not refresh:
        cached = _cache_get(_FRESH_KEY)
        if cached is not None:
            return cached
    client = atoms_client()
    try:
        pickers = Pickers(
            agents=[a for a in client.all_agents() if not a.archived],
            audiences=client.list_audiences(),
            phone_numbers=client.list_phone_numbers(),
            fetched_at=timezone.now(),
        )
    except atoms.AtomsError as error:
        last_good = _cache_get(_LAST_GOOD_KEY)
        if last_good is None:
            return Pickers(error=f"Could not load agents, audiences and numbers: "
                                 f"{error.user_message}")
        # Not "could not be reached": an error answer is an answer.
        last_good.error = (f"The lists could not be refreshed from Atoms ({error.user_message}); "
                           "those below may be out of date.")
        return last_good
    try:
        cache.set(_FRESH_KEY, pickers, settings.PICKER_CACHE_SECONDS)
        cache.set(_LAST_GOOD_KEY, pickers, None)
    except RedisError:
        health.mark_down()
    return pickers


def _cache_get(key: str):
    """The cache is Redis: when it is down the pickers come from Atoms, uncached."""
    try:
        return cache.get(key)
    except RedisError:
        health.mark_down()
        return None


def audience_named(name: str):
    """An audience of this name (any case and outer spaces), as last listed; None when
    there is none, or Atoms cannot list them. Two of one name are told apart in the
    campaign form's picker only by their counts (probe)."""
    wanted = name.strip().casefold()
    return next((a for a in load_pickers().audiences if a.name.strip().casefold() == wanted),
                None)


def forget_audiences() -> None:
    """After an upload the audience list changed: drop the cached copy."""
    try:
        cache.delete(_FRESH_KEY)
    except RedisError:
        health.mark_down()  # nothing cached to drop while Redis is away


@dataclass
class AudienceMembers:
    audience: object = None
    members: object = None
    # The contacts matching a search (no paging in Atoms' search), when one was asked.
    matches: tuple | None = None
    # The audience's columns besides its phone column, in order: what "Add a contact" asks
    # for and the table shows, the same whatever a search found (see _columns). None when
    # neither Atoms nor an earlier read could say them.
    columns: list | None = field(default_factory=list)
    # Plain words when Atoms could not be asked; the page says so instead of failing.
    error: str = ""


def audience_members(audience_id: str, page: int, page_size: int,
                     query: str = "") -> AudienceMembers | None:
    """One page of an audience's contacts, or those matching `query`; None when Atoms has
    no such audience."""
    found = AudienceMembers()
    client = atoms_client()
    first_page = None
    try:
        found.audience = client.get_audience(audience_id)
        if query:
            found.matches = client.search_audience_members(audience_id, query)
        else:
            found.members = client.list_audience_members(audience_id, page=page,
                                                         page_size=page_size)
        first_page = (found.members.items if found.members is not None and page == 1
                      else client.list_audience_members(audience_id, page=1,
                                                        page_size=page_size).items)
    except (ValueError, atoms.AtomsNotFound):
        return None
    except atoms.AtomsError as error:
        found.error = error.user_message
    if found.audience is not None:
        shown = (found.matches if found.matches is not None
                 else found.members.items if found.members is not None else ())
        found.columns = (_columns(found.audience, (*first_page, *shown)) if first_page is not None
                         else _remembered_columns(found.audience))
    return found


def audience_columns(audience) -> list[str]:
    """The audience's columns but its phone column, read off its first page of contacts
    (see _columns), or as last read when Atoms cannot list them now. Raises AtomsError
    when Atoms cannot be asked and they were never read."""
    try:
        first = atoms_client().list_audience_members(audience.id, page=1,
                                                     page_size=COLUMNS_SAMPLE)
    except atoms.AtomsError:
        remembered = _remembered_columns(audience)
        if remembered is None:
            raise
        return remembered
    return _columns(audience, first.items)


# Contacts read to learn an audience's columns (an upload gives each one every column).
COLUMNS_SAMPLE = 50


def _columns(audience, members) -> list[str]:
    """The audience's columns but its phone column. Atoms keeps no list of an audience's
    columns, so they are read off its contacts: the first page (an upload gives every
    contact every column of its file) and those shown. Taken from the shown ones alone,
    a search with no match left only the phone number, and contacts were added nameless.
    Remembered for when Atoms cannot list the contacts: "Add a contact" then asked for
    the number alone, and contacts added meanwhile had no name (probe)."""
    # In the file's order, as Atoms keeps each contact's keys: sorted, "name,phone,city"
    # showed as city, name (probe).
    columns = [key for key in dict.fromkeys(key for member in members for key in member.data)
               if key != audience.phone_column]
    try:
        cache.set(_columns_key(audience), columns, None)  # an audience never loses a column
    except RedisError:
        health.mark_down()
    return columns


def _remembered_columns(audience) -> list[str] | None:
    return _cache_get(_columns_key(audience))


def _columns_key(audience) -> str:
    return f"audience:columns:v1:{audience.id}"


def find_audience(audience_id: str):
    """An audience with its member count and the campaigns using it (from Atoms' list,
    the only shape that has them); None when Atoms has no such audience. Raises AtomsError
    when Atoms cannot be asked."""
    return next((a for a in atoms_client().list_audiences() if a.id == audience_id), None)


def get_audience(audience_id: str):
    """One audience, or None when Atoms has no such audience (or the id is malformed).
    Raises AtomsError when Atoms cannot be asked, as find_audience does: the page says so
    and keeps what was typed, which a None (a 404) or a 500 would lose."""
    try:
        return atoms_client().get_audience(audience_id)
    except (ValueError, atoms.AtomsNotFound):
        return None
