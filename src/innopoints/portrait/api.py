"""API endpoints of this app."""

from ninja import Router

router = Router(tags=["portrait"])
