"""Settings for the test suite: a throw-away data dir, inline jobs, a fast password hasher."""

import os
import tempfile

os.environ.setdefault("INNOPOINTS_DATA_DIR", tempfile.mkdtemp(prefix="innopoints-test-"))

from innopoints.site.settings import *  # noqa: E402,F403

JOBS_INLINE = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
