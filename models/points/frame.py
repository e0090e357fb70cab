"""The operation frame: what every ledger operation does around its own rule, written once.

`@operation(...)` turns a method `body(self, op, **arguments)` into the public operation
`name(*arguments, key=..., occurred_at=None)`, which:
- converts its arguments (the converters named in the decorator, in that order), before
  anything is read, so a bad request is refused whatever its key;
- runs in a SAVEPOINT and locks the member's account (`PointAccount` row);
- looks up the idempotency key: the same key with the same arguments replays the stored first
  `Receipt` (`replayed=True`), with other arguments raises `idempotency_conflict`;
- checks `occurred_at` (default now): before the member's latest entry → `stale_occurred_at`,
  more than 5 minutes ahead → `future_occurred_at` unless the policy allows future dates;
- settles the member at that time (kept even when the operation is then refused);
- records the key with the request's hash, runs the body in a second SAVEPOINT and stores the
  receipt it returns.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from models.company import Member
from models.points.rules import PointsError, check_time
from models.points.tables import PointAccount, PointOperation

if TYPE_CHECKING:
    from models.points.core import LedgerCore

T = TypeVar("T")
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Receipt:
    """What an operation did; replays return the stored first receipt (`replayed=True`)."""

    operation: str
    member_id: str
    ref: str
    points: int  # change in the points the member holds (available + pending)
    occurred_at: str
    details: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("replayed")
        return data


@dataclass
class Op:
    """One operation under way: whose account, at what time, under which recorded key."""

    kind: str
    member: Member
    account: PointAccount
    at: datetime
    operation: PointOperation | None = None


# How an operation finds the member whose account it locks: (ledger, arguments) → member key.
Locate = Callable[[Any, dict[str, Any]], int]
Convert = Callable[[Any], Any]
Check = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class OperationSpec:
    name: str
    arguments: tuple[str, ...]
    partner_api: bool  # offered to partners (then it has an OpenAPI entry; a test checks)


OPERATIONS: dict[str, OperationSpec] = {}


def operation(
    *,
    locate: Locate,
    check: Check | None = None,
    partner_api: bool = True,
    **convert: Convert,
) -> Callable[[Callable[..., Receipt]], Callable[..., Receipt]]:
    """Declare a ledger operation (see the module docstring). `check` sees all the converted
    arguments at once, for rules across arguments, and returns them."""

    def decorate(body: Callable[..., Receipt]) -> Callable[..., Receipt]:
        name = body.__name__
        signature = inspect.signature(body)
        names = tuple(signature.parameters)[2:]  # after self and op
        unknown = set(convert) - set(names)
        if unknown:
            raise TypeError(f"{name}: no argument(s) {sorted(unknown)} to convert")
        if name in OPERATIONS:
            raise TypeError(f"operation {name} is declared twice")
        OPERATIONS[name] = OperationSpec(name, names, partner_api)

        public = signature.replace(
            parameters=[p for n, p in signature.parameters.items() if n != "op"]
            + [
                inspect.Parameter("key", inspect.Parameter.KEYWORD_ONLY, annotation="str"),
                inspect.Parameter(
                    "occurred_at",
                    inspect.Parameter.KEYWORD_ONLY,
                    default=None,
                    annotation="datetime | None",
                ),
            ]
        )

        @functools.wraps(body)
        def run(
            self: LedgerCore, *args: Any, key: str, occurred_at: datetime | None = None, **kw: Any
        ) -> Receipt:
            bound = signature.bind(self, None, *args, **kw)
            bound.apply_defaults()
            values = {n: bound.arguments[n] for n in names}
            for argument, converter in convert.items():
                values[argument] = converter(values[argument])
            if check is not None:
                values = check(values)
            params = {n: _recorded(v) for n, v in values.items()}
            return run_framed(
                self,
                name,
                key,
                params,
                lambda: locate(self, values),
                occurred_at,
                lambda op: body(self, op, **values),
            )

        run.__signature__ = public  # type: ignore[attr-defined]  # what callers pass
        return run

    return decorate


def _recorded(value: Any) -> Any:
    """How an argument enters the request hash: a member by its member ID."""
    return value.member_id if isinstance(value, Member) else value


def _canonical(params: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(params, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def run_framed(
    ledger: LedgerCore,
    kind: str,
    key: str,
    params: dict[str, Any],
    member_pk_of: Callable[[], int],
    occurred_at: datetime | None,
    body: Callable[[Op], Receipt],
) -> Receipt:
    """The idempotency bookkeeping around one operation's body."""
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise PointsError("invalid_request", "an idempotency key (≤255 chars) is required")
    request = dict(params, operation=kind)
    if occurred_at is not None:
        request["occurred_at"] = occurred_at.isoformat()
    digest = _canonical(request)
    session, policy = ledger.session, ledger.policy
    with session.begin_nested():
        member_pk = member_pk_of()
        account = ledger._lock_account(member_pk)
        previous = session.scalar(
            select(PointOperation).where(PointOperation.idempotency_key == key)
        )
        if previous is not None:
            if previous.kind != kind or previous.request_hash != digest:
                raise PointsError(
                    "idempotency_conflict",
                    "this idempotency key was already used with other parameters",
                )
            return Receipt(**json.loads(previous.result_json), replayed=True)
        now = ledger.clock.now()
        at = now if occurred_at is None else check_time(occurred_at, "occurred_at")
        if at > now + policy.future_tolerance and not policy.allow_future_dates:
            raise PointsError("future_occurred_at", "occurred_at is in the future")
        if account.last_occurred_at is not None and at < account.last_occurred_at:
            raise PointsError(
                "stale_occurred_at",
                "occurred_at is before the member's latest entry "
                f"({account.last_occurred_at.isoformat()})",
            )
        member = session.get(Member, member_pk)
        assert member is not None
        # Settling is a fact of time, kept even when the operation itself is refused.
        ledger._settle(Op("settle", member, account, at))
    with session.begin_nested():
        operation = PointOperation(
            idempotency_key=key,
            kind=kind,
            request_hash=digest,
            member_pk=member_pk,
            result_json="{}",
            occurred_at=at,
            created_at=now,
            partner_id=ledger.actor.partner_id if ledger.actor else None,
            api_key_id=ledger.actor.api_key_id if ledger.actor else None,
        )
        session.add(operation)
        session.flush()
        receipt = body(Op(kind, member, account, at, operation))
        account.last_occurred_at = at
        operation.result_json = json.dumps(receipt.to_json(), ensure_ascii=False)
        session.flush()
        return receipt


def run_in_transaction(
    factory: sessionmaker[Session], fn: Callable[[Session], T], attempts: int = 3
) -> T:
    """Run `fn` in its own transaction; retry on a unique-key race or a deadlock (PostgreSQL),
    so that a concurrent duplicate becomes an idempotent replay or a clear domain error."""
    for attempt in range(attempts):
        try:
            with factory() as session, session.begin():
                return fn(session)
        except (IntegrityError, OperationalError) as exc:
            sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
            retryable = isinstance(exc, IntegrityError) or sqlstate in ("40P01", "40001")
            if not retryable or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


__all__ = [
    "OPERATIONS",
    "Op",
    "OperationSpec",
    "Receipt",
    "operation",
    "run_in_transaction",
]
