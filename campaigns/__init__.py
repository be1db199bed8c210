"""The campaign dashboard app. Module map, top to bottom (imports only point down):

views/          one module per thing a person sees: campaigns (list, new, detail,
                actions), calls (call log, one call, recording, live transcript,
                downloads), notifications (alerts), alert_routing, board, audiences, numbers,
                activity, users (people and roles), signin (the page, the lockout);
                `shared` holds what several pages use. Views validate with `forms`,
                check `permissions`, and call `services` for anything that acts; pages
                read the mirror and the live cache, never Atoms.
forms.py        every input limit, with the message beside its field.
permissions.py  the role table (staff, manager, admin) and the `require_perm` decorator.
ratelimit.py    per-user limit on requests that call Atoms; refusals logged once a burst.
kept_input.py   what a refused form had typed (limit reached, token expired), offered back.
accounts.py     people and roles: create, change role, deactivate (audited); the one
                place that gives a role, never superuser.
known_devices.py  browsers a person signed in from: let past a lockout someone else
                caused, throttled on their own.
health.py       /healthz and /readyz (a bare ASGI app, like the stream).
checks.py       `check --deploy`: the development SECRET_KEY is an error.
services.py     the campaign operations (create, start, pause, delete): the one place
                that joins the Atoms client, the database, the audit log and publishing.
audiences.py    the audience operations the same way: the two-step upload, members,
                delete, and starting a copy of a campaign without do-not-call numbers.
suppression.py  the do-not-call list (ours merged with Atoms' GET /dnc) and the check
                before a start or resume, against the campaign's own contacts.
contacts_csv.py reading a contacts file and judging each row (E.164 via phonenumbers);
                pure functions, no database or Atoms.
catalog.py      what campaigns are made from (agents, audiences, phone numbers), read from
                Atoms and cached; an audience's members as a drill-down.
tasks.py        Celery entry points, thin: they call `live` (and `audiences` for a large
                upload).
live/           keeping numbers live: `poll` (claim due campaigns, fetch, apply per
                campaign), `sync` (campaigns made or deleted elsewhere), `publish`
                (render the watched fragments once per change, cache, Redis pub/sub),
                `stream` (the SSE endpoint, an ASGI app; `sessions`, who is signed in
                behind its viewers' cookies, all at once; `compress`, gzip with each
                frame deflated once for all viewers), `budget` (the cross-worker
                request budget), `health` (is Redis reachable: pages say when live
                updates are paused).
outcomes.py     what happened to a campaign's calls: each call's category, the call
                logs the poller copies (CallRecord) and the breakdown with cost.
call_logs.py    drill-down reads of calls (call-log pages, one call, its attempts,
                recording links), cached briefly; recording links never.
exports.py      the two CSV exports relayed from Atoms as they stream, formula-safe.
alerts.py       alert episodes (finished, stopped by Atoms, stalled, many calls failing,
                not carried out), checked by a beat task; people told once, in the
                dashboard and by email, as an admin routed them.
webhooks.py     alerts to teams' webhooks (Slack's JSON): one delivery per episode and
                webhook, retried with backoff, every failure kept and shown.
calling_hours.py  daily calling windows in a campaign's time zone: what a person typed,
                when a window opens and closes (pure).
keep_hours.py   the beat's rule at a window's edges: pause, resume (never over a
                do-not-call number awaiting a retry that no person agreed to call).
preflight.py    the check before Start: contacts, do-not-call numbers, the numbers it
                calls from, the time at its agent's past pace, what will stop it.
progress.py     how a campaign is moving: when it last moved, stalled or not, and the
                time to finish from its recent dialing rate (pure, from snapshots).
explain.py      "why isn't it dialing?": one sentence, cause and what to do, from what
                is mirrored; rendered with the live fragments.
mirror.py       how what Atoms says lands on a mirror row (one mapping for create, sync
                and poll).
audit.py        the activity log, and who asked for each of Atoms' campaign events.
models.py       the mirror of Atoms campaigns and what Atoms does not keep (snapshots,
                audit entries, create requests); the one "active" rule and the field
                lists the mirror is judged by.
connections.py  process-wide Atoms clients, Redis client and request budget.
atoms/          the only code that speaks HTTP to Atoms: client, transport, responses,
                errors, types (with the one campaign status enum), calls (call logs,
                one call, retries, live events), coerce.
charts.py       server-rendered SVG charts.
templatetags/   `when`: times in words for pages ("just now", "in under a minute").
"""
