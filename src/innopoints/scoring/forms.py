"""Forms of the scoring pages."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

MAX_MODEL_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_POINTS_UPLOAD_BYTES = 20 * 1024 * 1024


def _default_year() -> int:
    return dt.date.today().year - 1


class _ZoneForm(forms.Form):
    zone = forms.ModelChoiceField(queryset=None, label=_("Zone"))

    def __init__(self, *args, zones, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones
        if zones.count() == 1:
            self.fields["zone"].initial = zones.first()


class ModelUploadForm(_ZoneForm):
    file = forms.FileField(label=_("Model document (.yaml)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".yaml", ".yml")):
            raise forms.ValidationError(
                _("Only .yaml files are accepted (got %(name)s).") % {"name": upload.name}
            )
        if upload.size > MAX_MODEL_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        return upload


class ActivateForm(forms.Form):
    year = forms.IntegerField(
        label=_("Year"), min_value=2000, max_value=2100, initial=_default_year
    )


class StartRunForm(_ZoneForm):
    year = forms.IntegerField(
        label=_("Year"), min_value=2000, max_value=2100, initial=_default_year
    )


class ExternalImportForm(_ZoneForm):
    source = forms.CharField(label=_("Source"), max_length=64, initial=_("National platform"))
    file = forms.FileField(label=_("File (.xlsx or .csv: uscc, year, points, optional rank)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".xlsx", ".csv", ".txt")):
            raise forms.ValidationError(
                _("Only .xlsx and .csv files are accepted (got %(name)s).") % {"name": upload.name}
            )
        if upload.size > MAX_POINTS_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload
