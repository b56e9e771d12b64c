"""Forms of the enterprise pages."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from innopoints.enterprises.models import ImportBatch

ACCEPTED_SUFFIXES = (".xlsx", ".csv", ".txt")


class ImportForm(forms.Form):
    zone = forms.ModelChoiceField(queryset=None, label=_("Zone"))
    file = forms.FileField(label=_("File (.xlsx or .csv)"))
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=[
            (ImportBatch.Mode.STRICT, _("Strict: write nothing if any row has an error")),
            (ImportBatch.Mode.VALID_ROWS, _("Valid rows: write the valid rows, report the rest")),
        ],
        initial=ImportBatch.Mode.STRICT,
    )
    dry_run = forms.BooleanField(label=_("Dry run (check only, write nothing)"), required=False)

    def __init__(self, *args, zones, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones
        if zones.count() == 1:
            self.fields["zone"].initial = zones.first()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ACCEPTED_SUFFIXES):
            raise forms.ValidationError(
                _("Only .xlsx and .csv files are accepted (got %(name)s).") % {"name": upload.name}
            )
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(limit)d MB.")
                % {"limit": settings.IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024)}
            )
        return upload


class ExportForm(forms.Form):
    zone = forms.ModelChoiceField(queryset=None, label=_("Zone"))
    format = forms.ChoiceField(
        label=_("Format"), choices=[("xlsx", "Excel (.xlsx)"), ("csv", "CSV (UTF-8)")]
    )
    headers = forms.ChoiceField(
        label=_("Headers"),
        choices=[("zh", _("Chinese names with units")), ("code", _("Field codes"))],
    )
    years = forms.CharField(
        label=_("Years (e.g. 2024,2025; empty for all)"), required=False, max_length=100
    )

    def __init__(self, *args, zones, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones
        if zones.count() == 1:
            self.fields["zone"].initial = zones.first()

    def clean_years(self):
        text = self.cleaned_data["years"].replace("，", ",").strip()
        if not text:
            return None
        try:
            return sorted({int(part) for part in text.split(",") if part.strip()})
        except ValueError as exc:
            raise forms.ValidationError(_("Years must be numbers separated by commas.")) from exc
