"""WhiteNoise for the test processes: the static files are looked up once per process.

Django's test client loads the middleware again for every `Client` (each test's `client`
fixture makes one), and WhiteNoise, told to serve through the finders
(WHITENOISE_USE_FINDERS, so the demo needs no collectstatic), reads every static file's
size, type and headers as it loads: about 170 files (Django admin's too), 70 ms of CPU a
test on this machine. A server loads its middleware once, so this only matters here.
What is served, and how, is WhiteNoise's own: the files it found the first time are the
ones it would find again (the suite changes no static file).
"""

from whitenoise.middleware import WhiteNoiseMiddleware


class WhiteNoiseLookingUpOnce(WhiteNoiseMiddleware):
    _found: dict = {}  # URL -> WhiteNoise's StaticFile, as the first instance found them

    def add_files_from_finders(self):
        if not self._found:
            super().add_files_from_finders()
            type(self)._found = dict(self.files)
        else:
            self.files.update(self._found)
