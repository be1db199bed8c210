"""Real Chromium (Debian's), driven by Playwright, against uvicorn serving the project."""

import os
import re
import time
from urllib.parse import urlparse

import httpx
import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

from dashboard.processes import POLL_INTERVAL, session_cookie
from tests.conftest import PASSWORD
from tests.requests_answering import ANSWERING_PATH

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are still plain synchronous calls, so allow them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
# After the status shows, the buttons are one request away (the status event makes the
# page fetch them): quick, but on a loaded two-core machine it has taken over 3 s.
BUTTONS_FOLLOW = 8_000
# Flags that keep Chromium from reaching for Google's services on this closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


def pytest_collection_modifyitems(items):
    """Marks the browser tests, and runs the modules that start with a Celery worker one
    after another (tests/plugins/servers.py hands a worker on between such modules rather
    than starting another); each module's tests keep their order."""
    places = [index for index, item in enumerate(items) if "tests/browser/" in str(item.fspath)]
    modules: dict[str, list] = {}
    for index in places:
        items[index].add_marker(pytest.mark.browser)
        modules.setdefault(str(items[index].fspath), []).append(items[index])

    def worker_modules_last(path: str) -> tuple:
        tests = modules[path]
        return ("celery_worker" in tests[0].fixturenames,
                any("celery_worker" in test.fixturenames for test in tests), path)

    ordered = [test for path in sorted(modules, key=worker_modules_last) for test in modules[path]]
    for index, test in zip(places, ordered, strict=True):
        items[index] = test


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test's report ends with what its web server and Celery worker
    logged (a page only sees a stream end or a request fail; the servers say why)."""
    report = yield
    if report.failed:
        for name in ("web_server", "celery_worker"):
            server = item.funcargs.get(name)
            if server is not None:
                process = getattr(server, "process", server)
                report.sections.append((f"{name} log (last 4,000 characters)",
                                        process.output()))
    return report


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# The page that keeps a pooled context's renderer process alive between tests (below):
# /healthz answers without I/O and runs no script.
KEEPER_PATH = "/healthz"


@pytest.fixture(scope="session")
def _contexts_between_tests(chromium, web_server):
    """Browser contexts a test finished with, emptied, for the next test's `new_page()`.

    Most of a browser test's CPU was Chromium starting: a new context's first page took two
    renderer processes and about 2 s of CPU on this machine's cores before the test did
    anything, a later page in a context whose renderer still runs less than half. Each
    context here keeps one page open on KEEPER_PATH, so its renderer outlives the tests'
    pages; a test gets it with no cookies, routes or permissions left (see `_emptied`), and
    pages of its own (their history, session storage and handlers go with them)."""
    contexts: list = []
    yield contexts
    for context in contexts:
        context.close()


def _emptied(context) -> bool:
    """Close a pooled context's test pages and clear what outlives a page; False when the
    test closed it or moved its keeper, so it is closed rather than passed on."""
    try:
        keeper, *used = context.pages
        if urlparse(keeper.url).path != KEEPER_PATH:
            return False
        for page in used:
            page.close()
        context.unroute_all(behavior="ignoreErrors")
        context.clear_cookies()
        context.clear_permissions()
        context.set_offline(False)
        context.set_default_timeout(15_000)
        return True
    except (PlaywrightError, ValueError):
        return False


@pytest.fixture
def new_page(chromium, web_server, _contexts_between_tests):
    """`new_page()` opens a page in a browser context of its own (its own cookies) on the
    web server, one an earlier test emptied when there is one; `new_page(has_touch=True)`
    one with a touch screen, in a context made for it."""
    pool = _contexts_between_tests
    taken = []

    def open_page(**options):
        if not options and pool:
            context = pool.pop()
        else:
            context = chromium.new_context(base_url=web_server.url, **options)
            context.set_default_timeout(15_000)
            if not options:
                context.new_page().goto(KEEPER_PATH)
        taken.append((context, not options))
        return context.new_page()

    yield open_page
    for context, poolable in taken:
        if poolable and _emptied(context):
            pool.append(context)
        else:
            context.close()
    if taken:
        _wait_until_answered(web_server)


def _wait_until_answered(web_server, timeout: float = 30) -> None:
    """Wait until the server has answered every request of the pages just closed, so none
    caches anything after the next test emptied the cache (tests/requests_answering.py)."""
    deadline = time.monotonic() + timeout
    while (answering := int(httpx.get(web_server.url + ANSWERING_PATH).text)) > 0:
        if time.monotonic() > deadline:
            pytest.fail(f"The web server was still answering {answering} request(s) of this "
                        f"test {timeout:.0f} s after its pages closed.")
        time.sleep(0.02)


@pytest.fixture
def server_settings(atoms_settings):
    """Settings for code the test runs in-process (the campaign factory polls and renders
    live fragments): the simulator, and the servers' poll interval, so a fragment rendered
    here judges staleness the way the worker's own do."""
    atoms_settings.POLL_INTERVAL_SECONDS = POLL_INTERVAL
    return atoms_settings


def sign_in_by_form(page, username: str):
    """Sign in as a person does: the form, then wherever it leads."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def sign_in(page, username: str):
    """`page` as `username` sees it once signed in: on their landing page, with the session
    cookie the form would have set. Tests about something after the sign-in start here: the
    form's page, typing and click cost about 1.2 s of Chromium's CPU a sign-in on this
    machine. The form itself is driven by `sign_in_by_form` (test_navigation.py, the role
    walks, test_csp.py)."""
    cookie = session_cookie(get_user_model().objects.get(username=username))
    # Cookies are a host's, whatever the port: every test server is on 127.0.0.1.
    page.context.add_cookies([{"name": name, "value": value, "domain": "127.0.0.1", "path": "/"}
                              for name, value in cookie.items()])
    page.goto("/")
    return page


# A desktop and a phone: what a person sees is checked at both.
WIDTHS = (1280, 390)


def signed_in_at_each_width(new_page, username: str) -> list:
    """One page per width in WIDTHS, each signed in as `username`. A test that waits on the
    servers' clock (a stall, a scheduled start) watches them side by side, so the wait is
    had once, not once per width."""
    pages = []
    for width in WIDTHS:
        page = sign_in(new_page(), username)
        page.set_viewport_size({"width": width, "height": 900})
        pages.append(page)
    return pages


# Every text the announcer takes (its emptying between two sayings left out) in
# `window.said`, and the node itself, to tell it was never replaced.
RECORD_ANNOUNCEMENTS = """() => {
  const announcer = document.getElementById('announcer');
  window.announcerNode = announcer;
  window.said = [];
  new MutationObserver(() => {
    const text = announcer.textContent.trim();
    if (text) window.said.push(text);
  }).observe(announcer, {childList: true, characterData: true, subtree: true});
}"""


def wait_in_page(page, condition, timeout: float = 15) -> None:
    """Wait until `condition()` holds, letting the page run meanwhile (its route handlers
    too, which the sync API calls only while Playwright is waited on)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)


class HeldAnswers:
    """The first htmx request to each of `paths` ({path: name}) is answered by the server at
    once and kept from the page until `deliver`: it arrives as late as a slow network would
    bring it, in an order the test chooses. Later requests to those paths go through."""

    def __init__(self, page, paths: dict[str, str]):
        self.held: dict[str, tuple] = {}

        def hold_the_first(route):
            name = paths[urlparse(route.request.url).path]
            if name in self.held or route.request.headers.get("hx-request") != "true":
                route.continue_()
                return
            self.held[name] = (route, route.fetch())

        page.route(lambda url: urlparse(url).path in paths, hold_the_first)

    def text(self, name: str) -> str:
        return self.held[name][1].text()

    def deliver(self, *names: str) -> None:
        for name in names:
            route, answer = self.held[name]
            route.fulfill(response=answer)


def collect_page_errors(page, expected: tuple[str, ...] = ()) -> list[str]:
    """Uncaught exceptions and console errors on `page`, for a test to assert it stays empty.

    Failed loads are left out: a 422 form page or a deliberately blocked stream logs one,
    and the tests check those responses themselves. `expected` holds regular expressions
    for console errors the test provokes on purpose (matched against the whole text).
    """
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))

    def on_console(message):
        if (message.type == "error" and "Failed to load resource" not in message.text
                and not any(re.fullmatch(pattern, message.text) for pattern in expected)):
            errors.append(f"console: {message.text}")

    page.on("console", on_console)
    return errors


AXE_SOURCE = os.path.join(os.path.dirname(__file__), "node_modules", "axe-core", "axe.min.js")


def axe_findings(page) -> dict[str, list[str]]:
    """axe-core's serious or critical violations and its "needs review" items on the page
    as it is now, each as "rule: target". `make test` installs axe-core from npm
    (tests/browser/package-lock.json). Evaluated rather than added as a <script> tag, so a
    Content-Security-Policy without inline scripts does not block it."""
    if not os.path.exists(AXE_SOURCE):
        pytest.fail("axe-core is missing: run `npm ci --prefix tests/browser` (make test does).")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        with open(AXE_SOURCE, encoding="utf-8") as source:
            page.evaluate(source.read())
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations', 'incomplete']})")

    def describe(items):
        return [f"{item['id']}: {node['target']} {node.get('failureSummary') or ''}".strip()
                for item in items for node in item["nodes"]]

    serious = [item for item in result["violations"]
               if item["impact"] in ("serious", "critical")]
    return {"violations": describe(serious), "needs_review": describe(result["incomplete"])}


def assert_accessible(page, attempts: int = 3) -> None:
    """No findings. A live page may swap a fragment while axe walks it (then axe cannot
    place a heading it saw a moment ago): a finding counts if it is there on every one of
    `attempts` runs, since a real one is there each time."""
    for _ in range(attempts):
        findings = axe_findings(page)
        if findings == {"violations": [], "needs_review": []}:
            return
        page.wait_for_timeout(300)
    assert findings == {"violations": [], "needs_review": []}, (page.url, findings)


def assert_fits_width(page) -> None:
    """Nothing makes the page scroll sideways (a phone at 390 px)."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def let_the_numbers_move(page, sim, timeout: float = 15_000) -> None:
    """The simulator dials a minute a second until the page's called count changes live."""
    called = page.get_by_test_id("metric-called").first
    before = called.inner_text()
    sim.set_speed(60)
    try:
        expect(called).not_to_have_text(before, timeout=timeout)
    finally:
        sim.set_speed(0)
