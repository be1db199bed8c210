"""Settings for the campaign dashboard: one file, everything from the environment.

Every variable is listed with a line of explanation in `.env.example`.
"""

import os
from datetime import timedelta
from pathlib import Path

import phonenumbers
from django.core.exceptions import ImproperlyConfigured

from dashboard.env import env_bool, env_database, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# Demo mode (set by `make run`) is the only mode that may create the demo users.
DEMO_MODE = env_bool("DEMO_MODE", False)

_DEV_SECRET = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if (DEBUG or DEMO_MODE) else None)
if not (DEBUG or DEMO_MODE) and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY must be set to a secret value when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
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
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page requires sign-in unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

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

# --- Atoms ---
# Unset key: the dashboard talks to the bundled simulator (whose default key is sim-key).
SMALLEST_API_KEY = env_str("SMALLEST_API_KEY", "sim-key")
SMALLEST_BASE_URL = env_url(
    "SMALLEST_BASE_URL", "http://127.0.0.1:8765/atoms/v1", schemes=("http", "https")
)
ATOMS_CONNECT_TIMEOUT = env_int("ATOMS_CONNECT_TIMEOUT", 5, minimum=1, maximum=60)
ATOMS_READ_TIMEOUT = env_int("ATOMS_READ_TIMEOUT", 15, minimum=1, maximum=120)
# The poller never sends more than this many requests per second to Atoms, across workers.
ATOMS_MAX_RPS = env_int("ATOMS_MAX_RPS", 50, minimum=1, maximum=10000)
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
SYNC_INTERVAL_SECONDS = env_int("SYNC_INTERVAL_SECONDS", 60, minimum=5, maximum=86400)
SSE_HEARTBEAT_SECONDS = env_int("SSE_HEARTBEAT_SECONDS", 10, minimum=1, maximum=60)
# Start and pause not confirmed by Atoms after this long are flagged on the page.
PENDING_ACTION_WARN_SECONDS = env_int("PENDING_ACTION_WARN_SECONDS", 60, minimum=5, maximum=3600)

# --- Celery ---
# The broker may live in its own Redis database (the tests flush the cache's between tests).
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", REDIS_URL, schemes=("redis", "rediss"))
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "poll-active-campaigns": {
        "task": "campaigns.tasks.poll_tick",
        "schedule": timedelta(seconds=POLL_INTERVAL_SECONDS),
        # A tick that waited longer than an interval is obsolete: the next one is due.
        "options": {"expires": POLL_INTERVAL_SECONDS},
    },
    "sync-campaign-list": {
        "task": "campaigns.tasks.sync_campaigns",
        "schedule": timedelta(seconds=SYNC_INTERVAL_SECONDS),
        "options": {"expires": SYNC_INTERVAL_SECONDS},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # httpx logs every request URL at INFO; keep it quiet unless asked.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
