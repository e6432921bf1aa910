"""Xinqiao settings: one module, everything read from the environment.

The embedded default (`make run`) needs no configuration: SQLite under var/, tasks run in-process.
Production (`XINQIAO_ENV=production`) refuses to start with any default secret.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config import instance

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# The instance folder: database (embedded default), uploads, this instance's secrets.
VAR_DIR = Path(env.str("XINQIAO_VAR_DIR", default=str(BASE_DIR / "var")))

XINQIAO_ENV = env.str("XINQIAO_ENV", default="development")
PRODUCTION = XINQIAO_ENV == "production"

# Production: from the environment, checked below. Otherwise this instance's own secrets,
# generated on its first start into VAR_DIR (config/instance.py): no key is in the repository.
_instance = {} if PRODUCTION else instance.load_or_create(VAR_DIR)
SECRET_KEY = env.str("SECRET_KEY", default=_instance.get("SECRET_KEY", ""))
FIELD_ENCRYPTION_KEY = env.str(
    "FIELD_ENCRYPTION_KEY", default=_instance.get("FIELD_ENCRYPTION_KEY", "")
)
# Keys a stored value may still be sealed with while `rotate_keys` runs (docs/security.md).
FIELD_ENCRYPTION_OLD_KEYS = env.list("FIELD_ENCRYPTION_OLD_KEYS", default=[])
# The keyed hashes' own key, so rotating the field key changes no hash. Unset: the field key
# (instances older than the split made their hashes with it).
FIELD_HASH_KEY = env.str("FIELD_HASH_KEY", default=_instance.get("FIELD_HASH_KEY", ""))
# "aes": AES-256-GCM + HMAC-SHA256; "sm": SM4-GCM + HMAC-SM3 (密评). Changing it on a running
# instance: set it, then run `rotate_keys` (core/crypto.py).
CRYPTO_SUITE = env.str("CRYPTO_SUITE", default="aes")


def _refuse_weak_secrets() -> None:
    for name, weak, rule in (
        ("SECRET_KEY", instance.weak_secret_key(SECRET_KEY), "at least 50 random characters"),
        (
            "FIELD_ENCRYPTION_KEY",
            instance.weak_field_key(FIELD_ENCRYPTION_KEY),
            "32 random bytes in base64",
        ),
        (
            "FIELD_HASH_KEY",
            bool(FIELD_HASH_KEY) and instance.weak_field_key(FIELD_HASH_KEY),
            "32 random bytes in base64, or unset to use the field key",
        ),
    ):
        if weak:
            raise ImproperlyConfigured(
                f"XINQIAO_ENV=production but {name} is not set or too weak ({rule}). "
                f"Set the environment variable {name} to a new random value."
            )


if PRODUCTION:
    _refuse_weak_secrets()
if CRYPTO_SUITE not in ("aes", "sm"):
    raise ImproperlyConfigured('CRYPTO_SUITE must be "aes" or "sm".')

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "xinqiao.core",
    "xinqiao.audit",
    "xinqiao.orgs",
    "xinqiao.people",
    "xinqiao.access",
    "xinqiao.analytics",
    "xinqiao.instruments",
    "xinqiao.screening",
    "xinqiao.alerts",
    "xinqiao.cases",
    "xinqiao.notifications",
    "xinqiao.family",
    "xinqiao.facilities",
    "xinqiao.emergency",
    "xinqiao.partners",
    "xinqiao.workforce",
    "xinqiao.counselling",
    "xinqiao.mentoring",
    "xinqiao.demo",
    "xinqiao.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "xinqiao.core.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "xinqiao.access.middleware.PrincipalMiddleware",
    # idle and absolute session expiry; then a password someone else set must be changed first
    "xinqiao.access.sessions.SessionActivityMiddleware",
    # staff pass the second step (or enrol) before anything else
    "xinqiao.access.two_factor.SecondFactorMiddleware",
    "xinqiao.access.passwords.PasswordChangeRequiredMiddleware",
    # 403 and 404 raised by views (the access layer) go into the audit trail, rate-bound.
    "xinqiao.audit.middleware.DeniedRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "xinqiao" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "xinqiao.core.context_processors.shell",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'xinqiao.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions avoid "database is locked" on read-then-write; WAL lets readers go on.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth ---------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "xinqiao.core.validators.CharacterClassValidator"},
    # Common words, pinyin names, keyboard walks, dates, repeats (ASVS L2; access/passwords.py)
    {"NAME": "xinqiao.access.passwords.PatternPasswordValidator"},
]
# Argon2id at OWASP's parameters (xinqiao/access/hashers.py); PBKDF2 hashes upgrade at sign-in.
PASSWORD_HASHERS = [
    "xinqiao.access.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock an account+IP for 30 minutes after 5 failed logins.
# The reverse proxies whose X-Forwarded-For names the client (xinqiao/core/client.py): addresses
# or networks, e.g. "127.0.0.1,::1" for nginx on the same machine. Empty: REMOTE_ADDR is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
AXES_CLIENT_IP_CALLABLE = "xinqiao.core.client.client_ip"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# Attempts while locked do not restart the clock: the lock ends 30 minutes after the 5th failure.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False

# Two-factor sign-in (docs/two-factor.md): TOTP with an authenticator app plus one-time recovery
# codes (django-otp). Every staff role must enrol and verify before it can use anything but the
# enrolment page and sign-out; production refuses to start with OTP_REQUIRED off.
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=True)
if PRODUCTION and not OTP_REQUIRED:
    raise ImproperlyConfigured("XINQIAO_ENV=production requires OTP_REQUIRED=true (two-factor).")
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="心桥 Xinqiao")
# Second-step attempts per account: this many in the window (seconds), then refused until it ends.
OTP_ATTEMPTS_LIMIT = 5
OTP_ATTEMPTS_WINDOW = 15 * 60

# Idle logout after 30 minutes without the user's own requests: background polling (requests with
# the X-Background header) does not count (xinqiao/access/sessions.py). The last-activity time is
# written at most once a minute, and only then is the session saved: not on every request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_IDLE_TIMEOUT = SESSION_COOKIE_AGE
# Every session ends this long after sign-in, whatever the activity.
SESSION_ABSOLUTE_AGE = env.int("SESSION_ABSOLUTE_AGE", default=12 * 3600)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- i18n ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "xinqiao" / "locale"]
# ISO dates first in Chinese input formats: <input type="date"> shows only YYYY-MM-DD values.
FORMAT_MODULE_PATH = ["xinqiao.core.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static files: our own + assets installed from npm by `make assets` into build/static -------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "xinqiao" / "static", BASE_DIR / "build" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- security -----------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # monitoring asks the app directly, on loopback, without TLS
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# No inline scripts or styles anywhere, so the policy can forbid them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}

# --- background work ----------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Embedded default: no broker, tasks run in-process.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# A message a killed worker held comes back after the visibility timeout; the sweeps below, not
# redelivery, bound how late an alert can be, so this only needs to exceed the longest task. The
# socket timeouts keep a web request that queues a task from hanging on an unreachable Redis.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 900,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
# A worker keeps reconnecting to a broker that went away, however long it is gone.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes a worker's database connection around every task unless told to reuse it: a new
# PostgreSQL connection per outbox dispatch cost more than the dispatch (bench/submit.py). Reused
# for this many tasks, then opened anew.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=200)
CELERY_TIMEZONE = TIME_ZONE
# Periodic work, declared once: celery beat runs it in production, xinqiao.core.scheduler in the
# embedded default. Screening: assign students who joined an open campaign's scope;
# remind head teachers of classes behind schedule.
CELERY_BEAT_SCHEDULE = {
    "screening-sync-open-campaigns": {
        "task": "xinqiao.screening.tasks.sync_open_campaigns",
        "schedule": 600.0,
    },
    "screening-progress-reminders": {
        "task": "xinqiao.screening.tasks.send_progress_reminders",
        "schedule": 86400.0,
    },
    # Alerts: escalate missed deadlines; raise queued hand-ins' alerts. Notifications: deliver the
    # outbox (all idempotent).
    "alerts-run-escalations": {"task": "xinqiao.alerts.tasks.run_escalations", "schedule": 60.0},
    # Counselling: students' urgent requests for help nobody acknowledged in time.
    "counselling-help-escalations": {
        "task": "xinqiao.counselling.tasks.run_help_escalations",
        "schedule": 60.0,
    },
    "notifications-dispatch-outbox": {
        "task": "xinqiao.notifications.tasks.dispatch_outbox",
        "schedule": 30.0,
    },
    # Hand-ins whose alert is still to be raised (normally asked for within a second).
    "alerts-raise-pending": {
        "task": "xinqiao.alerts.tasks.raise_pending_alerts",
        "schedule": 30.0,
    },
    # Audit: verify the chain since the last anchor, check it against that anchor, append the
    # new head as the next anchor (xinqiao/audit/anchor.py); summarise rate-bound denied requests.
    "audit-verify-and-anchor": {
        "task": "xinqiao.audit.tasks.verify_and_anchor",
        "schedule": 300.0,
    },
    # People: delete uploaded rosters and error reports past UPLOAD_RETENTION_DAYS.
    "people-purge-import-files": {
        "task": "xinqiao.people.tasks.purge_import_files",
        "schedule": 3600.0,
    },
    # Counselling: a reminder a day before each appointment (once); the waitlist's lapsed offers
    # and finished weeks.
    "counselling-send-reminders": {
        "task": "xinqiao.counselling.tasks.send_reminders",
        "schedule": 3600.0,
    },
    "counselling-expire-waitlist": {
        "task": "xinqiao.counselling.tasks.expire_waitlist",
        "schedule": 600.0,
    },
}
# The entries every Celery worker also runs itself, on the database alone, in a thread
# (xinqiao.core.scheduler): the alert chain keeps moving without beat, while Redis is down and
# after a lost message.
WORKER_SWEEPS = ["alerts-raise-pending", "notifications-dispatch-outbox", "alerts-run-escalations"]
# The embedded default has no beat: xinqiao.core.scheduler runs the schedule above in a thread of
# the web process while Celery is eager. False turns it off (e.g. a second web process).
# Days an uploaded roster and its error report are kept after the import finished (sealed at
# rest meanwhile); then the periodic purge deletes them and the job page says so.
UPLOAD_RETENTION_DAYS = env.int("UPLOAD_RETENTION_DAYS", default=30)
# Days a psychiatrist keeps access to a referred student after the feedback or the case's closure.
PSYCHIATRIST_ACCESS_DAYS = env.int("PSYCHIATRIST_ACCESS_DAYS", default=30)
EMBEDDED_SCHEDULER = env.bool("EMBEDDED_SCHEDULER", default=CELERY_TASK_ALWAYS_EAGER)
if REDIS_URL:
    # Redis while it answers, the process's memory while it does not (xinqiao/core/cache.py).
    CACHES = {
        "default": {"BACKEND": "xinqiao.core.cache.FallbackRedisCache", "LOCATION": REDIS_URL}
    }

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="xinqiao@localhost")
# Channels a notification goes through besides the in-app inbox (xinqiao/notifications/backends.py;
# an SMS or WeChat channel is one more class named here).
NOTIFICATION_BACKENDS = env.list(
    "NOTIFICATION_BACKENDS", default=["xinqiao.notifications.backends.EmailBackend"]
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# --- Xinqiao ------------------------------------------------------------------------------------
# 24-hour helplines shown to students, parents and on every alert / case page (R20).
HELPLINES = [
    ("12355", "青少年服务台"),
    ("12356", "全国心理援助热线"),
    ("966525", "心理援助热线"),
    ("0791-88330120", "心理援助热线"),
]
XINQIAO_CITY_NAME = env.str("XINQIAO_CITY_NAME", default="示例市")
# The students' hot SQL (screening/taking) runs as statements prepared once per PostgreSQL
# session. Set to false behind a transaction-pooling PgBouncer (sessions are not kept per client).
XINQIAO_PREPARED_SQL = env.bool("XINQIAO_PREPARED_SQL", default=True)

# --- audit trail (docs/audit-actions.md) ---------------------------------------------------------
# The audit chain's HMAC key: never in the database, so recomputing hashes after an edit is
# detected (base64 of 32 random bytes, the same on every server; checked with the other secrets).
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default=_instance.get("AUDIT_CHAIN_KEY", ""))
if PRODUCTION and instance.weak_field_key(AUDIT_CHAIN_KEY):
    raise ImproperlyConfigured(
        "XINQIAO_ENV=production but AUDIT_CHAIN_KEY is not set or too weak (32 random bytes in "
        "base64, the same on every server). Set the environment variable AUDIT_CHAIN_KEY to a "
        "new random value and keep a copy with the other keys."
    )
# The anchors: one JSON line per verified chain head, appended; keep it where the database's user
# cannot rewrite it (docs/operations.md, "The audit anchor").
AUDIT_ANCHOR_PATH = Path(env.str("AUDIT_ANCHOR_PATH", default=str(VAR_DIR / "audit-anchors.jsonl")))
# Also send each anchor to syslog: the socket or "host:port" of the syslog daemon; empty: off.
AUDIT_ANCHOR_SYSLOG = env.str("AUDIT_ANCHOR_SYSLOG", default="")
# Denied requests (403/404) recorded per user (or client address) and minute; past it, one
# summary event counts the rest.
AUDIT_DENIED_PER_MINUTE = env.int("AUDIT_DENIED_PER_MINUTE", default=10)
