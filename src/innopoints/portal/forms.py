"""Forms of the portal pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from innopoints.portal.actions import (
    MAX_ATTACHMENTS,
    MAX_OBJECTION_DAYS,
    MAX_REASON_CHARS,
    objection_days_default,
)


class PublishForm(forms.Form):
    """Publish a run's ranking with an objection period."""

    run = forms.IntegerField(widget=forms.HiddenInput)
    objection_days = forms.IntegerField(
        label=_("Objection period (days)"), min_value=1, max_value=MAX_OBJECTION_DAYS
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["objection_days"].initial = objection_days_default()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that takes several files (a list, possibly empty)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ObjectionForm(forms.Form):
    """An enterprise's objection: a reason and up to five attachments."""

    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 4}), max_length=MAX_REASON_CHARS
    )
    files = MultipleFileField(
        label=_("Attachments (PDF, JPG, PNG, XLSX; at most 5 MB each)"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.xlsx"}),
    )

    def clean_files(self):
        files = self.cleaned_data.get("files") or []
        if len(files) > MAX_ATTACHMENTS:
            raise forms.ValidationError(
                _("At most %(n)s files can be attached.") % {"n": MAX_ATTACHMENTS}
            )
        return files


class ResolveForm(forms.Form):
    """Accept or reject an objection, with a note or reason."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("accept", _("Accept")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note (acceptance) or reason (rejection)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MAX_REASON_CHARS,
    )
