"""Settings for the campaign dashboard: one file, everything from the environment.

Every variable is listed with a line of explanation in `.env.example`.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
from django.core.exceptions import ImproperlyConfigured

from dashboard.env import env_bool, env_database, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# Demo mode (set by `make run`) is the only mode that may create the demo users.
DEMO_MODE = env_bool("DEMO_MODE", False)

DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY if (DEBUG or DEMO_MODE) else None)
if not (DEBUG or DEMO_MODE) and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set to a secret value when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
# The development key is only for a demo on this machine: served to any other host,
# anyone who has read this file could sign a session as anyone.
if SECRET_KEY == DEV_SECRET_KEY and not set(ALLOWED_HOSTS) <= {
        "127.0.0.1", "localhost", "::1", "[::1]", ".localhost"}:
    raise ImproperlyConfigured("SECRET_KEY must be set when ALLOWED_HOSTS names other hosts "
                               "than this machine (the development key is public)")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    # Django's admin, for superusers only (dashboard/admin.py).
    "dashboard.apps.SuperuserAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Django's own form templates, for the TemplatesSetting renderer of campaigns.forms.
    "django.forms",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "campaigns",
]

MIDDLEWARE = [
    # First: every line logged while a request runs carries its X-Request-ID.
    "dashboard.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Permissions-Policy, and no-store on signed-in pages (dashboard/security.py).
    "dashboard.security.HeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page requires sign-in unless its view is marked @login_not_required; a
    # background htmx request is sent to sign-in as a whole page (dashboard/signin.py).
    "dashboard.signin.SignInRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Per-user limit on requests that call Atoms on demand (campaigns/ratelimit.py).
    "campaigns.ratelimit.AtomsRequestLimitMiddleware",
    # What a page asks of Atoms is over within ATOMS_PAGE_DEADLINE_SECONDS.
    "campaigns.ratelimit.AtomsDeadlineMiddleware",
    # A bare 405 (GET on an action address) becomes a page that says what to do.
    "campaigns.errors.FriendlyErrorsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the page that says so.
    "axes.middleware.AxesMiddleware",
]
# A missing or stale form token: a page that offers the typed fields back.
CSRF_FAILURE_VIEW = "campaigns.errors.csrf_failure"

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"
ASGI_APPLICATION = "dashboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "campaigns.permissions.role_context",
                "campaigns.views.shared.live_state",
                "campaigns.views.notifications.unread",
            ],
        },
    }
]

DATABASES = {
    "default": env_database("DATABASE_URL", "sqlite:///db.sqlite3", base_dir=BASE_DIR)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss"))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "dash",
        "TIMEOUT": 300,
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out sign-in before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, but a deactivated person's right password is told "inactive".
    "campaigns.accounts.SaysDeactivatedBackend",
]
# --- Sign-in throttling (django-axes, database backend: shared by every web process) ---
# After this many wrong passwords for one username, or from one address, that username
# or address is locked out (each on its own) until the cool-off has passed.
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = timedelta(
    minutes=env_int("SIGNIN_COOLOFF_MINUTES", 15, minimum=1, maximum=24 * 60))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A sign-in forgets only the wrong passwords typed for that name from that address
# (campaigns/accounts.py `forget_own_failed_sign_ins`): axes' own reset on success forgot
# every failure from the address, so anyone with an account could sign in between guesses
# at someone else's password and never be locked out.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "campaigns.views.signin.locked_out"
# A browser that signed in as a person before is let through a lockout of their name or
# address that someone else caused, under a limit of its own (campaigns/known_devices.py).
AXES_HANDLER = "campaigns.known_devices.KnownDeviceHandler"
KNOWN_DEVICE_DAYS = env_int("KNOWN_DEVICE_DAYS", 90, minimum=1, maximum=3650)
# A wrong guess during the lockout must not push the release further away for the real
# person behind a shared address.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The address is REMOTE_ADDR; behind a proxy, uvicorn's --forwarded-allow-ips sets it from
# X-Forwarded-For (see README, Production).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Only for `collectstatic` in production builds; unset, WhiteNoise serves from the finders.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
# WhiteNoise serves straight from the finders, so the demo and the tests need no
# collectstatic step; production may still run collectstatic for compressed copies.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security: on by default whenever DEBUG is off; HTTPS=0 for plain-HTTP local runs ---
HTTPS = env_bool("HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts only from our origin, never inline or eval
# (htmx is told so in base.html's htmx-config meta tag, and its polling filter is done in
# static/js/app.js instead). No inline styles either, elements or attributes: every look
# lives in static/css/app.css (tests/test_templates_markup.py keeps templates that way).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Atoms ---
# Unset key: the dashboard talks to the bundled simulator (whose default key is sim-key).
SMALLEST_API_KEY = env_str("SMALLEST_API_KEY", "sim-key")
SMALLEST_BASE_URL = env_url(
    "SMALLEST_BASE_URL", "http://127.0.0.1:8765/atoms/v1", schemes=("http", "https")
)
# Call recordings play in the page from the short-lived link Atoms hands out (a signed
# storage URL on a host it chooses): media only, from HTTPS or from Atoms' own origin
# (the simulator's, in the demo). Scripts and frames stay 'self'.
_atoms_origin = "{0.scheme}://{0.netloc}".format(urlsplit(SMALLEST_BASE_URL))
CONTENT_SECURITY_POLICY["DIRECTIVES"]["media-src"] = ["'self'", "https:", _atoms_origin]
ATOMS_CONNECT_TIMEOUT = env_int("ATOMS_CONNECT_TIMEOUT", 5, minimum=1, maximum=60)
ATOMS_READ_TIMEOUT = env_int("ATOMS_READ_TIMEOUT", 15, minimum=1, maximum=120)
# A page's Atoms requests, retries and waits included, give up this long after the page was
# asked for (campaigns.ratelimit.AtomsDeadlineMiddleware); workers have no such bound.
ATOMS_PAGE_DEADLINE_SECONDS = env_int("ATOMS_PAGE_DEADLINE_SECONDS", 30, minimum=5,
                                      maximum=600)
# How long a second submit of the same create form waits for the first one's answer.
DUPLICATE_SUBMIT_WAIT_SECONDS = 20
# The poller never sends more than this many requests per second to Atoms, across workers.
ATOMS_MAX_RPS = env_int("ATOMS_MAX_RPS", 50, minimum=1, maximum=10000)
# Each person may make this many requests a minute that call Atoms on demand (actions,
# ?refresh=1); more are refused with a sentence (campaigns/ratelimit.py).
USER_ATOMS_REQUESTS_PER_MINUTE = env_int("USER_ATOMS_REQUESTS_PER_MINUTE", 30,
                                         minimum=1, maximum=10000)
# The call log's table refreshes itself every POLL_INTERVAL_SECONDS: those refreshes that
# reach Atoms have an allowance of their own per person and minute (12 per tab left open),
# so tabs left open never use up the one above, and a script cannot multiply it.
USER_CALL_LOG_REFRESHES_PER_MINUTE = env_int("USER_CALL_LOG_REFRESHES_PER_MINUTE", 60,
                                             minimum=1, maximum=10000)
# Agents, audiences and phone numbers for the pickers are cached this long.
PICKER_CACHE_SECONDS = env_int("PICKER_CACHE_SECONDS", 300, minimum=0, maximum=86400)
# Call-log pages and one call's detail (drill-downs read from Atoms) are cached this
# long, so a tab open in many browsers costs one Atoms request per page and period.
CALL_LOG_CACHE_SECONDS = env_int("CALL_LOG_CACHE_SECONDS", 5, minimum=0, maximum=300)
# A live call transcript gives up when Atoms sends nothing for this long (seconds).
CALL_LIVE_IDLE_SECONDS = env_int("CALL_LIVE_IDLE_SECONDS", 60, minimum=5, maximum=600)
# While it waits, it sends a comment this often so proxies keep the stream open.
CALL_LIVE_KEEPALIVE_SECONDS = 15
# The country whose national numbers ("(415) 555-0100", "020 7946 0000") an upload reads,
# unless the person uploading picks another; an ISO 3166 two-letter code.
AUDIENCE_DEFAULT_REGION = env_str("AUDIENCE_DEFAULT_REGION", "US").strip().upper()
if AUDIENCE_DEFAULT_REGION not in phonenumbers.SUPPORTED_REGIONS:
    raise ImproperlyConfigured("AUDIENCE_DEFAULT_REGION must be a two-letter country code "
                               f"such as US or IN, not {AUDIENCE_DEFAULT_REGION!r}")
# Contacts per request to Atoms; a larger file is sent in the background with progress.
AUDIENCE_UPLOAD_BATCH = env_int("AUDIENCE_UPLOAD_BATCH", 1000, minimum=10, maximum=10000)

# --- Live numbers ---
POLL_INTERVAL_SECONDS = env_int("POLL_INTERVAL_SECONDS", 5, minimum=1, maximum=3600)
POLL_CONCURRENCY = env_int("POLL_CONCURRENCY", 64, minimum=1, maximum=512)
# An active set larger than this is split into chunks polled by whichever workers are free.
POLL_CHUNK_SIZE = env_int("POLL_CHUNK_SIZE", 200, minimum=1, maximum=10000)
# A running campaign that reads unchanged tick after tick is read up to this many intervals
# apart until it moves again (campaigns/models.py, QUIET_SPACING); 1 reads it every tick.
POLL_QUIET_MAX_INTERVALS = env_int("POLL_QUIET_MAX_INTERVALS", 4, minimum=1, maximum=12)
# A running campaign whose called and connected counts have not moved for this long is
# "stalled": its page says so (campaigns/explain.py).
STALL_AFTER_SECONDS = env_int("STALL_AFTER_SECONDS", 300, minimum=1, maximum=86400)
# Alerts (campaigns/alerts.py) are checked this often; a failure spike is this share (in
# percent) of failed calls among a running campaign's last 15 minutes of calls.
ALERT_INTERVAL_SECONDS = env_int("ALERT_INTERVAL_SECONDS", 30, minimum=1, maximum=3600)
ALERT_FAILURE_PERCENT = env_int("ALERT_FAILURE_PERCENT", 50, minimum=1, maximum=100)
# Calling hours are kept this often: a campaign pauses at most this late after its window
# ends (campaigns/keep_hours.py; it asks Atoms only at a window's edge).
CALLING_HOURS_INTERVAL_SECONDS = env_int("CALLING_HOURS_INTERVAL_SECONDS", 15, minimum=1,
                                         maximum=600)
# The dashboard's own address (e.g. https://campaigns.example.com), for links in alert
# webhooks' messages; without it they carry no link.
SITE_URL = env_str("SITE_URL", "")
# Alert webhooks post only to public addresses: a receiver on this machine or a private
# network (a local relay) needs this on, since an admin's URL would otherwise let the web
# tier reach internal services (campaigns/webhooks.py).
WEBHOOKS_MAY_REACH_PRIVATE_ADDRESSES = env_bool("WEBHOOKS_MAY_REACH_PRIVATE_ADDRESSES", False)
# Alert emails: printed to the console in the demo; set EMAIL_BACKEND (and EMAIL_HOST,
# EMAIL_PORT, ...) for real mail.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "atoms-campaigns@localhost")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
# A campaign that paused is refreshed until its numbers have stood still this long
# (calls in progress at the pause still finish and count; a connected call lasts minutes).
POLL_SETTLE_SECONDS = env_int("POLL_SETTLE_SECONDS", 300, minimum=0, maximum=3600)
SYNC_INTERVAL_SECONDS = env_int("SYNC_INTERVAL_SECONDS", 60, minimum=5, maximum=86400)
SSE_HEARTBEAT_SECONDS = env_int("SSE_HEARTBEAT_SECONDS", 10, minimum=1, maximum=60)
# A form waiting for Atoms this long is given back to the person, with a note that sending
# it again is safe (static/js/app.js): a page stopped meanwhile fires no event.
BUSY_RELEASE_SECONDS = env_int("BUSY_RELEASE_SECONDS", 15, minimum=1, maximum=600)
# Live streams one person may hold open in one web process (a tab each), over all their
# sessions and devices.
LIVE_STREAMS_PER_PERSON = env_int("LIVE_STREAMS_PER_PERSON", 30, minimum=1, maximum=10000)
# Start and pause not confirmed by Atoms after this long are flagged on the page; Atoms
# showing no sign of them after that (live/poll.py `pending_bound`) clears them.
PENDING_ACTION_WARN_SECONDS = env_int("PENDING_ACTION_WARN_SECONDS", 60, minimum=5, maximum=3600)

# --- Celery ---
# The broker may live in its own Redis database (the tests flush the cache's between tests).
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", REDIS_URL, schemes=("redis", "rediss"))
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis down for a while must not end the worker or beat: retry the broker forever, and
# they carry on by themselves when it is back.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TIMEZONE = TIME_ZONE
# Workers and beat log through LOGGING below (JSON lines, the key redacted), not Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "poll-active-campaigns": {
        "task": "campaigns.tasks.poll_tick",
        "schedule": timedelta(seconds=POLL_INTERVAL_SECONDS),
        # A tick that waited longer than an interval is obsolete: the next one is due.
        "options": {"expires": POLL_INTERVAL_SECONDS},
    },
    "evaluate-alerts": {
        "task": "campaigns.tasks.evaluate_alerts",
        "schedule": timedelta(seconds=ALERT_INTERVAL_SECONDS),
        "options": {"expires": ALERT_INTERVAL_SECONDS},
    },
    "keep-calling-hours": {
        "task": "campaigns.tasks.keep_calling_hours",
        "schedule": timedelta(seconds=CALLING_HOURS_INTERVAL_SECONDS),
        "options": {"expires": CALLING_HOURS_INTERVAL_SECONDS},
    },
    "sync-campaign-list": {
        "task": "campaigns.tasks.sync_campaigns",
        "schedule": timedelta(seconds=SYNC_INTERVAL_SECONDS),
        "options": {"expires": SYNC_INTERVAL_SECONDS},
    },
}

# One JSON object per line in production (collectors parse it); plain text for people.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if (DEBUG or DEMO_MODE) else "json")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_key": {"()": "dashboard.logs.RedactKeyFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "dashboard.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                             "filters": ["redact_key"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # httpx logs every request URL at INFO; keep it quiet unless asked.
    # django-axes logs every sign-in at INFO; lockouts come at WARNING.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"},
                "axes": {"level": "WARNING"},
                # A refused request is one line (log_response), not a traceback.
                "django.request": {"level": env_str("LOG_LEVEL", "INFO")}},
}
