"""Zone services API: technology contracts, supply and demand lists with ranked
candidates and interest, results conversion with its ledger, key projects, assisted
handling (帮代办), and the zone's statistics. Reads go through `services.access`
(admins and supervisors: their zones; a firm: its own records; banks: nothing), writes
through `services.actions`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from innopoints.services import access, actions, stats
from innopoints.services.actions import (
    do_create_contract,
    do_create_demand,
    do_express_interest,
    do_submit_request,
)
from innopoints.services.matchindex import rank_for_demand
from innopoints.services.models import Conversion, IncomeEntry, ProjectInvestment, ProjectMilestone

router = Router(tags=["services"])


class ErrorOut(Schema):
    detail: str
    code: str


def _forbidden(what: str) -> Status:
    return Status(403, {"detail": what, "code": "forbidden"})


# ---------------------------------------------------------------------------- contracts


class ContractOut(Schema):
    id: int
    zone: str
    registration_no: str
    registered_on: dt.date
    title: str
    type: str
    seller_name: str
    seller_uscc: str
    buyer_name: str
    buyer_uscc: str
    amount: float
    source: str

    @staticmethod
    def resolve_zone(obj) -> str:
        return obj.zone.code


class ContractIn(Schema):
    zone: str = Field(..., max_length=32)
    registration_no: str = Field(..., max_length=40)
    registered_on: dt.date
    title: str = Field(..., max_length=200)
    type: Literal["development", "transfer", "licence", "consulting", "service"]
    seller_name: str = Field(..., max_length=100)
    seller_uscc: str = Field("", max_length=18)
    buyer_name: str = Field(..., max_length=100)
    buyer_uscc: str = Field("", max_length=18)
    amount: float = Field(..., ge=0, le=1e9)


@router.get("/contracts", response=list[ContractOut])
@paginate(LimitOffsetPagination)
def list_contracts(request: HttpRequest, year: int | None = None, type: str = "", q: str = ""):
    """Technology contracts the user may read (`year`, `type`, `q` in title or parties)."""
    qs = access.visible_contracts(request.user).select_related("zone")
    if year is not None and 1900 <= year <= 2200:
        qs = qs.filter(registered_on__year=year)
    if type:
        qs = qs.filter(type=type)
    if q:
        from django.db.models import Q

        qs = qs.filter(
            Q(title__icontains=q) | Q(seller_name__icontains=q) | Q(buyer_name__icontains=q)
        )
    return qs


@router.get("/contracts/{contract_id}", response=ContractOut)
def get_contract(request: HttpRequest, contract_id: int):
    """One contract (404 outside the user's scope)."""
    return access.get_contract(request.user, contract_id)


@router.post("/contracts", response={201: ContractOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut})
def create_contract(request: HttpRequest, payload: ContractIn):
    """Register a contract (zone admins); the parties' `tech_contract_amount` follows."""
    zone = access.managed_zones(request.user).filter(code=payload.zone).first()
    if zone is None:
        return _forbidden("only the zone's admins register contracts")
    data = payload.dict(exclude={"zone"})
    contract = do_create_contract(request.user, zone, **data)
    return Status(201, contract)


# ---------------------------------------------------------------------------- matching


class SupplyOut(Schema):
    id: int
    code: str
    title: str
    field: str
    keywords: str
    description: str
    maturity: str
    owner: str
    industries: str
    active: bool


class DemandOut(Schema):
    id: int
    uscc: str
    firm: str
    problem: str
    description: str
    field: str
    budget: float | None
    deadline: dt.date | None
    active: bool

    @staticmethod
    def resolve_uscc(obj) -> str:
        return obj.enterprise.uscc

    @staticmethod
    def resolve_firm(obj) -> str:
        return obj.enterprise.name


class DemandIn(Schema):
    problem: str = Field(..., max_length=200)
    description: str = Field("", max_length=4000)
    field: str = Field("", max_length=20)
    budget: float | None = Field(None, ge=0, le=1e9)
    deadline: dt.date | None = None
    uscc: str = Field("", max_length=18, description="the firm (zone admins only)")


class CandidateOut(Schema):
    supply_id: int
    title: str
    owner: str
    field: str
    score: float
    terms: list[str]


class InterestIn(Schema):
    supply_id: int


class MatchOut(Schema):
    id: int
    demand_id: int
    supply_id: int
    score: float
    terms: list[str]
    status: str
    firm_interest_at: dt.datetime | None
    owner_interest_at: dt.datetime | None
    contract_id: int | None


@router.get("/supply", response=list[SupplyOut])
@paginate(LimitOffsetPagination)
def list_supply(request: HttpRequest, field: str = ""):
    """The research supply list (院所科研清单) of the user's zone(s)."""
    qs = access.visible_supply(request.user)
    return qs.filter(field=field) if field else qs


@router.get("/demands", response=list[DemandOut])
@paginate(LimitOffsetPagination)
def list_demands(request: HttpRequest):
    """The enterprise demand list (企业需求清单): the zone's (staff) or the firm's own."""
    return access.visible_demands(request.user).select_related("enterprise")


@router.post("/demands", response={201: DemandOut, 400: ErrorOut, 403: ErrorOut})
def create_demand(request: HttpRequest, payload: DemandIn):
    """Post a demand: a firm for itself, or a zone admin for a firm of the zone (`uscc`)."""
    firm = access.own_firm(request.user)
    if firm is None and payload.uscc:
        from innopoints.enterprises.models import Enterprise

        firm = (
            Enterprise.objects.filter(
                zone__in=access.managed_zones(request.user), uscc=payload.uscc.upper()
            )
            .select_related("zone")
            .first()
        )
    if firm is None:
        return _forbidden("only a firm or its zone's admins post demands")
    demand = do_create_demand(request.user, firm, **payload.dict(exclude={"uscc"}))
    return Status(201, demand)


@router.get("/demands/{demand_id}/candidates", response=list[CandidateOut])
def demand_candidates(
    request: HttpRequest, demand_id: int, same_field: bool = False, same_industry: bool = False
):
    """Ranked supply items for a demand (jieba + BM25), with the matching terms."""
    demand = access.get_demand(request.user, demand_id)
    found = rank_for_demand(demand, same_field=same_field, same_industry=same_industry)
    items = {
        s.pk: s for s in access.visible_supply(request.user).filter(pk__in=[c.id for c in found])
    }
    return [
        {
            "supply_id": c.id,
            "title": items[c.id].title,
            "owner": items[c.id].owner,
            "field": items[c.id].field,
            "score": c.score,
            "terms": list(c.terms),
        }
        for c in found
        if c.id in items
    ]


@router.post(
    "/demands/{demand_id}/interest",
    response={200: MatchOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def express_interest(request: HttpRequest, demand_id: int, payload: InterestIn):
    """Interest in a candidate: the demand's firm for itself, a zone admin for the
    institute that owns the supply item. Both make a match."""
    demand = access.get_demand(request.user, demand_id)
    supply = access.get_supply(request.user, payload.supply_id)
    if demand.enterprise_id == getattr(access.own_firm(request.user), "pk", None):
        side = "firm"
    elif access.can_manage_zone(request.user, demand.zone_id):
        side = "owner"
    else:
        return _forbidden("only the firm or the zone's admins express interest")
    match = do_express_interest(request.user, demand, supply, side)
    return Status(200, match)


@router.get("/matches", response=list[MatchOut])
@paginate(LimitOffsetPagination)
def list_matches(request: HttpRequest):
    """Matches of the demands the user may read."""
    return access.visible_matches(request.user)


# ---------------------------------------------------------------------------- results


class ResultOut(Schema):
    id: int
    title: str
    university: str
    team: str
    ip_numbers: str
    field: str
    status: str
    team_share: float
    university_share: float
    grant_agreement: str
    granted_on: dt.date | None
    transfer_agreement: str
    transferred_on: dt.date | None
    transfer_price: float | None
    income_ratio: float | None
    income_basis: str
    income_term_years: int | None
    income_from: dt.date | None


class LedgerEntryOut(Schema):
    conversion_firm_name: str
    year: int
    quarter: int
    basis_amount: float
    ratio: float
    university_amount: float


class LedgerOut(Schema):
    entries: list[LedgerEntryOut]
    basis_total: float
    university_total: float
    team_total: float


@router.get("/results", response=list[ResultOut])
@paginate(LimitOffsetPagination)
def list_results(request: HttpRequest, status: str = ""):
    """Research results under 赋权+转让+约定收益 the user may read."""
    qs = access.visible_results(request.user)
    return qs.filter(status=status) if status else qs


@router.get("/results/{result_id}", response=ResultOut)
def get_result(request: HttpRequest, result_id: int):
    """One result (404 outside the user's scope)."""
    return access.get_result(request.user, result_id)


@router.get("/results/{result_id}/ledger", response=LedgerOut)
def result_ledger(request: HttpRequest, result_id: int):
    """A result's conversion income per period with the university's share and totals."""
    return stats.ledger(access.get_result(request.user, result_id))


# ---------------------------------------------------------------------------- projects


class ProjectOut(Schema):
    id: int
    name: str
    uscc: str
    firm: str
    total_investment: float
    plan_year: int
    planned_this_year: float
    stage: str
    signed_on: dt.date

    @staticmethod
    def resolve_uscc(obj) -> str:
        return obj.enterprise.uscc

    @staticmethod
    def resolve_firm(obj) -> str:
        return obj.enterprise.name


@router.get("/projects", response=list[ProjectOut])
@paginate(LimitOffsetPagination)
def list_projects(request: HttpRequest, stage: str = ""):
    """Key projects the user may read."""
    qs = access.visible_projects(request.user).select_related("enterprise")
    return qs.filter(stage=stage) if stage else qs


# ---------------------------------------------------------------------------- 帮代办


class ProcedureOut(Schema):
    id: int
    code: str
    name_zh: str
    name_en: str
    statutory_days: int
    promised_days: int


class RequestOut(Schema):
    id: int
    uscc: str
    procedure_id: int
    description: str
    documents: str
    state: str
    submitted_on: dt.date
    accepted_on: dt.date | None
    promised_deadline: dt.date | None
    statutory_deadline: dt.date | None
    completed_on: dt.date | None
    working_days: int | None

    @staticmethod
    def resolve_uscc(obj) -> str:
        return obj.enterprise.uscc


class RequestIn(Schema):
    procedure_id: int
    description: str = Field(..., max_length=4000)
    documents: str = Field("", max_length=4000)


@router.get("/procedures", response=list[ProcedureOut])
@paginate(LimitOffsetPagination)
def list_procedures(request: HttpRequest):
    """Procedures the zone handles for firms, with statutory and promised limits."""
    return access.visible_procedures(request.user)


@router.get("/handling", response=list[RequestOut])
@paginate(LimitOffsetPagination)
def list_requests(request: HttpRequest, state: str = ""):
    """Assisted-handling requests: the zone's (staff) or the firm's own."""
    qs = access.visible_requests(request.user).select_related("enterprise")
    return qs.filter(state=state) if state else qs


@router.post("/handling", response={201: RequestOut, 400: ErrorOut, 403: ErrorOut})
def submit_request(request: HttpRequest, payload: RequestIn):
    """A firm asks the zone to handle a procedure for it (enterprise users)."""
    firm = access.own_firm(request.user)
    if firm is None:
        return _forbidden("only enterprise users submit requests")
    procedure = access.visible_procedures(request.user).filter(pk=payload.procedure_id).first()
    if procedure is None:
        return Status(400, {"detail": "unknown procedure / 事项不存在", "code": "invalid"})
    req = do_submit_request(
        request.user,
        firm,
        procedure,
        description=payload.description,
        documents=payload.documents,
    )
    return Status(201, req)


# ---------------------------------------------------------------------------- statistics


class StatsOut(Schema):
    contracts: dict
    conversion: dict
    projects: dict
    handling: dict


@router.get("/stats", response=StatsOut)
def zone_stats(request: HttpRequest):
    """The services statistics over everything the user may read."""
    user, today = request.user, timezone.localdate()
    results = access.visible_results(user)
    projects = access.visible_projects(user)
    _table, totals, _monthly = stats.project_table(
        projects,
        ProjectInvestment.objects.filter(project__in=projects),
        ProjectMilestone.objects.filter(project__in=projects),
        today,
    )
    return {
        "contracts": stats.contract_stats(access.visible_contracts(user)),
        "conversion": stats.conversion_stats(
            results,
            Conversion.objects.filter(result__in=results),
            IncomeEntry.objects.filter(result__in=results),
        ),
        "projects": totals,
        "handling": stats.handling_stats(access.visible_requests(user), today),
    }


# ---------------------------------------------------------------------------- writes
# Everything a person does on the pages is here too (banks' and zones' own systems).


def _admin_zone(request: HttpRequest, code: str):
    return access.managed_zones(request.user).filter(code=code).first()


class SupplyIn(Schema):
    zone: str = Field(..., max_length=32)
    code: str = Field("", max_length=40)
    title: str = Field(..., max_length=200)
    field: str = Field(..., max_length=20)
    keywords: str = Field("", max_length=300)
    description: str = Field("", max_length=4000)
    maturity: str = Field("lab", max_length=12)
    owner: str = Field(..., max_length=100)
    industries: str = Field("", max_length=40)


@router.post("/supply", response={201: SupplyOut, 400: ErrorOut, 403: ErrorOut})
def create_supply(request: HttpRequest, payload: SupplyIn):
    """Add an item to the research supply list (zone admins)."""
    zone = _admin_zone(request, payload.zone)
    if zone is None:
        return _forbidden("only the zone's admins edit the supply list")
    return Status(
        201, actions.do_create_supply(request.user, zone, **payload.dict(exclude={"zone"}))
    )


class MatchContractIn(Schema):
    registration_no: str = Field(..., max_length=40)
    registered_on: dt.date
    amount: float = Field(..., ge=0, le=1e9)
    type: Literal["development", "transfer", "licence", "consulting", "service"] = "development"
    title: str = Field("", max_length=200)


@router.post(
    "/matches/{match_id}/contract",
    response={201: ContractOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def contract_match(request: HttpRequest, match_id: int, payload: MatchContractIn):
    """Register the contract a match (both sides interested) led to (zone admins)."""
    match = access.get_match(request.user, match_id)
    if not access.can_manage_zone(request.user, match.demand.zone_id):
        return _forbidden("only the zone's admins register contracts")
    return Status(201, actions.do_contract_match(request.user, match, **payload.dict()))


class ResultIn(Schema):
    zone: str = Field(..., max_length=32)
    title: str = Field(..., max_length=200)
    university: str = Field(..., max_length=100)
    team: str = Field(..., max_length=300)
    ip_numbers: str = Field("", max_length=300)
    field: str = Field("", max_length=20)


class GrantIn(Schema):
    team_share: float = Field(80, ge=0, le=100)
    university_share: float = Field(20, ge=0, le=100)
    agreement: str = Field(..., max_length=100)
    granted_on: dt.date


class TransferIn(Schema):
    agreement: str = Field(..., max_length=100)
    transferred_on: dt.date
    price: float = Field(..., ge=0, le=1e9)


class IncomeRightIn(Schema):
    ratio: float = Field(..., gt=0, le=100)
    basis: Literal["revenue", "profit", "equity"]
    term_years: int = Field(..., ge=1, le=50)
    income_from: dt.date


class ConversionIn(Schema):
    uscc: str = Field("", max_length=18, description="a firm of the zone")
    firm_name: str = Field("", max_length=100, description="a firm outside the zone")
    mode: Literal["licence", "transfer", "equity"]
    converted_on: dt.date
    amount: float = Field(0, ge=0, le=1e9)


class ConversionOut(Schema):
    id: int
    result_id: int
    firm_name: str
    in_zone: bool
    mode: str
    converted_on: dt.date
    amount: float


class IncomeIn(Schema):
    year: int = Field(..., ge=2000, le=2100)
    quarter: int = Field(0, ge=0, le=4)
    basis_amount: float = Field(..., ge=0, le=1e9)


class IncomeOut(Schema):
    id: int
    conversion_id: int
    year: int
    quarter: int
    basis_amount: float
    ratio: float
    university_amount: float


def _managed_result(request: HttpRequest, result_id: int):
    result = access.get_result(request.user, result_id)
    return result if access.can_manage_zone(request.user, result.zone_id) else None


@router.post("/results", response={201: ResultOut, 400: ErrorOut, 403: ErrorOut})
def create_result(request: HttpRequest, payload: ResultIn):
    """Register a research result (zone admins)."""
    zone = _admin_zone(request, payload.zone)
    if zone is None:
        return _forbidden("only the zone's admins register results")
    return Status(
        201, actions.do_create_result(request.user, zone, **payload.dict(exclude={"zone"}))
    )


@router.post(
    "/results/{result_id}/grant",
    response={200: ResultOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def grant_shares(request: HttpRequest, result_id: int, payload: GrantIn):
    """Step 1 (赋权): ownership shares, which must sum to 100 %."""
    result = _managed_result(request, result_id)
    if result is None:
        return _forbidden("only the zone's admins record the steps")
    return Status(200, actions.do_grant_shares(request.user, result, **payload.dict()))


@router.post(
    "/results/{result_id}/transfer",
    response={200: ResultOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def transfer_share(request: HttpRequest, result_id: int, payload: TransferIn):
    """Step 2 (转让): the university's share goes to the team."""
    result = _managed_result(request, result_id)
    if result is None:
        return _forbidden("only the zone's admins record the steps")
    return Status(200, actions.do_transfer_share(request.user, result, **payload.dict()))


@router.post(
    "/results/{result_id}/income-right",
    response={200: ResultOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def agree_income(request: HttpRequest, result_id: int, payload: IncomeRightIn):
    """Step 3 (约定收益): the university's income right."""
    result = _managed_result(request, result_id)
    if result is None:
        return _forbidden("only the zone's admins record the steps")
    return Status(200, actions.do_agree_income(request.user, result, **payload.dict()))


@router.post(
    "/results/{result_id}/conversions",
    response={201: ConversionOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def convert_result(request: HttpRequest, result_id: int, payload: ConversionIn):
    """Conversion into a firm (a zone firm by USCC, or another by name)."""
    result = _managed_result(request, result_id)
    if result is None:
        return _forbidden("only the zone's admins record conversions")
    from innopoints.enterprises.models import Enterprise

    firm = (
        Enterprise.objects.filter(zone_id=result.zone_id, uscc=payload.uscc.upper()).first()
        if payload.uscc
        else None
    )
    data = payload.dict(exclude={"uscc"})
    return Status(201, actions.do_convert_result(request.user, result, enterprise=firm, **data))


@router.post(
    "/results/{result_id}/conversions/{conversion_id}/income",
    response={201: IncomeOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def record_income(request: HttpRequest, result_id: int, conversion_id: int, payload: IncomeIn):
    """Conversion income of a period; the university's share follows the agreed ratio."""
    result = _managed_result(request, result_id)
    if result is None:
        return _forbidden("only the zone's admins record income")
    conversion = result.conversions.filter(pk=conversion_id).first()
    if conversion is None:
        raise Http404("conversion not found")
    return Status(201, actions.do_record_income(request.user, conversion, **payload.dict()))


class ProjectIn(Schema):
    zone: str = Field(..., max_length=32)
    uscc: str = Field(..., max_length=18)
    name: str = Field(..., max_length=200)
    total_investment: float = Field(..., ge=0, le=1e9)
    plan_year: int = Field(..., ge=2000, le=2100)
    planned_this_year: float = Field(..., ge=0, le=1e9)
    stage: Literal["signed", "groundbreaking", "construction", "completed", "production"] = "signed"
    signed_on: dt.date
    milestones: dict[
        Literal["groundbreaking", "construction", "completed", "production"], dt.date
    ] = {}


class StageIn(Schema):
    stage: Literal["groundbreaking", "construction", "completed", "production"]
    on: dt.date | None = None


class InvestmentIn(Schema):
    month: dt.date = Field(..., description="any day of the month")
    amount: float = Field(..., ge=0, le=1e9)


class InvestmentOut(Schema):
    project_id: int
    month: dt.date
    amount: float


@router.get("/projects/{project_id}", response=ProjectOut)
def get_project(request: HttpRequest, project_id: int):
    """One key project (404 outside the user's scope)."""
    return access.get_project(request.user, project_id)


@router.post("/projects", response={201: ProjectOut, 400: ErrorOut, 403: ErrorOut})
def create_project(request: HttpRequest, payload: ProjectIn):
    """Register a key project with planned stage dates (zone admins)."""
    zone = _admin_zone(request, payload.zone)
    if zone is None:
        return _forbidden("only the zone's admins register projects")
    firm = access.zone_firms(request.user, zone.pk).filter(uscc=payload.uscc.upper()).first()
    if firm is None:
        return Status(
            400,
            {"detail": "no firm of the zone has this USCC / 本园区没有该企业", "code": "invalid"},
        )
    data = payload.dict(exclude={"zone", "uscc", "milestones"})
    project = actions.do_create_project(
        request.user, zone, firm, milestones=payload.milestones, **data
    )
    return Status(201, project)


def _managed_project(request: HttpRequest, project_id: int):
    project = access.get_project(request.user, project_id)
    return project if access.can_manage_zone(request.user, project.zone_id) else None


@router.post(
    "/projects/{project_id}/stage",
    response={200: ProjectOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def set_stage(request: HttpRequest, project_id: int, payload: StageIn):
    """Move a project forward to a stage (its milestone is reached on `on`)."""
    project = _managed_project(request, project_id)
    if project is None:
        return _forbidden("only the zone's admins track projects")
    return Status(
        200, actions.do_set_project_stage(request.user, project, payload.stage, payload.on)
    )


@router.post(
    "/projects/{project_id}/investments",
    response={200: InvestmentOut, 400: ErrorOut, 403: ErrorOut},
)
def record_investment(request: HttpRequest, project_id: int, payload: InvestmentIn):
    """Actual investment of a month (replaces an earlier entry for the month)."""
    project = _managed_project(request, project_id)
    if project is None:
        return _forbidden("only the zone's admins track projects")
    return Status(
        200, actions.do_record_investment(request.user, project, payload.month, payload.amount)
    )


class HandlingStepIn(Schema):
    on: dt.date | None = None
    note: str = Field("", max_length=2000)


@router.get("/handling/{request_id}", response=RequestOut)
def get_request(request: HttpRequest, request_id: int):
    """One assisted-handling request (404 outside the user's scope)."""
    return access.get_request(request.user, request_id)


@router.post(
    "/handling/{request_id}/{verb}",
    response={200: RequestOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def handle_request(
    request: HttpRequest,
    request_id: int,
    verb: Literal["accept", "complete", "return", "withdraw"],
    payload: HandlingStepIn,
):
    """An official accepts (deadlines in working days from `on`), completes or returns
    (with `note`) a request; the firm withdraws its own."""
    req = access.get_request(request.user, request_id)
    admin = access.can_manage_zone(request.user, req.zone_id)
    own = req.enterprise_id == getattr(access.own_firm(request.user), "pk", None)
    if (verb == "withdraw" and not own) or (verb != "withdraw" and not admin):
        return _forbidden("not allowed for this request")
    if verb == "accept":
        req = actions.do_accept_request(request.user, req, payload.on)
    elif verb == "complete":
        req = actions.do_complete_request(request.user, req, payload.on, payload.note)
    elif verb == "return":
        req = actions.do_return_request(request.user, req, payload.note)
    else:
        req = actions.do_withdraw_request(request.user, req)
    return Status(200, req)
