"""Base settings: what `make run` uses on a bare machine (SQLite, a filesystem broker).

Every value can be overridden from the environment; README.md lists each variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import environ

from webapp.settings.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("LAYERLOOM_VAR_DIR", str(BASE_DIR / "var")))
try:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
except OSError as _exc:
    # Every process (web, workers, beat) stops here: one line instead of a later traceback.
    raise SystemExit(
        f"LAYERLOOM_VAR_DIR={VAR_DIR}: cannot create the folder ({_exc.strerror}). "
        "Point LAYERLOOM_VAR_DIR at a folder this user can write, or unset it to use var/ in the checkout."
    ) from None

# A development key: production.py refuses to start without a real one.
SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "webapp.devserver",  # first, so that its runserver (no 40 ms stall per answer) is the one run
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "csp",
    "webapp",
    "builder",
    "workers",
    "drf_spectacular_sidecar",  # Swagger UI's files served from the package, no CDN
    "api",
    "serving",
    "sweeps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a signed-in user unless its view opts out with @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below): django-csp's
    # middleware with the header built once (webapp/csp.py).
    "webapp.csp.CSPMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
ASGI_APPLICATION = "webapp.asgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'layerloom.sqlite3'}")
DATABASES = {"default": environ.Env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the workers write to one file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Security -------------------------------------------------------------------------
# How many reverse proxies in front of the web process append to X-Forwarded-For. 0 (the
# default) ignores the header: the client address is the socket's, so a client cannot pick
# a fresh address per request to get around the per-address limits (docs/security.md).
LAYERLOOM_TRUSTED_PROXIES = env_int("LAYERLOOM_TRUSTED_PROXIES", 0)
# Failed sign-ins (token endpoint and login form together) before a lockout, per account
# and per client address, counted over LAYERLOOM_SIGNIN_LOCKOUT_SECONDS.
LAYERLOOM_SIGNIN_MAX_FAILURES_PER_ACCOUNT = env_int("LAYERLOOM_SIGNIN_MAX_FAILURES_PER_ACCOUNT", 10)
LAYERLOOM_SIGNIN_MAX_FAILURES_PER_ADDRESS = env_int("LAYERLOOM_SIGNIN_MAX_FAILURES_PER_ADDRESS", 50)
LAYERLOOM_SIGNIN_LOCKOUT_SECONDS = env_int("LAYERLOOM_SIGNIN_LOCKOUT_SECONDS", 900)
# Password-reset e-mails per client address per hour (only when e-mail is configured).
LAYERLOOM_PASSWORD_RESET_PER_HOUR = env_int("LAYERLOOM_PASSWORD_RESET_PER_HOUR", 5)
# Deepest nesting accepted in a JSON body; deeper is a 400, never a RecursionError.
LAYERLOOM_MAX_JSON_DEPTH = env_int("LAYERLOOM_MAX_JSON_DEPTH", 64)
# `make run` keeps a demo account for local use; production turns it off (production.py).
LAYERLOOM_DEMO_ACCOUNT = env_bool("LAYERLOOM_DEMO_ACCOUNT", True)
# Locally, ensure_demo_user puts the documented password back; production never does.
LAYERLOOM_DEMO_RESETS_PASSWORD = True

# Throttle and sign-in counters must be shared by every web process: Redis when one is
# configured, the database otherwise (`manage.py createcachetable` makes its table).
_CACHE_URL = env_str("CACHE_URL", "") or env_str("REDIS_URL", "")
if not _CACHE_URL and env_str("CELERY_BROKER_URL", "").startswith(("redis://", "rediss://")):
    _CACHE_URL = env_str("CELERY_BROKER_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL, "KEY_PREFIX": "layerloom"}
        if _CACHE_URL
        else {"BACKEND": "webapp.cache.DatabaseCache", "LOCATION": "layerloom_cache"}
    )
}

# E-mail: off unless EMAIL_HOST is set; without it password reset says to ask an administrator.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "layerloom@localhost")
LAYERLOOM_EMAIL_ENABLED = bool(EMAIL_HOST)

# No inline script or style anywhere: pages load their code and CSS from /static/.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns at every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Layerloom ------------------------------------------------------------------------
# Uploaded datasets, materialised arrays, checkpoints and artifacts live under here: the file
# store itself by default, or this host's working copy of what it writes and reads when the
# store is an S3 bucket (webapp/filestore.py).
LAYERLOOM_DATA_ROOT = Path(env_str("LAYERLOOM_DATA_ROOT", str(VAR_DIR / "data")))
# The file store, STORAGES["layerloom"]: an S3-compatible bucket when LAYERLOOM_S3_BUCKET is set
# (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or boto3's other sources), else
# local files under LAYERLOOM_DATA_ROOT. Every host of a deployment must name the same store.
LAYERLOOM_S3_BUCKET = env_str("LAYERLOOM_S3_BUCKET", "")
LAYERLOOM_S3_ENDPOINT_URL = env_str("LAYERLOOM_S3_ENDPOINT_URL", "")  # MinIO, Ceph, moto...; empty: AWS
LAYERLOOM_S3_REGION = env_str("LAYERLOOM_S3_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
# "path" (bucket in the URL's path; what most self-hosted stores need) or "virtual"; empty: boto3's choice.
LAYERLOOM_S3_ADDRESSING_STYLE = env_str("LAYERLOOM_S3_ADDRESSING_STYLE", "path" if LAYERLOOM_S3_ENDPOINT_URL else "")
# Artifact downloads redirect to a presigned URL of the store (1), or are streamed through the web process (0).
LAYERLOOM_S3_PRESIGNED_DOWNLOADS = env_bool("LAYERLOOM_S3_PRESIGNED_DOWNLOADS", True)
LAYERLOOM_S3_URL_EXPIRE = env_int("LAYERLOOM_S3_URL_EXPIRE", 300)
# A host's cache of dataset versions pulled from the bucket (least recently used goes first).
LAYERLOOM_CACHE_DIR = Path(env_str("LAYERLOOM_CACHE_DIR", str(VAR_DIR / "cache")))
LAYERLOOM_CACHE_MAX_MB = env_int("LAYERLOOM_CACHE_MAX_MB", 20 * 1024)


def file_store() -> dict[str, Any]:
    """STORAGES["layerloom"] from the settings above."""
    if not LAYERLOOM_S3_BUCKET:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(LAYERLOOM_DATA_ROOT)}}  # fmt: skip
    options: dict[str, Any] = {
        "bucket_name": LAYERLOOM_S3_BUCKET, "region_name": LAYERLOOM_S3_REGION or None,
        "endpoint_url": LAYERLOOM_S3_ENDPOINT_URL or None, "file_overwrite": True, "default_acl": None,
        "querystring_auth": True, "querystring_expire": LAYERLOOM_S3_URL_EXPIRE,
        "addressing_style": LAYERLOOM_S3_ADDRESSING_STYLE or None, "signature_version": "s3v4",
    }  # fmt: skip
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGES["layerloom"] = file_store()
LAYERLOOM_MAX_UPLOAD_BYTES = env_int("LAYERLOOM_MAX_UPLOAD_BYTES", 2 * 1024**3)
# Bytes of the data root one user's datasets and jobs may hold (MiB); 0 = no quota.
LAYERLOOM_USER_STORAGE_QUOTA_MB = env_int("LAYERLOOM_USER_STORAGE_QUOTA_MB", 10 * 1024)
# The largest materialised arrays one dataset version may have (MiB), estimated before writing.
LAYERLOOM_MAX_DATASET_ARRAYS_MB = env_int("LAYERLOOM_MAX_DATASET_ARRAYS_MB", 4 * 1024)
# Parsed rows one table ingestion keeps in memory (MiB); past it they wait in a file until its last pass.
LAYERLOOM_INGEST_MEMORY_MB = env_int("LAYERLOOM_INGEST_MEMORY_MB", 256)
# The longest a training job may run; Celery's time limits and Redis's visibility timeout follow it.
LAYERLOOM_JOB_TIME_LIMIT = env_int("LAYERLOOM_JOB_TIME_LIMIT", 6 * 3600)
LAYERLOOM_MAX_LAYERS = env_int("LAYERLOOM_MAX_LAYERS", 200)
LAYERLOOM_MAX_PARAMS = env_int("LAYERLOOM_MAX_PARAMS", 100_000_000)
# Values per sample at the model input, and at any layer's output (builder/limits.py reads these).
LAYERLOOM_MAX_INPUT_VALUES = env_int("LAYERLOOM_MAX_INPUT_VALUES", 10_000_000)
LAYERLOOM_MAX_LAYER_VALUES = env_int("LAYERLOOM_MAX_LAYER_VALUES", 20_000_000)
LAYERLOOM_DEMO_USERNAME = env_str("LAYERLOOM_DEMO_USERNAME", "demo")
LAYERLOOM_DEMO_PASSWORD = env_str("LAYERLOOM_DEMO_PASSWORD", "layerloom-demo")
# Seconds /healthz waits for a worker to answer its ping.
LAYERLOOM_HEALTH_TIMEOUT = env_int("LAYERLOOM_HEALTH_TIMEOUT", 5)
LAYERLOOM_HEALTH_QUEUE = "default"

# Uploads larger than this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 10)
FILE_UPLOAD_TEMP_DIR = None

# --- Celery ---------------------------------------------------------------------------
# The embedded broker is kombu's filesystem transport: a real broker protocol with no server.
BROKER_DIR = Path(env_str("LAYERLOOM_BROKER_DIR", str(VAR_DIR / "broker")))
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_IS_FILESYSTEM = CELERY_BROKER_URL.startswith("filesystem://")
if CELERY_BROKER_IS_FILESYSTEM:
    # kombu's filesystem transport, except that a missing queue folder is an outage, not a fatal error.
    CELERY_BROKER_TRANSPORT = "webapp.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        # Seconds between looks at an idle queue: a task waits half of it on average before it starts.
        "polling_interval": 0.05,
    }
    CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", f"file://{BROKER_DIR / 'results'}")
    # kombu's filesystem transport expects its folders to exist.
    for _folder in ("queue", "control", "processed", "results"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Redis redelivers an unacknowledged task after visibility_timeout: it must outlast the longest job.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": LAYERLOOM_JOB_TIME_LIMIT + 3600}
    CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_RESULT_EXPIRES = 3600
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A task is acknowledged only after it finishes, and requeued if its worker dies mid-way.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"workers.train_job": {"queue": "training"}, "workers.estimate_job": {"queue": "training"}}
CELERY_TASK_TIME_LIMIT = LAYERLOOM_JOB_TIME_LIMIT + 300
CELERY_TASK_SOFT_TIME_LIMIT = LAYERLOOM_JOB_TIME_LIMIT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Layerloom API",
    "DESCRIPTION": "Upload datasets, build architectures, train and download models.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Training -------------------------------------------------------------------------
# Owned by workers/ (issue 5). Jobs a user may have queued or running at once.
LAYERLOOM_MAX_ACTIVE_JOBS = env_int("LAYERLOOM_MAX_ACTIVE_JOBS", 4)
# Named model endpoints one user may have at once (re-pointing a name is always allowed).
LAYERLOOM_MAX_ENDPOINTS = env_int("LAYERLOOM_MAX_ENDPOINTS", 20)
LAYERLOOM_TRAINING_QUEUE = "training"
# A running job's worker writes a heartbeat this often (seconds) ...
LAYERLOOM_HEARTBEAT_INTERVAL = env_int("LAYERLOOM_HEARTBEAT_INTERVAL", 2)
# ... and a job whose heartbeat is older than this, with no worker answering, is recovered.
LAYERLOOM_HEARTBEAT_TIMEOUT = env_int("LAYERLOOM_HEARTBEAT_TIMEOUT", 60)
# A crashed job is resumed from its checkpoint this many times, then marked failed.
LAYERLOOM_JOB_MAX_ATTEMPTS = env_int("LAYERLOOM_JOB_MAX_ATTEMPTS", 3)
# Optional cap (MiB) on the address space of the process that trains one job; 0 = none.
LAYERLOOM_JOB_MEMORY_LIMIT_MB = env_int("LAYERLOOM_JOB_MEMORY_LIMIT_MB", 0)
# A succeeded job's checkpoint is removed (nothing resumes it) unless this is set.
LAYERLOOM_KEEP_CHECKPOINTS = env_bool("LAYERLOOM_KEEP_CHECKPOINTS", False)
# The evaluation's linear baseline is fitted on at most this many training values (rows x values
# per row); past it on a random subset of rows, and a sample wider than 1/100 of it skips it.
LAYERLOOM_BASELINE_MAX_VALUES = env_int("LAYERLOOM_BASELINE_MAX_VALUES", 10_000_000)
# Off only for tests and benchmarks that measure training alone: no model files, no bundle.
LAYERLOOM_EXPORT_ARTIFACTS = env_bool("LAYERLOOM_EXPORT_ARTIFACTS", True)
# A training worker keeps one process per framework listed here waiting with Django and the
# framework already imported, so a job does not wait seconds for those imports
# (workers/supervisor.py). Costs the memory of the idle imports (about 0.3-0.4 GB
# for torch, 0.5-0.7 GB for TensorFlow) per training worker; "none" turns it off.
LAYERLOOM_STANDBY_FRAMEWORKS = env_list("LAYERLOOM_STANDBY_FRAMEWORKS", ["torch", "keras"])
# Math threads of the process that trains one job (and of a dry run); 0 = the cores this process
# may run on (its CPU affinity) minus one, left for the web process and the default worker that share
# the machine (at least 1). A framework's own variable set in the worker's environment wins for it
# (OMP_NUM_THREADS for torch, TF_NUM_INTRAOP_THREADS/TF_NUM_INTEROP_THREADS for TensorFlow;
# workers/training/backends/threads.py).
LAYERLOOM_TRAINER_THREADS = env_int("LAYERLOOM_TRAINER_THREADS", 0)
# Fair share: a user's queued jobs wait in the database and at most this many of them are in the
# broker (queued there or running) at once; the next goes when one ends (workers.lifecycle.dispatch).
LAYERLOOM_DISPATCH_PER_USER = env_int("LAYERLOOM_DISPATCH_PER_USER", 1)
# A job sent this many seconds ago, still queued, with its queue empty: the broker lost its
# message (a Redis restarted without persistence); the periodic dispatch sends it again.
LAYERLOOM_RESEND_LOST_AFTER = env_int("LAYERLOOM_RESEND_LOST_AFTER", 120)
# Dry-run estimates one user may have queued or running (one runs at a time); more answer 429.
LAYERLOOM_MAX_ESTIMATES = env_int("LAYERLOOM_MAX_ESTIMATES", 3)
# A dry run's child is killed past this many seconds and the estimate fails saying so.
LAYERLOOM_ESTIMATE_TIME_LIMIT = env_int("LAYERLOOM_ESTIMATE_TIME_LIMIT", 240)
# An estimate whose client has not polled it for this many seconds is cancelled (a running one stopped).
LAYERLOOM_ESTIMATE_ABANDON_SECONDS = env_int("LAYERLOOM_ESTIMATE_ABANDON_SECONDS", 30)
CELERY_BEAT_SCHEDULE = {
    "reap-stale-training-jobs": {"task": "workers.reap_stale_jobs", "schedule": 30.0},
    # The safety net for a turn that was not passed on (a process that died between ending
    # one job and sending its owner's next), and for abandoned or lost estimates.
    "dispatch-waiting-work": {"task": "workers.dispatch_waiting", "schedule": 30.0},
    # Sweeps go on after a restart, and start the trials that waited for the owner's quota.
    "step-running-sweeps": {"task": "sweeps.step_all", "schedule": 30.0},
}
# Beat's own state lives with the rest of the instance's files, wherever LAYERLOOM_VAR_DIR
# points (the Procfile passes no -s, so this is the one place the path is decided).
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# --- end Training

# --- API ------------------------------------------------------------------------------
# Owned by api/ (issue 6).
REST_FRAMEWORK.update(
    {
        # One error shape everywhere: {"status", "code", "message", "errors": [{"field", ...}]}.
        "EXCEPTION_HANDLER": "api.errors.exception_handler",
        # Token first, so an anonymous request gets 401 with `WWW-Authenticate: Token`, not a bare 403.
        "DEFAULT_AUTHENTICATION_CLASSES": [
            # DRF's TokenAuthentication, with the token's user kept per process (api.request_cache).
            "api.request_cache.CachedTokenAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ],
        "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
        "DEFAULT_THROTTLE_CLASSES": ["api.throttles.UserThrottle"],
        "DEFAULT_RENDERER_CLASSES": ["api.renderers.JSONRenderer"],
        # JSON bodies; the dataset upload view adds multipart for itself.
        "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
        "TEST_REQUEST_DEFAULT_FORMAT": "json",
        # X-Forwarded-For is read only as far as the trusted proxies (see LAYERLOOM_TRUSTED_PROXIES).
        "NUM_PROXIES": LAYERLOOM_TRUSTED_PROXIES,
    }
)
# Requests per user (anonymous: per address), read at request time by api.throttles.
LAYERLOOM_API_THROTTLE_RATES: dict[str, str | None] = {
    "user": env_str("LAYERLOOM_API_RATE", "1200/minute"),
    "upload": env_str("LAYERLOOM_API_UPLOAD_RATE", "60/hour"),
    "submit": env_str("LAYERLOOM_API_SUBMIT_RATE", "120/hour"),
    "auth": env_str("LAYERLOOM_API_AUTH_RATE", "20/minute"),
}
# Requests each web process lets wait at once for an ingestion to end (GET a dataset with ?wait=);
# each holds a server thread, so this stays well under gunicorn's threads. Past it, they answer at once.
LAYERLOOM_API_WAITERS = env_int("LAYERLOOM_API_WAITERS", 4)
SPECTACULAR_SETTINGS.update(
    {
        "COMPONENT_SPLIT_REQUEST": True,  # request and response bodies as separate schemas
        "SCHEMA_PATH_PREFIX": "/api/",
        # Swagger UI from the drf-spectacular-sidecar package's static files: no CDN.
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        "ENUM_NAME_OVERRIDES": {},
    }
)
# --- end API

# --- Serving --------------------------------------------------------------------------
# Owned by serving/ (issue 15): predictions on ONNX Runtime in the web process.
# Inputs (rows, texts or images) one predict request may carry.
LAYERLOOM_PREDICT_MAX_BATCH = env_int("LAYERLOOM_PREDICT_MAX_BATCH", 1000)
# Largest predict request body (JSON or multipart), in bytes; larger answers 413.
LAYERLOOM_PREDICT_MAX_BODY_BYTES = env_int("LAYERLOOM_PREDICT_MAX_BODY_BYTES", 20 * 1024**2)
# Activations one predict request may put through its model (MiB): inputs times what one input
# needs (from the spec's layer shapes); a larger batch answers 400 with the largest that fits.
LAYERLOOM_PREDICT_MEMORY_MB = env_int("LAYERLOOM_PREDICT_MEMORY_MB", 256)
# Pixels all the images of one predict request may hold together, read from their headers
# before any is decoded (each image has its own cap too).
LAYERLOOM_PREDICT_MAX_PIXELS = env_int("LAYERLOOM_PREDICT_MAX_PIXELS", 50_000_000)
# Loaded models kept per web process, by the memory each took when loaded (least recently used go first).
LAYERLOOM_SERVING_CACHE_BYTES = env_int("LAYERLOOM_SERVING_CACHE_BYTES", 512 * 1024**2)
# ONNX Runtime threads per model: the web server already runs requests side by side.
LAYERLOOM_SERVING_THREADS = env_int("LAYERLOOM_SERVING_THREADS", 1)
# With Redis, each web process keeps a token's user and a predict request's job or named
# endpoint while nothing they copy has changed (api.request_cache); an entry is dropped this
# many seconds after it was stored even so: the longest a revoked token could still be
# accepted if Redis lost the change's notice.
LAYERLOOM_REQUEST_CACHE_SECONDS = env_int("LAYERLOOM_REQUEST_CACHE_SECONDS", 30)
# --- end Serving
# --- Browser pages ----------------------------------------------------------------------
# WhiteNoise also serves files straight from static/ (not only collectstatic's copy), so
# pages keep their CSS and JS with DEBUG off under `make run`.
WHITENOISE_USE_FINDERS = True
# --- end Browser pages
