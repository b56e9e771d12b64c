"""Writes of the portal. Each runs in one transaction and leaves an audit record.

- `do_publish_ranking`: freeze a done run's ranking as a `Publication` with its
  `Placement` rows, the run hash and a hash of the snapshot; open the objection period.
- `do_file_objection`: an enterprise objects to its placement before the deadline, with
  a reason and attachments (pdf/jpg/png/xlsx, each ≤ 5 MB) stored under
  PRIVATE_FILES_DIR, outside the web root.
- `do_resolve_objection`: a zone admin accepts (with a note) or rejects (with a reason).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from innopoints.accounts.access import enterprise_id_of
from innopoints.audit.actions import record
from innopoints.portal import access
from innopoints.portal.models import Objection, ObjectionAttachment, Placement, Publication
from innopoints.scoring import access as scoring_access
from innopoints.scoring.actions import model_of
from innopoints.scoring.models import ScoringRun

DEFAULT_OBJECTION_DAYS = 5
MAX_OBJECTION_DAYS = 60
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 5
MAX_REASON_CHARS = 4000
ATTACHMENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SNAPSHOT_FIELDS = (
    "uscc",
    "stage",
    "industry_section",
    "total",
    "band",
    "rank_zone",
    "n_zone",
    "pct_zone",
    "rank_stage",
    "n_stage",
    "pct_stage",
    "rank_industry",
    "n_industry",
    "pct_industry",
)


class PortalError(ValueError):
    """A portal action that cannot be done (the message is for the user); `code` names
    the reason for API clients."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


class Upload(Protocol):
    """What an uploaded file offers (Django's UploadedFile does)."""

    name: str
    size: int

    def read(self) -> bytes: ...


@dataclass
class FileUpload:
    """An upload from bytes (API clients, tests)."""

    name: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self) -> bytes:
        return self.data


def objection_days_default() -> int:
    """The default objection period in days (settings.PORTAL_OBJECTION_DAYS, else 5)."""
    return int(getattr(settings, "PORTAL_OBJECTION_DAYS", DEFAULT_OBJECTION_DAYS))


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


# ---------------------------------------------------------------------------- publication


def _canonical(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    return value


def snapshot_hash(rows: Iterable[dict[str, Any]]) -> str:
    """The hash of a ranking snapshot: its scoring fields keyed by USCC, sorted by USCC,
    as canonical JSON. Database ids and names are left out, so the same run hash (same
    model, same data) gives the same snapshot hash in any database."""
    canonical = sorted(
        ([_canonical(row.get(f)) for f in SNAPSHOT_FIELDS] for row in rows), key=lambda r: r[0]
    )
    text = json.dumps(
        {"fields": SNAPSHOT_FIELDS, "rows": canonical}, ensure_ascii=False, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_snapshot(actor, run: ScoringRun) -> list[dict[str, Any]]:
    """The ranking rows of a run as the actor may read them (one dict per firm)."""
    columns = [
        "enterprise_id",
        "enterprise__uscc",
        "enterprise__name",
        *[f for f in SNAPSHOT_FIELDS if f != "uscc"],
    ]
    rows = []
    for values in (
        scoring_access.visible_firm_scores(actor, run)
        .order_by("rank_zone", "enterprise__uscc")
        .values_list(*columns)
    ):
        row = dict(zip(columns, values, strict=True))
        row["uscc"] = row.pop("enterprise__uscc")
        row["name"] = row.pop("enterprise__name")
        rows.append(row)
    return rows


def _names(run: ScoringRun) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    model = model_of(run.model_version)
    bands = {b.code: {"zh": b.name.zh, "en": b.name.en} for b in model.doc.bands.levels}
    stages = {s.code: {"zh": s.zh, "en": s.en} for s in model.stage_scheme.stages}
    return bands, stages


def do_publish_ranking(
    actor,
    run: ScoringRun,
    *,
    objection_days: int | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Publication:
    """Publish a done run's ranking with an objection period (days; default 5).

    The run's rows are copied into frozen `Placement` rows; later runs never change
    them. Raises `PortalError` when the actor may not publish the zone's rankings, the
    run is not done, or the period is out of range.
    """
    run = ScoringRun.objects.select_related("zone", "model_version").get(pk=run.pk)
    if not access.can_publish(actor, run.zone):
        raise PortalError(_("Only the zone's administrators publish its rankings."), "forbidden")
    if run.status != ScoringRun.Status.DONE or not run.run_hash:
        raise PortalError(_("Only a finished scoring run can be published."), "run_not_done")
    days = objection_days_default() if objection_days is None else int(objection_days)
    if not 1 <= days <= MAX_OBJECTION_DAYS:
        raise PortalError(
            _("The objection period must be between 1 and %(n)s days.") % {"n": MAX_OBJECTION_DAYS}
        )
    rows = run_snapshot(actor, run)
    if not rows:
        raise PortalError(_("The run has no firm scores to publish."), "empty_run")
    digest = snapshot_hash(rows)
    bands, stages = _names(run)
    published_at = now or timezone.now()
    with transaction.atomic():
        publication = Publication.objects.create(
            zone=run.zone,
            year=run.year,
            run=run,
            run_hash=run.run_hash,
            snapshot_hash=digest,
            model_version=str(run.model_version),
            band_names=bands,
            stage_names=stages,
            firms=len(rows),
            objection_days=days,
            published_at=published_at,
            objection_deadline=published_at + dt.timedelta(days=days),
            published_by=_user(actor),
            note=note.strip()[:500],
        )
        Placement.objects.bulk_create(
            [
                Placement(
                    publication=publication,
                    **{k: v for k, v in row.items() if k != "name"},
                    name=(row["name"] or "")[:100],
                )
                for row in rows
            ],
            batch_size=1000,
        )
        record(
            actor,
            "portal.publish",
            publication,
            zone=run.zone,
            object_repr=f"{run.zone.code} {run.year} · run #{run.pk}",
            detail={
                "run": run.pk,
                "year": run.year,
                "run_hash": run.run_hash,
                "snapshot_hash": digest,
                "firms": len(rows),
                "objection_days": days,
                "objection_deadline": publication.objection_deadline,
            },
        )
    return publication


def current_publications(publications) -> list[Publication]:
    """The latest publication of each zone and year among `publications`."""
    seen: set[tuple[int, int]] = set()
    out = []
    for publication in publications.order_by("zone_id", "-year", "-published_at", "-id"):
        key = (publication.zone_id, publication.year)
        if key not in seen:
            seen.add(key)
            out.append(publication)
    return out


# ---------------------------------------------------------------------------- objections


def _sniff(ext: str, head: bytes, data: bytes) -> bool:
    """Whether the content matches the extension (magic bytes; xlsx is a workbook zip)."""
    if ext == "pdf":
        return head.startswith(b"%PDF-")
    if ext == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if ext == "xlsx":
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return False
        return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)
    return False


def check_attachment(
    upload: Upload,
    max_bytes: int = MAX_ATTACHMENT_BYTES,
    error: type[Exception] | None = None,
) -> tuple[str, bytes]:
    """The extension and content of an acceptable attachment; raises `error` (default
    `PortalError`) with a message and a code.

    Accepted: .pdf, .jpg/.jpeg, .png, .xlsx whose content matches the extension, from
    1 byte to `max_bytes` (5 MB here; other apps pass their own limit). The size is
    checked before the content is read.
    """
    fail = error or PortalError
    name = Path(upload.name or "").name
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ATTACHMENT_TYPES:
        raise fail(
            _("%(name)s: only PDF, JPG, PNG and XLSX files can be attached.") % {"name": name},
            "attachment_type",
        )
    too_big = _("%(name)s: a file may be at most %(mb)s MB.") % {
        "name": name,
        "mb": max_bytes // (1024 * 1024),
    }
    if upload.size > max_bytes:
        raise fail(too_big, "attachment_size")
    data = upload.read()
    if len(data) > max_bytes:
        raise fail(too_big, "attachment_size")
    if not data:
        raise fail(_("%(name)s: the file is empty.") % {"name": name}, "attachment_empty")
    if not _sniff(ext, data[:16], data):
        raise fail(
            _("%(name)s: the content is not a %(ext)s file.") % {"name": name, "ext": ext.upper()},
            "attachment_type",
        )
    return ext, data


def private_root() -> Path:
    """The directory of private files (settings.PRIVATE_FILES_DIR), outside the web root."""
    return Path(settings.PRIVATE_FILES_DIR)


def do_file_objection(
    actor,
    publication: Publication,
    reason: str,
    files: Sequence[Upload] = (),
    *,
    now: dt.datetime | None = None,
) -> Objection:
    """File an enterprise's objection to its placement in `publication`.

    Allowed to an enterprise user listed in the publication, before the objection
    deadline, with a reason, one open objection per publication, and at most five
    attachments of the accepted types and sizes. Raises `PortalError` otherwise; nothing
    is stored then.
    """
    filed_at = now or timezone.now()
    enterprise_id = enterprise_id_of(actor)
    listed = (
        enterprise_id is not None
        and Placement.objects.filter(publication=publication, enterprise_id=enterprise_id).exists()
    )
    if not listed:
        raise PortalError(_("Only a firm listed in this ranking can object to it."), "not_listed")
    if filed_at > publication.objection_deadline:
        deadline = timezone.localtime(publication.objection_deadline)
        raise PortalError(
            _("The objection period ended on %(deadline)s.")
            % {"deadline": deadline.strftime("%Y-%m-%d %H:%M")},
            "deadline_passed",
        )
    reason = (reason or "").strip()
    if not reason:
        raise PortalError(_("Give the reason for the objection."), "reason_missing")
    if len(reason) > MAX_REASON_CHARS:
        raise PortalError(
            _("The reason may be at most %(n)s characters.") % {"n": MAX_REASON_CHARS},
            "reason_too_long",
        )
    if len(files) > MAX_ATTACHMENTS:
        raise PortalError(
            _("At most %(n)s files can be attached.") % {"n": MAX_ATTACHMENTS}, "too_many_files"
        )
    checked = [(upload, *check_attachment(upload)) for upload in files]
    if Objection.objects.filter(
        publication=publication, enterprise_id=enterprise_id, status=Objection.Status.OPEN
    ).exists():
        raise PortalError(
            _("Your firm already has an open objection to this ranking."), "already_open"
        )
    folder = private_root() / "objections" / str(publication.pk)
    written: list[Path] = []
    try:
        with transaction.atomic():
            objection = Objection.objects.create(
                publication=publication,
                enterprise_id=enterprise_id,
                reason=reason,
                filed_by=_user(actor),
                filed_at=filed_at,
            )
            folder.mkdir(parents=True, exist_ok=True)
            attachments = []
            for upload, ext, data in checked:
                relative = Path("objections") / str(publication.pk) / f"{uuid.uuid4().hex}.{ext}"
                path = private_root() / relative
                path.write_bytes(data)
                written.append(path)
                attachments.append(
                    ObjectionAttachment.objects.create(
                        objection=objection,
                        original_name=Path(upload.name).name[:200],
                        stored_path=str(relative),
                        content_type=ATTACHMENT_TYPES[ext],
                        size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(),
                    )
                )
            record(
                actor,
                "portal.objection.file",
                objection,
                zone=publication.zone,
                object_repr=f"{publication.zone.code} {publication.year} · {objection.enterprise}",
                detail={
                    "publication": publication.pk,
                    "year": publication.year,
                    "enterprise": objection.enterprise.uscc,
                    "attachments": [
                        {"name": a.original_name, "size": a.size, "sha256": a.sha256}
                        for a in attachments
                    ],
                },
            )
    except Exception:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return objection


def do_resolve_objection(
    actor,
    objection: Objection,
    *,
    accept: bool,
    note: str,
    now: dt.datetime | None = None,
) -> Objection:
    """Accept (with a note) or reject (with a reason) an open objection.

    Only the admins of the publication's zone resolve. On acceptance the admin then
    corrects the data through the import and re-runs scoring; the published list itself
    never changes (a new publication supersedes it). Raises `PortalError` otherwise.
    """
    note = (note or "").strip()
    with transaction.atomic():
        current = (
            Objection.objects.select_for_update()
            .select_related("publication", "publication__zone", "enterprise")
            .get(pk=objection.pk)
        )
        if not access.can_resolve_objection(actor, current):
            raise PortalError(
                _("Only the zone's administrators resolve its objections."), "forbidden"
            )
        if current.status != Objection.Status.OPEN:
            raise PortalError(_("This objection is already resolved."), "already_resolved")
        if not note:
            raise PortalError(
                _("Give a note on the correction.")
                if accept
                else _("Give the reason for the rejection."),
                "note_missing",
            )
        status = Objection.Status.ACCEPTED if accept else Objection.Status.REJECTED
        current.status = status
        current.resolution_note = note[:MAX_REASON_CHARS]
        current.resolved_by = _user(actor)
        current.resolved_at = now or timezone.now()
        current.save(update_fields=["status", "resolution_note", "resolved_by", "resolved_at"])
        record(
            actor,
            "portal.objection.accept" if accept else "portal.objection.reject",
            current,
            zone=current.publication.zone,
            object_repr=f"{current.publication.zone.code} {current.publication.year} · "
            f"{current.enterprise}",
            changes={"status": [Objection.Status.OPEN.value, status.value]},
            detail={
                "publication": current.publication_id,
                "enterprise": current.enterprise.uscc,
                "note": current.resolution_note,
            },
        )
    return current


def response_days() -> int:
    """Days within which an objection should be resolved before it shows as overdue
    (settings.PORTAL_OBJECTION_RESPONSE_DAYS, else 10)."""
    return int(getattr(settings, "PORTAL_OBJECTION_RESPONSE_DAYS", 10))


def overdue_before(now: dt.datetime | None = None) -> dt.datetime:
    """Open objections filed before this moment are overdue."""
    return (now or timezone.now()) - dt.timedelta(days=response_days())
