"""Settings, read from the environment (see .env.example).

Embedded default: SQLite under var/, tasks in-process, mail to the console.
Production (PRODUCTION=1): a SECRET_KEY is required and cookies, HSTS and SSL redirect are secure.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

# --- Core ---
BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))  # from the process environment, not from .env
VAR_DIR.mkdir(parents=True, exist_ok=True)
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

PRODUCTION = env.bool("PRODUCTION", default=False)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when PRODUCTION=1.")
    # Development: generate once and keep it, so sessions survive a restart.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"])
# How many proxies in front of the product are ours (the TLS proxy: 1). Every client address (sign-in limits,
# /verify/, audit events, attestations) is read by hipaa_training.net.client_ip, which believes exactly that
# many X-Forwarded-For entries from the right; 0 ignores the header.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
ORGANIZATION_NAME = env.str("ORGANIZATION_NAME", default="Demo Medical Billing, Inc.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "hipaa_training",
    "courses",
    "roles",
    "records",
    "django.contrib.humanize",  # allauth's passkey list uses it
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
]

# The last five run after authentication (they need request.user) and before the views, in this order: track
# the session, end it if idle or too old, send a privileged account without a second factor to enrol, add the
# headers, keep auditors read-only (and end the session when their access has expired).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "hipaa_training.input.RejectUnusableInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "hipaa_training.security.UserSessionsMiddleware",  # allauth's, written once a minute
    "hipaa_training.security.SessionTimeoutMiddleware",
    "roles.security.MFARequiredMiddleware",
    "hipaa_training.security.SecurityHeadersMiddleware",
    "roles.readonly.AuditorAccessMiddleware",
]

ROOT_URLCONF = "hipaa_training.urls"
WSGI_APPLICATION = "hipaa_training.wsgi.application"

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
                "hipaa_training.context_processors.site",
                "roles.context_processors.organization",  # the officer's name for it, over the setting's
                "roles.context_processors.bulletins",
                "hipaa_training.context_processors.audit_status",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-served/"  # records are served by views that check access, never as static files
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "fontTools": {"level": "WARNING"},
        "weasyprint": {"level": "ERROR"},
    },
}

# --- Database and cache ---
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _sqlite_options = DATABASES["default"].setdefault("OPTIONS", {})
    # IMMEDIATE takes the write lock at BEGIN, so two writers never both read the same audit head.
    _sqlite_options.update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    # WAL: readers (the chain verification, reports) never block the writer; NORMAL sync keeps a commit
    # durable against a crash of the process (not of the machine) without an fsync per write.
    _sqlite_options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis is the broker (below) and nothing else: background work only, so with Redis down people still sign in,
# train and export, and the tasks wait for the sweeps.
REDIS_URL = env.str("REDIS_URL", default="")
# The cache holds sign-in limits, lockouts and the /verify/ limit, which every web process must share. Default:
# a table in the database (created by migrate, hipaa_training.apps), so it is up whenever the product is.
# CACHE_URL=redis://... (or locmemcache:// for one process) chooses another on purpose.
CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://django_cache")}

# --- Accounts and MFA ---
AUTH_USER_MODEL = "roles.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
)

# django-allauth: e-mail login, no open sign-up (people are invited by the compliance officer).
ACCOUNT_ADAPTER = "roles.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_TOKEN_GENERATOR = "allauth.account.forms.EmailAwarePasswordResetTokenGenerator"
ACCOUNT_SESSION_REMEMBER = False
# Password reset refuses while the security policy says "single sign-on only" (roles/oidc/forms.py).
ACCOUNT_FORMS = {
    "reset_password": "roles.oidc.forms.SSOAwareResetPasswordForm",
    "reset_password_from_key": "roles.oidc.forms.SSOAwareResetPasswordKeyForm",
}
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# Login rate limits: failures per account lock it (a locked account refuses even the right password); failures
# per address only slow that address down (roles.adapters), so one address cannot lock out everyone behind it.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "5/15m/key",
    "reset_password": "5/m/ip,3/m/key",
    "reauthenticate": "10/m/user",
}

# Re-authentication: a sign-in or re-authentication within 5 minutes before an export, an import, a role change
# (roles.access.reauth_required) or an MFA change (roles.security.MFARequiredMiddleware, which replaces allauth's
# own MFA check: that one ignores the sign-in itself).
ACCOUNT_REAUTHENTICATION_TIMEOUT = 5 * 60
MFA_REAUTHENTICATION_REQUIRED = False

# Multi-factor authentication (allauth.mfa): TOTP with recovery codes, and WebAuthn passkeys.
MFA_ADAPTER = "allauth.mfa.adapter.DefaultMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = env.bool("MFA_PASSKEY_LOGIN", default=True)
MFA_TOTP_ISSUER = ORGANIZATION_NAME
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION  # passkeys on http://127.0.0.1 for `make run` only
MFA_RECOVERY_CODE_COUNT = 10
# Addresses here are entered by the compliance officer and proven when the person sets a password through the
# e-mailed invitation link; allauth's separate e-mail verification records are not used.
MFA_ALLOW_UNVERIFIED_EMAIL = True

# Single sign-on (optional): an OpenID Connect provider configured from the environment. Nothing set -> no button.
SOCIALACCOUNT_ADAPTER = "roles.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_REQUIRED = True
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
OIDC_SERVER_URL = env.str("OIDC_SERVER_URL", default="")
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "provider_class": "roles.oidc.provider.OIDCProvider",  # nonce, signature always checked (roles/oidc)
        "OAUTH_PKCE_ENABLED": True,
        "APPS": (
            [
                {
                    "provider_id": env.str("OIDC_PROVIDER_ID", default="sso"),
                    "name": env.str("OIDC_NAME", default="Single sign-on"),
                    "client_id": env.str("OIDC_CLIENT_ID"),
                    "secret": env.str("OIDC_CLIENT_SECRET"),
                    # Per-provider switches, documented in README ("Single sign-on"); every one off by default.
                    "settings": {
                        "server_url": OIDC_SERVER_URL,
                        "scope": env.list("OIDC_SCOPES", default=["openid", "profile", "email"]),
                        **(
                            {"token_auth_method": env.str("OIDC_TOKEN_AUTH_METHOD")}
                            if env.str("OIDC_TOKEN_AUTH_METHOD", default="")
                            else {}
                        ),
                        "authorization_origin": env.str("OIDC_AUTHORIZATION_ORIGIN", default=""),
                        "emails_verified_by_organisation": env.bool(
                            "OIDC_EMAILS_VERIFIED_BY_ORGANISATION", default=False
                        ),
                        "trust_idp_mfa": env.bool("OIDC_TRUST_IDP_MFA", default=False),
                        "mfa_amr_values": env.list("OIDC_MFA_AMR_VALUES", default=["mfa"]),
                        "mfa_acr_values": env.list("OIDC_MFA_ACR_VALUES", default=[]),
                        "groups_claim": env.str("OIDC_GROUPS_CLAIM", default="groups"),
                    },
                }
            ]
            if OIDC_SERVER_URL
            else []
        ),
    }
}

# --- Security headers and sessions ---
# Automatic logoff, 45 CFR 164.312(a)(2)(iii): idle limits by role, and an absolute limit per sign-in.
SESSION_IDLE_TIMEOUT_PRIVILEGED = env.int("SESSION_IDLE_TIMEOUT_PRIVILEGED", default=15 * 60)
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=12 * 60 * 60)
SESSION_IDLE_TIMEOUT_FOR = "roles.security.idle_timeout_for"  # the role decides; hipaa_training never imports roles
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
USERSESSIONS_TRACK_ACTIVITY = True
CSRF_COOKIE_HTTPONLY = True

# Headers (hipaa_training.security): one strict CSP everywhere. The Django 5.2 admin needs no exception: its
# scripts are files (data in data-* attributes and JSON blocks), and it sets styles only through the CSSOM.
# form-action also allows the configured identity providers' authorisation origins (named by this function).
CSP_FORM_ACTION_ORIGINS_FOR = "roles.oidc.config.authorization_origins"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Auditors are read-only (roles.readonly.AuditorAccessMiddleware): the URL names they may POST to (a trailing *
# matches a prefix); everything else is refused with 403.
AUDITOR_WRITE_ALLOWED = env.list(
    "AUDITOR_WRITE_ALLOWED",
    default=["account_logout", "account_reauthenticate", "mfa_*", "records:audit_request", "records:audit_client_pack"],
)

# --- Celery and beat ---
# No REDIS_URL -> tasks run in-process; REDIS_URL -> the real broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}

# One hourly run sends whatever the calendar (the ReminderPolicy row) says is due and not yet sent; the first
# run of the day sends, the others catch up on anything missed. Bulletins are checked every 10 minutes. The
# resume sweep sends what a dead worker had claimed, once its lease ran out: lease + interval is the longest a
# dead worker's messages wait (3 + 2 minutes by default; see roles/reminders/claims.py).
REMINDER_CLAIM_LEASE_SECONDS = env.float("REMINDER_CLAIM_LEASE_SECONDS", default=180)
REMINDER_RESUME_EVERY_SECONDS = env.float("REMINDER_RESUME_EVERY_SECONDS", default=120)
DASHBOARD_TODAY_EVERY_SECONDS = env.float("DASHBOARD_TODAY_EVERY_SECONDS", default=60)
CELERY_BEAT_SCHEDULE = {
    "sync-assignments": {"task": "roles.sync_assignments", "schedule": crontab(hour=2, minute=0)},
    "records-certificate-sweep": {"task": "records.certificate_sweep", "schedule": crontab(minute="*/15")},
    "records-report-sweep": {"task": "records.report_sweep", "schedule": crontab(minute="*/5")},
    "send-reminders": {"task": "roles.send_reminders", "schedule": crontab(minute=15, hour="7-19")},
    "resume-deliveries": {
        "task": "roles.resume_deliveries",
        "schedule": dt.timedelta(seconds=REMINDER_RESUME_EVERY_SECONDS),
    },
    "deliver-bulletins": {"task": "roles.deliver_bulletins", "schedule": crontab(minute="*/10")},
    "verify-audit-chain": {"task": "hipaa_training.verify_audit_chain", "schedule": crontab(hour=3, minute=30)},
    # After midnight yesterday's figures stay as they are: store them (and any trend point dropped since).
    "store-daily-figures": {"task": "records.store_daily_figures", "schedule": crontab(hour=0, minute=20)},
    # Today's figures counted again once a minute if the records moved on (nothing is done if not), so the
    # dashboard seldom has to count them itself (records/summaries.py store_today).
    "store-todays-figures": {
        "task": "records.store_todays_figures",
        "schedule": dt.timedelta(seconds=DASHBOARD_TODAY_EVERY_SECONDS),
    },
}

# --- Mail ---
# Console by default; EMAIL_URL=smtp://user:pass@host:587 (or smtp+tls://, smtp+ssl://) in production, and
# EMAIL_URL=filemail:// with EMAIL_FILE_PATH to write each message to a file.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default="") or _email["EMAIL_FILE_PATH"]
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="HIPAA Training <training@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds a mail relay may take to answer: a hung relay must not outlast the reminder claim's lease.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=30)

# --- Product settings ---
# The header's navigation: (label, url name, access groups), in this order.
NAV_ITEMS = [
    ("My certificates", "records:certificates", ("employee",)),
    ("Reminders", "roles:reminder_policy", ("compliance officer",)),
    ("Security reminders", "roles:bulletin_list", ("compliance officer",)),
    ("Dashboard", "records:dashboard", ("compliance officer",)),
    ("People", "roles:people", ("compliance officer", "administrator", "auditor")),
    ("Import", "roles:import", ("compliance officer",)),
    ("Roles and modules", "roles:grid", ("compliance officer", "administrator", "auditor")),
    ("Clients", "roles:clients", ("compliance officer", "administrator", "auditor")),
    ("Policies", "records:policies", ("compliance officer", "administrator", "auditor")),
    ("Courses", "records:course_list", ("compliance officer", "administrator", "auditor")),
    ("Settings", "roles:settings", ("compliance officer", "administrator")),
    ("My team", "records:team", ("manager",)),
    ("Audit evidence", "records:audit", ("auditor", "compliance officer", "client auditor")),
]

# The audit trail's anchor: signed with a key kept outside the database.
AUDIT_ANCHOR_KEY = env.str("AUDIT_ANCHOR_KEY", default="")
AUDIT_ANCHOR_KEY_FILE = Path(env.str("AUDIT_ANCHOR_KEY_FILE", default=str(VAR_DIR / "audit-anchor.key")))
AUDIT_ANCHOR_LOG = Path(env.str("AUDIT_ANCHOR_LOG", default=str(VAR_DIR / "audit-anchors.jsonl")))
AUDIT_VERIFICATION_STALE_HOURS = env.int("AUDIT_VERIFICATION_STALE_HOURS", default=36)

# Certificate verification: public look-ups per IP per window.
CERTIFICATE_VERIFY_RATE = (env.int("CERTIFICATE_VERIFY_PER_MINUTE", default=30), 60)

# Reports and bundles: a job queued this long with no worker on it, or started this long ago and not finished,
# is built by the sweep (records.report_sweep, every 5 minutes).
REPORT_QUEUED_GRACE_SECONDS = env.int("REPORT_QUEUED_GRACE_SECONDS", default=120)
REPORT_BUILD_STALE_SECONDS = env.int("REPORT_BUILD_STALE_SECONDS", default=1800)
# The PDF reports' per-person sections are laid out this many people at a time, each part freed before the next
# (records/documents/report.py): the memory a report takes grows with this, not with the workforce.
REPORT_CHUNK_PEOPLE = env.int("REPORT_CHUNK_PEOPLE", default=500)
# The parts are rendered this many at a time in child processes (records/documents/parts.py,
# hipaa_training/pdf_worker.py) while the next part is made; 1: one after the other in the worker's own process.
# Each child holds one part, so memory grows with this too.
REPORT_RENDER_PROCESSES = env.int("REPORT_RENDER_PROCESSES", default=min(2, os.cpu_count() or 1))
# A part a child has not rendered within this many seconds of being handed it (its start included) fails the
# report, the child killed, instead of holding the worker for ever; a part takes about 5 s here.
REPORT_RENDER_TIMEOUT_SECONDS = env.float("REPORT_RENDER_TIMEOUT_SECONDS", default=600)

# Assignments: a recurring module's next cycle is assigned this many days before the current completion expires.
RECERTIFY_LEAD_DAYS = env.int("RECERTIFY_LEAD_DAYS", default=30)

# Reminders and security bulletins.
REMINDER_BATCH_SIZE = env.int("REMINDER_BATCH_SIZE", default=500)
# A message's "sent" mark is committed before the relay sees it; False: without waiting for the WAL flush
# (a worker's death loses nothing; only a database crash in that fraction of a second could resend a message).
REMINDER_MARK_SYNCHRONOUS = env.bool("REMINDER_MARK_SYNCHRONOUS", default=False)
# On PostgreSQL the mark is a prepared statement of the batch's connection (planned once, not per message);
# False behind a transaction-mode connection pooler that cannot keep prepared statements for a session.
REMINDER_MARK_PREPARED = env.bool("REMINDER_MARK_PREPARED", default=True)
REMINDER_SEND_PAUSE = env.float("REMINDER_SEND_PAUSE", default=0)  # seconds between messages (relay rate limit)
# Senders sharing one reminder run on PostgreSQL (threads, each with its own database and SMTP connection, each
# taking the run's batches in turn): one waits for its mark's round trip while another renders. 1: one sender.
REMINDER_SEND_THREADS = env.int("REMINDER_SEND_THREADS", default=2)
BULLETIN_ACTIVE_DAYS = env.int("BULLETIN_ACTIVE_DAYS", default=90)

# Dashboard and workforce import.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, IMPORT_MAX_BYTES + 65536)
# Policies: an uploaded policy PDF may be at most this big.
POLICY_PDF_MAX_BYTES = env.int("POLICY_PDF_MAX_BYTES", default=10 * 1024 * 1024)
POLICY_REVIEW_WARNING_DAYS = env.int("POLICY_REVIEW_WARNING_DAYS", default=30)
DASHBOARD_LIST_LIMIT = env.int("DASHBOARD_LIST_LIMIT", default=25)
NEW_HIRE_WINDOW_DAYS = env.int("NEW_HIRE_WINDOW_DAYS", default=365)
