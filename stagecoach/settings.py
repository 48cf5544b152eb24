"""The one settings module. Everything a deployment changes comes from the environment.

Variables (documented in README.md):

DATABASE_URL          default: SQLite file in the data folder
SECRET_KEY            required to serve when DEBUG is off; generated for local use
DEBUG                 default: false
ALLOWED_HOSTS         default: 127.0.0.1,localhost
TIME_ZONE             default: UTC
STAGECOACH_CURRENCY   the organisation's currency, default: USD
STAGECOACH_DATA_DIR   default: var/ in a source checkout, else $XDG_DATA_HOME/stagecoach
EMAIL_HOST            SMTP server for the weekly digest (default: print mail to the console)
EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, DEFAULT_FROM_EMAIL
SITE_URL              the address people open, used in mail and calendar links
HTTPS                 default: false; true when people reach the app over HTTPS
HSTS_SECONDS          default: one year when HTTPS is on
PROXY_COUNT           default: 0; reverse proxies in front that append to X-Forwarded-For
LOGIN_FAILURE_LIMIT   default: 5 failed sign-ins per account per LOGIN_LOCKOUT_MINUTES
LOGIN_LOCKOUT_MINUTES default: 15
ANALYTICS_ON_DEMAND_PER_HOUR     default: 30 past dates or windows one login may have computed an hour
ANALYTICS_ON_DEMAND_CONCURRENCY  default: 2 such computations at once, across all servers
ANALYTICS_ON_DEMAND_KEEP         default: 30 dates and windows kept besides the latest
WEBHOOK_ALLOW_PRIVATE  default: false; true lets team webhooks post to private and loopback addresses
WEBHOOK_TIMEOUT        default: 5 seconds a team webhook may take to answer
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from stagecoach.lib import env

# Lets admin classes and querysets be subscripted at run time (ModelAdmin[Stage]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent

try:
    DATA_DIR = env.data_dir("STAGECOACH_DATA_DIR", checkout=env.source_checkout(BASE_DIR))
    DEBUG = env.env_bool("DEBUG", False)
    SECRET_KEY, SECRET_KEY_GENERATED = env.secret_key("SECRET_KEY", folder=DATA_DIR)
    ALLOWED_HOSTS = env.env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
    TIME_ZONE = env.env_time_zone("TIME_ZONE", "UTC")
    STAGECOACH_CURRENCY = env.env_currency("STAGECOACH_CURRENCY", "USD")
    DATABASE_URL = env.env_database_url(
        "DATABASE_URL", f"sqlite:///{DATA_DIR / 'stagecoach.sqlite3'}"
    )
    CONN_MAX_AGE = env.env_int("CONN_MAX_AGE", 60, minimum=0)
    # Mail (the weekly digest): printed to the console until an SMTP host is set.
    EMAIL_HOST = env.env_str("EMAIL_HOST", "")
    EMAIL_PORT = env.env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env.env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env.env_bool("EMAIL_USE_TLS", True)
    DEFAULT_FROM_EMAIL = env.env_str("DEFAULT_FROM_EMAIL", "stagecoach <stagecoach@localhost>")
    SITE_URL = env.env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    # SECURE_COOKIES is the older name of HTTPS and still honoured.
    HTTPS = env.env_bool("HTTPS", env.env_bool("SECURE_COOKIES", False))
    HSTS_SECONDS = env.env_int("HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
    HSTS_INCLUDE_SUBDOMAINS = env.env_bool("HSTS_INCLUDE_SUBDOMAINS", False)
    HSTS_PRELOAD = env.env_bool("HSTS_PRELOAD", False)
    PROXY_COUNT = env.env_int("PROXY_COUNT", 0, minimum=0)
    LOGIN_FAILURE_LIMIT = env.env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
    LOGIN_LOCKOUT_MINUTES = env.env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
    ANALYTICS_ON_DEMAND_PER_HOUR = env.env_int("ANALYTICS_ON_DEMAND_PER_HOUR", 30, minimum=1)
    ANALYTICS_ON_DEMAND_CONCURRENCY = env.env_int("ANALYTICS_ON_DEMAND_CONCURRENCY", 2, minimum=1)
    ANALYTICS_ON_DEMAND_KEEP = env.env_int("ANALYTICS_ON_DEMAND_KEEP", 30, minimum=1)
    # Team webhooks (docs/operations.md): off the internal network unless allowed.
    WEBHOOK_ALLOW_PRIVATE = env.env_bool("WEBHOOK_ALLOW_PRIVATE", False)
    WEBHOOK_TIMEOUT = env.env_int("WEBHOOK_TIMEOUT", 5, minimum=1)
    # Limits on what an import reads (docs/operations.md, "Limits on what comes in").
    IMPORT_MAX_UPLOAD_MB = env.env_int("IMPORT_MAX_UPLOAD_MB", 1024, minimum=1)
    IMPORT_MAX_UNPACKED_MB = env.env_int("IMPORT_MAX_UNPACKED_MB", 4096, minimum=1)
    IMPORT_MAX_RATIO = env.env_int("IMPORT_MAX_RATIO", 200, minimum=2)
    IMPORT_MAX_ROWS = env.env_int("IMPORT_MAX_ROWS", 50_000_000, minimum=1)
    IMPORT_MAX_COLUMNS = env.env_int("IMPORT_MAX_COLUMNS", 5_000, minimum=10)
    IMPORT_MAX_CELL_CHARS = env.env_int("IMPORT_MAX_CELL_CHARS", 131_072, minimum=1_000)
except env.ConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None

CSRF_TRUSTED_ORIGINS = [
    origin for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if origin.strip()
]

INSTALLED_APPS = [
    "stagecoach.accounts",
    "stagecoach.process",
    "stagecoach.pipeline",
    "stagecoach.demo",
    "stagecoach.analytics",
    "stagecoach.coaching",
    "stagecoach.development",
    "stagecoach.audit",
    "stagecoach.discovery",
    "stagecoach.survey",
    "stagecoach.strategy",
    "stagecoach.web",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "template_partials",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    # Only for its templates and static files: the API docs then load no CDN assets.
    "ninja",
]

# The first handler stops an upload over IMPORT_MAX_UPLOAD_MB; Django's own store it.
FILE_UPLOAD_HANDLERS = [
    "stagecoach.pipeline.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "stagecoach.web.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "stagecoach.audit.middleware.AuditActorMiddleware",
    "stagecoach.analytics.middleware.RefusedMiddleware",
    "stagecoach.web.middleware.BusyDatabaseMiddleware",
]

ROOT_URLCONF = "stagecoach.urls"
WSGI_APPLICATION = "stagecoach.wsgi.application"

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
                "stagecoach.web.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=CONN_MAX_AGE)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while an import or refresh writes; the busy
    # timeout (20 s) makes a writer wait for the other instead of failing at once, and
    # IMMEDIATE transactions take the write lock up front, so two writers queue rather
    # than deadlock on an upgrade from reading. synchronous=FULL: a logged session
    # survives a power cut, at one fsync per commit.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serving straight from the app folders keeps `stagecoach serve` a single command:
# no collectstatic step to forget after an upgrade.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Shared by the web server and the background worker (progress of long work). A file
# cache works for one machine; point CACHE_URL at Redis when app servers scale out.
CACHE_URL = os.environ.get("CACHE_URL", "").strip()
CACHES: dict[str, dict[str, Any]]
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL: expected redis://host:port/db, got {CACHE_URL!r}")
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
            # Rendered page parts, a few per person: past 300 entries (the default) the
            # cache would delete a third of them at random on every new one.
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

# Security headers. Everything the pages load comes from the app itself (no CDN), and
# no page runs inline script or style, so the policy can be strict.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Behind HTTPS (directly or through a TLS proxy): cookies only over HTTPS, plain HTTP
# redirected, and browsers told to remember it (HSTS).
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = HSTS_SECONDS
SECURE_HSTS_INCLUDE_SUBDOMAINS = HSTS_INCLUDE_SUBDOMAINS
SECURE_HSTS_PRELOAD = HSTS_PRELOAD
if PROXY_COUNT:
    # The proxy terminates TLS and says so; only trust the header when one is in front.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = [
    # HSTS for every subdomain, and the browsers' preload list, commit the whole domain
    # to HTTPS: a decision for the domain's owner (HSTS_INCLUDE_SUBDOMAINS, HSTS_PRELOAD),
    # not a default the app may make.
    "security.W005",
    "security.W021",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "stagecoach": {
            "handlers": ["console"],
            # The demo's background processes (stagecoach.cli.QUIET): warnings only.
            "level": "WARNING" if os.environ.get("STAGECOACH_QUIET") else "INFO",
            "propagate": False,
        }
    },
}
