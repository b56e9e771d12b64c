"""Finance pages, mounted at /finance/."""

from django.urls import path

from innopoints.finance import views

urlpatterns = [
    path("", views.home, name="finance-home"),
    path("firm/", views.firm_page, name="finance-firm"),
    path("consents/<int:consent_id>/revoke/", views.consent_revoke, name="finance-consent-revoke"),
    path("bank/", views.bank_page, name="finance-bank"),
    path("products/new/", views.product_edit, name="finance-product-new"),
    path("products/<int:product_id>/", views.product_detail, name="finance-product"),
    path("products/<int:product_id>/edit/", views.product_edit, name="finance-product-edit"),
    path("products/<int:product_id>/shortlist/", views.shortlist_page, name="finance-shortlist"),
    path("products/<int:product_id>/monitor/", views.monitor_page, name="finance-monitor"),
    path("products/<int:product_id>/apply/", views.apply_page, name="finance-apply"),
    path(
        "products/<int:product_id>/lines/<str:uscc>/",
        views.credit_line_page,
        name="finance-credit-line",
    ),
    path("loans/", views.loans_page, name="finance-loans"),
    path("loans/<int:loan_id>/", views.loan_page, name="finance-loan"),
    path("stats/", views.stats_page, name="finance-stats"),
    path("riskpools/", views.risk_pools_page, name="finance-riskpools"),
    path("ip/", views.ip_page, name="finance-ip"),
    path("pledges/", views.pledges_page, name="finance-pledges"),
    path("licences/", views.licences_page, name="finance-licences"),
    path("licences/<int:licence_id>/", views.licence_page, name="finance-licence"),
]
