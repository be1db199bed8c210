"""The demo world a fresh simulator starts with, so no screen is ever empty.

Everything is drawn from `random.Random(seed)` and built through the same code paths as
the API (audience upload, campaign create, start, pause, the dialer), so the seeded
history obeys exactly the rules a client will later observe.
"""

import random

from . import dialer
from .routes_audiences import create_audience
from .routes_campaigns import create_campaign
from .routes_dnc import add_entry
from .wire import object_id
from .world import World

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# fmt: off
INDIAN_FIRST = (
    "Aarav", "Aditya", "Ananya", "Arjun", "Asha", "Deepa", "Diya", "Farhan", "Gaurav",
    "Harpreet", "Ishaan", "Kavya", "Kiran", "Lakshmi", "Manoj", "Meera", "Neha", "Nikhil",
    "Pooja", "Priya", "Rahul", "Rohan", "Saanvi", "Siddharth", "Sneha", "Tanvi", "Vikram",
    "Vivaan", "Yash", "Zoya"
)
INDIAN_LAST = (
    "Banerjee", "Chatterjee", "Das", "Desai", "Gupta", "Iyer", "Joshi", "Kapoor", "Khan",
    "Kulkarni", "Mehta", "Menon", "Nair", "Patel", "Pillai", "Rao", "Reddy", "Sharma", "Singh",
    "Verma"
)
INDIAN_CITIES = ("Mumbai", "Pune", "Thane", "Navi Mumbai")
US_FIRST = (
    "Ashley", "Ava", "Barbara", "Betty", "Charles", "Chloe", "Christopher", "Daniel", "David",
    "Elizabeth", "Emily", "Ethan", "James", "Jennifer", "Jessica", "John", "Joseph", "Karen",
    "Liam", "Linda", "Lisa", "Lucas", "Mark", "Mary", "Matthew", "Mia", "Michael", "Nancy",
    "Noah", "Olivia", "Patricia", "Richard", "Robert", "Sandra", "Sarah", "Sophia", "Susan",
    "Thomas", "William"
)
US_LAST = (
    "Anderson", "Brown", "Clark", "Davis", "Garcia", "Gonzalez", "Harris", "Hernandez",
    "Jackson", "Johnson", "Jones", "Lee", "Lewis", "Lopez", "Martin", "Martinez", "Miller",
    "Moore", "Perez", "Ramirez", "Robinson", "Rodriguez", "Sanchez", "Smith", "Taylor",
    "Thomas", "Thompson", "White", "Williams", "Wilson"
)
# fmt: on
# 555-0100..0199 is reserved for fiction in every North American area code.
US_AREA_CODES = ("206", "212", "303", "305", "312", "404", "415", "512", "617", "702")

# fmt: off
AGENTS = (
    # name, workflowType, language, voice, description, archived
    ("Renewals Assistant", "single_prompt", "en", ("nyah", "female"),
     "Reminds customers that their policy is up for renewal and books a callback.", False),
    ("Appointment Reminder", "workflow_graph", "hi", ("arnav", "male"),
     "Confirms tomorrow's appointment and offers to reschedule.", False),
    ("Payment Follow-up", "single_prompt", "en", ("emily", "female"),
     "Follows up on an overdue invoice and shares a payment link by SMS.", False),
    ("Lead Qualifier (2024)", "single_prompt", "en", ("nyah", "female"),
     "Asked three qualifying questions; replaced by the Renewals Assistant.", True),
)
# fmt: on

PHONES = (
    # provider, country, area code, number, active
    ("plivo", "IN", "22", "+912268093560", True),
    ("plivo", "IN", "80", "+918047181234", True),
    ("twilio", "US", "415", "+14155550142", True),
    ("twilio", "US", "646", "+16465550187", False),
)


def build(seed: int, now: int) -> World:
    world = World.empty(seed, now)
    rng = random.Random(seed)
    agents = _agents(world, now)
    phones = _phones(world, agents, now)
    pilot = _audience(world, rng, "Pilot testers", 2, "india", now - 5 * DAY)
    mumbai = _audience(world, rng, "Mumbai leads - March", 50, "india", now - 4 * DAY)
    renewals = _audience(world, rng, "US renewals Q3", 1000, "us", now - 2 * DAY)
    # fmt: off
    plans = [
        # name, agent, audience, phones, maxRetries, retryDelay, created, started, paused
        ("Mumbai leads - first touch", agents[1], mumbai, phones[:2], 2, 30,
         now - 3 * DAY, now - 3 * DAY + 15 * MINUTE, None),
        ("Mumbai leads - follow-up", agents[0], mumbai, phones[:1], 3, 15,
         now - DAY, now - DAY + 5 * MINUTE, now - DAY + 25 * MINUTE),
        ("Pilot run", agents[0], pilot, phones[:1], 2, 30, now - 2 * HOUR, None, None),
        ("US renewals - Q3 wave 1", agents[2], renewals, phones[2:3], 3, 15,
         now - 30 * MINUTE, None, None),
    ]
    # fmt: on
    for name, agent, audience, numbers, retries, delay, created, start, pause in plans:
        body = {
            "name": name,
            "agentId": agent["_id"],
            "audienceId": audience["_id"],
            "phoneNumberIds": [phone["_id"] for phone in numbers],
            "description": "",
            "maxRetries": retries,
            "retryDelay": delay,
        }
        campaign = create_campaign(world, body, created)
        if start is not None:
            dialer.request_start(world, campaign, start)
        if pause is not None:
            dialer.request_pause(world, campaign, pause)
    # Numbers in no seeded audience, so seeded campaigns start without a do-not-call warning.
    add_entry(world, "+442079460000", source="manual_upload", at=now - 6 * DAY)
    add_entry(world, "+442079460001", agent_id=agents[1]["_id"], source="call_outcome",
              at=now - 3 * DAY)
    world.advance_all()
    return world


def _agents(world: World, now: int) -> list[dict]:
    agents = []
    for index, (name, workflow, language, voice, description, archived) in enumerate(AGENTS):
        created = now - (40 - index * 7) * DAY
        agent_id = world.new_id()
        agent = {
            "_id": agent_id,
            "name": name,
            "description": description,
            "organization": world.state["organizationId"],
            "workflowId": object_id(world.seed, agent_id, "workflow"),
            "workflowType": workflow,
            "createdBy": world.state["userId"],
            "language": {
                "default": language,
                "supported": sorted({language, "en"}),
                "switching": {"isEnabled": language != "en"},
            },
            "synthesizer": {
                "voiceConfig": {
                    "model": "waves_lightning_v3_1",
                    "voiceId": voice[0],
                    "gender": voice[1],
                },
                "speed": 1.2,
            },
            "slmModel": "electron",
            "avatarUrl": "",
            "firstMessage": f"Hello! This is the {name.split(' (')[0]} calling.",
            "prompt": f"You are a polite phone agent. {description}",
            "totalCalls": 0,
            "archived": archived,
            "allowInboundCall": False,
            "activeVersionId": object_id(world.seed, agent_id, "version"),
            "versionId": object_id(world.seed, agent_id, "version"),
            "visibleToEveryone": True,
            "createdAt": created,
            "updatedAt": created + DAY,
        }
        if archived:
            agent["archivedAt"] = created + 5 * DAY
        world.agents[agent_id] = agent
        agents.append(agent)
    return agents


def _phones(world: World, agents: list[dict], now: int) -> list[dict]:
    phones = []
    for index, (provider, country, area, number, active) in enumerate(PHONES):
        created = now - (60 - index * 10) * DAY
        phone = {
            "_id": world.new_id(),
            "productType": "telephony",
            "isActive": active,
            "agentId": None,
            "attributes": {
                "provider": provider,
                "phoneNumber": number,
                "countryCode": country,
                "areaCode": area,
            },
            "createdAt": created,
            "updatedAt": created + 2 * DAY,
        }
        world.phone_numbers[phone["_id"]] = phone
        phones.append(phone)
    # The first number belongs to the first agent: its default caller id.
    phones[0]["agentId"] = agents[0]["_id"]
    agents[0]["phoneNumber"] = [phones[0]["attributes"]["phoneNumber"]]
    return phones


def _audience(world: World, rng: random.Random, name: str, size: int, region: str, at: int):
    if region == "india":
        numbers = rng.sample(range(10**9), size)
        rows = [
            {
                "firstName": rng.choice(INDIAN_FIRST),
                "lastName": rng.choice(INDIAN_LAST),
                "phoneNumber": f"+919{number:09d}",
                "city": rng.choice(INDIAN_CITIES),
            }
            for number in numbers
        ]
    else:
        slots = rng.sample(range(len(US_AREA_CODES) * 100), size)
        rows = []
        for slot in slots:
            first, last = rng.choice(US_FIRST), rng.choice(US_LAST)
            rows.append(
                {
                    "firstName": first,
                    "lastName": last,
                    "phoneNumber": f"+1{US_AREA_CODES[slot // 100]}55501{slot % 100:02d}",
                    "email": f"{first}.{last}{slot}@example.com".lower(),
                }
            )
    description = f"{size} contacts uploaded from CSV"
    return create_audience(
        world,
        name=name,
        description=description,
        phone_column="phoneNumber",
        identifier="firstName",
        rows=rows,
        now=at,
    )
