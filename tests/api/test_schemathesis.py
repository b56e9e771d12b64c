"""Schemathesis against the OpenAPI schema, in-process through the Django WSGI app.

Every operation is called with generated data (valid and invalid) as a zone admin
holding a read-write token: no response may be a 5xx, every status must be documented,
and every body and content type must match the schema. Bounded (15 examples per operation
and mode, derandomised, no example database) so it runs in CI in well under two minutes.

The operations run in one test (one database set-up) rather than one pytest item each:
schemathesis' lazy `from_fixture` loader does not work with pytest 9 here.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import make_token

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 15


@pytest.fixture
def api_schema(transactional_db, users, zone):
    """The schema as the app serves it, with a scored year so small ids find real rows."""
    from django.core.wsgi import get_wsgi_application

    from tests.scoring.helpers import scored_zone

    scored_zone(zone, users["admin"])
    return schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


def check_operation(
    operation, mode: GenerationMode, headers: dict[str, str], statuses: Counter
) -> None:
    """Run one operation's generated cases of one mode through the checks."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses[response.status_code] += 1

    run()


def test_every_operation_conforms_to_the_schema(api_schema, users):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30
    failures: dict[str, str] = {}
    statuses: Counter = Counter()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # A fresh token each time: DELETE /api/tokens/{id} may revoke the one in use.
            headers = {"Authorization": f"Bearer {make_token(users['admin'])}"}
            try:
                check_operation(operation, mode, headers, statuses)
            except (
                Exception,
                BaseExceptionGroup,
            ) as exc:  # collect every operation's failure, then report
                failures[f"{operation.label} [{mode.value}]"] = str(exc)[:3000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
    # The token worked: real answers, not a wall of 401s.
    assert statuses[200] > 50 and statuses[401] < statuses[200] / 10, dict(statuses)
