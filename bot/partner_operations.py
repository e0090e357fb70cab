"""The partner API's operations, declared once.

Each `Operation` names its route, summary and scope; its request is a pydantic model (the body
of a POST, the query of a GET) and its path parameters are typed below. `bot.partner_api`
validates requests with these models, `bot.partner_access` reads the scopes, and
`bot.partner_openapi` derives the OpenAPI document from them (`model_json_schema`): a bound
changed here changes both the check and the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from models.points.rules import (
    MAX_MEMBER_ID_LENGTH,
    MAX_POINTS_PER_OPERATION,
    MAX_PRICE_YEN,
    MAX_REASON_LENGTH,
    MAX_REF_LENGTH,
    text_problem,
)

MAX_KEY_LENGTH = 200  # the Idempotency-Key header
MAX_DB_INT = 2**63 - 1  # the largest id a BIGINT column holds
MAX_TIME_LENGTH = 64  # an ISO 8601 time with offset and fraction is about 32 characters


def _one_line(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(f"contains {problem}")
    return value


def _multiline(value: str) -> str:
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValueError(f"contains {problem}")
    return value


def _text(max_length: int) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


Points = Annotated[StrictInt, Field(ge=1, le=MAX_POINTS_PER_OPERATION)]
Price = Annotated[StrictInt, Field(ge=1, le=MAX_PRICE_YEN)]
NewPrice = Annotated[StrictInt, Field(ge=0, le=MAX_PRICE_YEN)]
Ref = Annotated[StrictStr, _text(MAX_REF_LENGTH), AfterValidator(_one_line)]
MemberId = Annotated[StrictStr, _text(MAX_MEMBER_ID_LENGTH), AfterValidator(_one_line)]
Reason = Annotated[StrictStr, _text(MAX_REASON_LENGTH), AfterValidator(_multiline)]
When = Annotated[
    StrictStr,
    StringConstraints(max_length=MAX_TIME_LENGTH),
    Field(json_schema_extra={"format": "date-time"}, description="ISO 8601; default now"),
]

# Path parameters, by name: every {name} in an operation's path is one of these.
PATH_PARAMETERS: dict[str, TypeAdapter[str]] = {
    "member_id": TypeAdapter(MemberId),
    "source_ref": TypeAdapter(Ref),
    "purchase_ref": TypeAdapter(Ref),
    "reward_ref": TypeAdapter(Ref),
}


# -- request bodies (POST) ---------------------------------------------------------------------


class Body(BaseModel):
    """Every POST body: unknown fields are ignored, as they always were."""

    model_config = ConfigDict(extra="ignore")

    occurred_at: When | None = None


class Earning(Body):
    points: Points
    source_ref: Ref


class Amendment(Body):
    points: Points


class Occurrence(Body):
    """A body with nothing but its time (cancellations)."""


class Grant(Body):
    points: Points
    source_ref: Ref
    reason: Reason


class Redemption(Body):
    purchase_ref: Ref
    price: Price
    points: Points | None = None
    mode: Literal["points", "all"] = "points"

    @model_validator(mode="after")
    def _points_or_all(self) -> Redemption:
        if self.mode == "all" and "points" in self.model_fields_set:
            raise ValueError('give either "points" or "mode": "all"')
        return self


class RedemptionCancel(Body):
    refund: Literal["points", "cash"] = "points"


class Reprice(Body):
    price: NewPrice


class Exchange(Body):
    reward_ref: Ref
    points: Points


class Revocation(Body):
    reason: Reason


# -- queries (GET) -----------------------------------------------------------------------------


class BalanceQuery(BaseModel):
    as_of: When | None = None


class HistoryQuery(BaseModel):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    before: Annotated[int, Field(ge=1, le=MAX_DB_INT)] | None = None


class Error(BaseModel):
    """Every error answer: a stable code and a message for the partner's developer."""

    error: str
    message: str


# -- the operations ----------------------------------------------------------------------------

_PARAM = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Operation:
    name: str  # the view function and Flask endpoint
    method: Literal["get", "post"]
    path: str  # OpenAPI form, under /api/v1
    summary: str
    scope: str | None  # None: needs no API key (the document itself)
    body: type[Body] | None = None
    query: type[BaseModel] | None = None

    @property
    def path_parameters(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def flask_rule(self) -> str:
        return _PARAM.sub(r"<\1>", self.path)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "earn",
        "post",
        "/members/{member_id}/earnings",
        "Earn points (pending, Art. 2)",
        scope="earn",
        body=Earning,
    ),
    Operation(
        "amend_earning",
        "post",
        "/earnings/{source_ref}/amend",
        "Amend a pending earning (Art. 2.3)",
        scope="earn",
        body=Amendment,
    ),
    Operation(
        "cancel_earning",
        "post",
        "/earnings/{source_ref}/cancel",
        "Cancel a pending earning (Art. 2.3)",
        scope="earn",
        body=Occurrence,
    ),
    Operation(
        "grant",
        "post",
        "/members/{member_id}/grants",
        "Operator grant (Art. 2.1)",
        scope="grant",
        body=Grant,
    ),
    Operation(
        "redeem",
        "post",
        "/members/{member_id}/redemptions",
        "Pay with points (Art. 6.1)",
        scope="redeem",
        body=Redemption,
    ),
    Operation(
        "cancel_redemption",
        "post",
        "/redemptions/{purchase_ref}/cancel",
        "Cancel a paid purchase (Art. 6.3)",
        scope="redeem",
        body=RedemptionCancel,
    ),
    Operation(
        "reprice",
        "post",
        "/redemptions/{purchase_ref}/reprice",
        "Price changed (Art. 6.4-6.5)",
        scope="redeem",
        body=Reprice,
    ),
    Operation(
        "exchange",
        "post",
        "/members/{member_id}/exchanges",
        "Exchange points for a reward (Art. 7)",
        scope="redeem",
        body=Exchange,
    ),
    Operation(
        "cancel_exchange",
        "post",
        "/exchanges/{reward_ref}/cancel",
        "Reward undeliverable: points back (Art. 7.2)",
        scope="redeem",
        body=Occurrence,
    ),
    Operation(
        "revoke",
        "post",
        "/grants/{source_ref}/revoke",
        "Revoke a grant or earning (Art. 5, 8)",
        scope="revoke",
        body=Revocation,
    ),
    Operation(
        "balance",
        "get",
        "/members/{member_id}/balance",
        "Balance (available, pending, debt, expiring)",
        scope="read",
        query=BalanceQuery,
    ),
    Operation(
        "history",
        "get",
        "/members/{member_id}/history",
        "Latest ledger entries",
        scope="read",
        query=HistoryQuery,
    ),
    Operation("openapi", "get", "/openapi.json", "This document", scope=None),
)

BY_NAME: dict[str, Operation] = {op.name: op for op in OPERATIONS}
