"""WSGI entry point."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "innopoints.site.settings")
application = get_wsgi_application()

from innopoints.site.runtime import settle_heap  # noqa: E402 - needs the app loaded

settle_heap()
