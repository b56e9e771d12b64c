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


class ObjectionForm(forms.Form):
    """An enterprise's objection: a reason and up to five attachments."""

    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 4}), max_length=MAX_REASON_CHARS
    )
    files = forms.FileField(
        label=_("Attachments (PDF, JPG, PNG, XLSX; at most 5 MB each)"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.xlsx"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.uploads = list(self.files.getlist("files")) if self.files else []

    def clean_files(self):
        if len(self.uploads) > MAX_ATTACHMENTS:
            raise forms.ValidationError(
                _("At most %(n)s files can be attached.") % {"n": MAX_ATTACHMENTS}
            )
        return self.uploads


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
