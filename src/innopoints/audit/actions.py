"""Recording audit events. Every action function of every app calls `record` in its transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models

from innopoints.audit.context import current_source
from innopoints.audit.models import AuditEvent


def jsonable(value: Any) -> Any:
    """A value as it is stored in the audit trail's JSON (dates as ISO text)."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    return value


def diff_fields(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value differs between `old` and `new`, as {field: [old, new]}."""
    changes = {}
    for key in sorted(set(old) | set(new)):
        before, after = jsonable(old.get(key)), jsonable(new.get(key))
        if before != after:
            changes[key] = [before, after]
    return changes


def build_event(
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    *,
    zone: Any = None,
    changes: dict[str, list[Any]] | None = None,
    detail: dict[str, Any] | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    object_repr: str | None = None,
) -> AuditEvent:
    """An unsaved audit event (for bulk inserts); `record` saves one."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent(
        actor=user,
        actor_name=getattr(actor, "username", "") or ("system" if actor is None else str(actor)),
        source=current_source.get(),
        action=action,
        object_type=object_type or (obj._meta.label_lower if obj is not None else ""),
        object_id=object_id or (str(obj.pk) if obj is not None else ""),
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:200],
        zone=zone,
        changes=changes or {},
        detail={k: jsonable(v) for k, v in (detail or {}).items()},
    )


def record(actor: Any, action: str, obj: models.Model | None = None, **kwargs: Any) -> AuditEvent:
    """Append one audit event (call inside the action's transaction)."""
    event = build_event(actor, action, obj, **kwargs)
    event.save()
    return event


def record_many(events: list[AuditEvent]) -> None:
    """Append many prepared events in one statement batch."""
    AuditEvent.objects.bulk_create(events, batch_size=2000)
