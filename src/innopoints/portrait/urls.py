"""Pages of this app."""

from django.urls import path

from innopoints.portrait import views

urlpatterns = [
    path("", views.portrait_home, name="portrait-home"),
    path("corrections/", views.corrections_page, name="portrait-corrections"),
    path("corrections/<int:pk>/", views.correction_detail, name="portrait-correction"),
    path(
        "corrections/<int:pk>/review/", views.correction_review, name="portrait-correction-review"
    ),
    path("<str:uscc>/", views.portrait_latest, name="portrait-latest"),
    path("<str:uscc>/corrections/new/", views.correction_new, name="portrait-correction-new"),
    path("<str:uscc>/<int:year>/", views.portrait_page, name="portrait-page"),
    path("<str:uscc>/<int:year>/pdf/", views.portrait_pdf, name="portrait-pdf"),
]
