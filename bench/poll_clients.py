"""poll_clients: the poller's Atoms reads on threads against asyncio, side by side.

Issue 15 asked whether "an async client on one event loop instead of a thread per request"
would cut the worker CPU per refreshed campaign. This reads the same 1,000 campaigns
(GET /campaign/{id}, 50 ms latency, the JSON parsed into the client's CampaignDetail) three
ways, alternated round by round so the machine's load falls on all three alike:

- threads: what poll.refresh does: POLL_CONCURRENCY (64) threads, each borrowing a client
  with one kept-alive connection (connections.poller_client), `client.get_campaign`;
- httpx async: 64 coroutines on one event loop, each with an httpx.AsyncClient of one
  connection (one shared pool scans its connections per request: encode/httpcore#1035);
- httpcore async: the same with httpcore.AsyncConnectionPool directly, without httpx.

CPU is this process's (all threads), per read. No budget, no database: only the HTTP stack.
"""

import asyncio
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from bench import harness
from bench.harness import Row

NAME = "poll_clients"
COUNT = 1000
CONCURRENCY = 64


def run(ctx) -> list[Row]:
    import httpcore
    import httpx
    from django.conf import settings

    from campaigns.atoms.transport import USER_AGENT, normalise_base_url
    from campaigns.atoms.types import parse_campaign_detail
    from campaigns.connections import poller_client, redis_client
    from campaigns.live.budget import RequestBudget

    sim = ctx.sim
    harness.reset_world(sim)
    harness.say(f"poll_clients: creating {COUNT} running campaigns")
    ids = [c.atoms_id for c in harness.create_running_campaigns(sim, COUNT)]
    base = normalise_base_url(settings.SMALLEST_BASE_URL)
    headers = {"Authorization": f"Bearer {settings.SMALLEST_API_KEY}",
               "User-Agent": USER_AGENT, "Accept": "application/json"}

    budget = RequestBudget(redis_client(), harness.BENCH_MAX_RPS)

    def threads(*, with_budget: bool = False) -> list:
        def read(atoms_id):
            if with_budget:
                budget.acquire()
            with poller_client() as client:
                return client.get_campaign(atoms_id)

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            return list(pool.map(read, ids))

    async def on_one_loop(open_connection, get_json) -> list:
        waiting, found = list(ids), []

        async def reader(connection):
            while waiting:
                data = await get_json(connection, waiting.pop())
                found.append(parse_campaign_detail(data["data"]))

        connections = [open_connection() for _ in range(CONCURRENCY)]
        try:
            await asyncio.gather(*(reader(connection) for connection in connections))
        finally:
            for connection in connections:
                await connection.aclose()
        return found

    async def httpx_get(client, atoms_id):
        return (await client.get(f"/campaign/{atoms_id}")).json()

    raw_headers = [(name.encode(), value.encode()) for name, value in headers.items()]

    async def httpcore_get(pool, atoms_id):
        response = await pool.request("GET", f"{base}/campaign/{atoms_id}",
                                      headers=raw_headers)
        return json.loads(response.content)

    stacks = {
        "threads (the poller)": threads,
        "threads, each read through the request budget": lambda: threads(with_budget=True),
        "httpx.AsyncClient on one loop": lambda: asyncio.run(on_one_loop(
            lambda: httpx.AsyncClient(base_url=base, headers=headers,
                                      limits=httpx.Limits(max_connections=1)), httpx_get)),
        "httpcore.AsyncConnectionPool on one loop": lambda: asyncio.run(on_one_loop(
            lambda: httpcore.AsyncConnectionPool(max_connections=1), httpcore_get)),
    }
    seen: dict[str, list[tuple[float, float]]] = {name: [] for name in stacks}
    sim.faults(latency_ms=harness.ATOMS_LATENCY_MS)
    try:
        for read_all in stacks.values():  # warm-up: clients, connections, imports
            read_all()
        for round_number in range(ctx.size(5, 2)):
            for name, read_all in stacks.items():
                cpu, wall = time.process_time(), time.perf_counter()
                found = read_all()
                if len(found) != COUNT:
                    raise RuntimeError(f"{name} read {len(found)} of {COUNT}")
                seen[name].append((time.perf_counter() - wall, time.process_time() - cpu))
            harness.say(f"poll_clients: round {round_number + 1} done")
    finally:
        sim.clear_faults()
    threads_cpu = statistics.median(cpu for _, cpu in seen["threads (the poller)"])
    rows = []
    for name, runs in seen.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        rows.append(Row(NAME, f"{COUNT} reads, {CONCURRENCY} at a time, {name}: wall; CPU "
                              f"per read (median of {len(runs)}); CPU against threads",
                        f"{wall:.2f} s; {cpu / COUNT * 1000:.2f} ms; "
                        f"{cpu / threads_cpu:.2f}x"))
    return rows
