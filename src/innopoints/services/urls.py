"""Services pages, mounted at /services/."""

from django.urls import path

from innopoints.services import views

urlpatterns = [
    path("", views.hub, name="services-home"),
    path("contracts/", views.contract_list, name="services-contracts"),
    path("contracts/<int:contract_id>/", views.contract_detail, name="services-contract"),
    path("supply/", views.supply_list, name="services-supply"),
    path("demands/", views.demand_list, name="services-demands"),
    path("demands/<int:demand_id>/", views.demand_detail, name="services-demand"),
    path("results/", views.result_list, name="services-results"),
    path("results/<int:result_id>/", views.result_detail, name="services-result"),
    path("projects/", views.project_list, name="services-projects"),
    path("projects/<int:project_id>/", views.project_detail, name="services-project"),
    path("handling/", views.handling_list, name="services-handling"),
    path("handling/<int:request_id>/", views.request_detail, name="services-request"),
    path("documents/<int:document_id>/", views.document_download, name="services-document"),
]
