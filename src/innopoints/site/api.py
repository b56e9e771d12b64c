"""The REST API root (django-ninja): session auth for the UI; OpenAPI at /api/docs."""

from ninja import NinjaAPI
from ninja.security import django_auth

from innopoints.enterprises.api import router as enterprises_router
from innopoints.pools.api import router as pools_router
from innopoints.portal.api import router as portal_router
from innopoints.portrait.api import router as portrait_router
from innopoints.scoring.api import router as scoring_router

api = NinjaAPI(
    title="innopoints API",
    version="1",
    description="企业创新积分平台 API — the same access rules as the web pages.",
    auth=django_auth,
    urls_namespace="api",
)
api.add_router("/", enterprises_router)
api.add_router("/scoring", scoring_router)
api.add_router("/pools", pools_router)
api.add_router("/portal", portal_router)
api.add_router("/portrait", portrait_router)
