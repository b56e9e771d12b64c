"""Policy pages, mounted at /policies/."""

from django.urls import path

from innopoints.policies import views

urlpatterns = [
    path("", views.catalogue, name="policies-home"),
    path("mine/", views.mine, name="policies-mine"),
    path("firms/<str:uscc>/", views.firm_policies, name="policies-firm"),
    path("new/", views.policy_new, name="policies-new"),
    path("match/", views.match_all, name="policies-match"),
    path("import/", views.import_page, name="policies-import"),
    path("export/", views.export, name="policies-export"),
    path("applications/", views.applications, name="policies-applications"),
    path("applications/<int:application_id>/", views.application_detail,
         name="policies-application"),
    path("attachments/<int:attachment_id>/", views.attachment_download,
         name="policies-attachment"),
    path("batches/<int:batch_id>/", views.batch_detail, name="policies-batch"),
    path("<int:policy_id>/", views.policy_detail, name="policies-detail"),
    path("<int:policy_id>/edit/", views.policy_edit, name="policies-edit"),
    path("<int:policy_id>/sandbox/", views.policy_sandbox, name="policies-sandbox"),
    path("<int:policy_id>/publish/", views.policy_publish, name="policies-publish"),
    path("<int:policy_id>/retire/", views.policy_retire, name="policies-retire"),
    path("<int:policy_id>/batches/", views.batch_propose, name="policies-batch-propose"),
    path("<int:policy_id>/apply/", views.apply, name="policies-apply"),
]  # fmt: skip
