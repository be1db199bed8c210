"""How many requests a test web server is still answering, for a browser test's teardown.

A page a test closes may have asked the server for something a moment before (the call
log refreshes itself every few seconds). The server goes on answering it after the page
is gone, and what it caches then lands after the next test emptied the cache: the next
test, whose simulator world reuses the same campaign and call ids, was shown the earlier
world's call log (1 CI run in 4). So `new_page` waits, once a test's pages are closed,
until the server answers nothing more (tests/browser/conftest.py).

The count is the process's: one per request between its arrival at the outermost
middleware and its response (a streamed response counts until it is handed over, not
while it streams; the live stream is not Django's at all). ANSWERING_PATH reports it and
is not counted itself.
"""

import threading

from django.http import HttpResponse

ANSWERING_PATH = "/_tests/answering"


class CountingRequests:
    _lock = threading.Lock()
    _answering = 0  # per process: the test client loads the middleware again per Client

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == ANSWERING_PATH:
            return HttpResponse(str(CountingRequests._answering), content_type="text/plain")
        self._add(1)
        try:
            return self.get_response(request)
        finally:
            self._add(-1)

    @classmethod
    def _add(cls, change: int) -> None:
        with cls._lock:
            cls._answering += change
