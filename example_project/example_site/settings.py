"""Settings of the example project: everything secret or site-specific comes from the
environment, or from ``example_project/.env`` (see ``.env.example``) through django-environ.

``python manage.py trigger_demo`` needs none of it: it starts a local emulator and sets the
``TRIGGER_*`` variables below for the development server it runs.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent  # example_project/

env = environ.Env()
# Variables already in the environment win over the file (read_env never overwrites them).
environ.Env.read_env(BASE_DIR / ".env")

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="django-insecure-example-project-only")
DEBUG = env.bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "dashboard",  # first, so that its admin/base_site.html (the demo banner) wins
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_trigger",  # the client settings, checks, admin pages and commands
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_site.urls"
WSGI_APPLICATION = "example_site.wsgi.application"
ASGI_APPLICATION = "example_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.demo_mode",
            ]
        },
    }
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"

# The example's pages are for staff: log in through the admin.
LOGIN_URL = "admin:login"

# -- Trigger.dev ------------------------------------------------------------------------------
# Named clients, like DATABASES or CACHES; views pick one with get_client(alias).
TRIGGER = {
    # Token, API URL and project ref of "default" are read by django_trigger itself from
    # TRIGGER_SECRET_KEY, TRIGGER_API_URL and TRIGGER_PROJECT_REF (environment or .env).
    "default": {
        "RETRY": {"MAX_ATTEMPTS": 3},  # a web request should not wait through five attempts
        "TIMEOUT": 20.0,
        # WEBHOOK_SECRET (alert webhooks) comes from TRIGGER_WEBHOOK_SECRET when set.
    },
}

# "prod": a second client, with the production secret key of the same project (secret keys
# are scoped to one environment). Optional: without TRIGGER_PROD_SECRET_KEY the example runs
# with the default client only.
if env.str("TRIGGER_PROD_SECRET_KEY", default=""):
    TRIGGER["prod"] = {
        "ACCESS_TOKEN": env.str("TRIGGER_PROD_SECRET_KEY"),
        "API_URL": env.str("TRIGGER_API_URL", default="https://api.trigger.dev"),
        "PROJECT_REF": env.str("TRIGGER_PROJECT_REF", default=None),
        "RETRY": {"MAX_ATTEMPTS": 3},
    }

# The chat page's agent: sessions of this type of this task (docs/example-project.md). The
# defaults suit the demo's emulator, whose "emulator-echo" sessions echo each message.
CHAT_AGENT_TASK = env.str("EXAMPLE_CHAT_TASK", default="send-email")
CHAT_SESSION_TYPE = env.str("EXAMPLE_CHAT_TYPE", default="emulator-echo")

# Set by `manage.py trigger_demo` for the server it starts: every page then says that the site
# talks to a local emulator, not to Trigger.dev.
DEMO_EMULATOR_URL = env.str("EXAMPLE_DEMO_EMULATOR_URL", default="")
