"""The ledger's jobs, set-based: confirm pending lots (Art. 2.3), expire lots (Art. 5.3), and
settling one member with the same SQL before each of its operations.

A job marks the lots it changes with a run id (`PointLot.job_run`) and writes their entries
with one INSERT … SELECT; on PostgreSQL the expiry is one statement of CTEs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, literal, or_, select, text, update

from models.company import Member
from models.points.frame import Op
from models.points.redemption import Redemption
from models.points.tables import (
    EntryKind,
    LotStatus,
    PointAccount,
    PointEntry,
    PointLot,
    Purchase,
    PurchaseStatus,
)

MemberRange = tuple[int, int]  # member keys, inclusive


class Jobs(Redemption):
    def _settle(self, op: Op) -> None:
        """Bring one member up to `op.at` with the same SQL the jobs run for everyone.

        Runs in its own savepoint before each operation, so a refused operation still leaves
        the member settled (the caller may commit after a `PointsError`)."""
        confirmed = self._confirm_sql(op.at, member_pk=op.member.id)
        expired = self._expire_sql(op.at, member_pk=op.member.id)
        if confirmed:
            self._auto_apply_confirmed(op, confirmed)
            self._bump_watermarks(confirmed, PointLot.available_at)
        if expired:
            self._bump_watermarks(expired, PointLot.expires_at)

    def members_due(self, *, confirm: bool, now: datetime | None = None) -> list[int]:
        """Members with lots to confirm (or to expire) at `now`, by key (the jobs split this
        list in halves to find a member they cannot process)."""
        now = now or self.clock.now()
        due = (
            (PointLot.confirmed_at.is_(None), PointLot.available_at <= now)
            if confirm
            else (PointLot.expires_at <= now,)
        )
        return list(
            self.session.scalars(
                select(PointLot.member_pk)
                .where(PointLot.status == LotStatus.ACTIVE, *due)
                .distinct()
                .order_by(PointLot.member_pk)
            )
        )

    def confirm_due(self, now: datetime | None = None, members: MemberRange | None = None) -> int:
        """Job: pending lots whose period has ended become available (Art. 2.3); only of the
        members whose key is within `members` (inclusive) when given."""
        now = now or self.clock.now()
        with self.session.begin_nested():
            self._lock_due_accounts(
                PointLot.status == LotStatus.ACTIVE,
                PointLot.confirmed_at.is_(None),
                PointLot.available_at <= now,
                *_in_range(members),
            )
            run = self._confirm_sql(now, members=members)
            if not run:
                return 0
            count = self._bump_watermarks(run, PointLot.available_at)
            # Art. 6.6 for the few members who have an all-points purchase still open.
            members = self.session.scalars(
                select(PointLot.member_pk)
                .where(PointLot.job_run == run)
                .where(
                    PointLot.member_pk.in_(
                        select(Purchase.member_pk).where(
                            Purchase.status == PurchaseStatus.PAID,
                            Purchase.auto_apply_until.is_not(None),
                            Purchase.other_yen > 0,
                        )
                    )
                )
                .distinct()
            ).all()
            for member_pk in members:
                account = self._lock_account(member_pk)
                member = self.session.get(Member, member_pk)
                assert member is not None
                self._auto_apply_confirmed(Op("confirm", member, account, now), run)
            return count

    def expire_due(self, now: datetime | None = None, members: MemberRange | None = None) -> int:
        """Job: lots past their expiry expire (Art. 5.3); one expiry entry per lot; only of the
        members whose key is within `members` (inclusive) when given."""
        now = now or self.clock.now()
        with self.session.begin_nested():
            self._lock_due_accounts(
                PointLot.status == LotStatus.ACTIVE,
                PointLot.expires_at <= now,
                *_in_range(members),
            )
            run = self._expire_sql(now, members=members)
            return self._bump_watermarks(run, PointLot.expires_at) if run else 0

    def _lock_due_accounts(self, *conditions: Any) -> None:
        if self._postgres:
            self.session.execute(
                select(PointAccount.member_pk)
                .where(PointAccount.member_pk.in_(select(PointLot.member_pk).where(*conditions)))
                .with_for_update()
            )

    def _confirm_sql(
        self, now: datetime, member_pk: int | None = None, members: MemberRange | None = None
    ) -> str | None:
        self.session.flush()
        run = uuid.uuid4().hex
        conditions = [
            PointLot.status == LotStatus.ACTIVE,
            PointLot.confirmed_at.is_(None),
            PointLot.available_at <= now,
        ]
        if member_pk is not None:
            conditions.append(PointLot.member_pk == member_pk)
        conditions += _in_range(members)
        updated = self.session.execute(
            update(PointLot)
            .where(*conditions)
            .values(confirmed_at=PointLot.available_at, job_run=run)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not updated:
            return None
        self._entries_for_marked_lots(
            run, EntryKind.CONFIRM, literal(0), PointLot.remaining, PointLot.available_at
        )
        self.session.expire_all()
        return run

    def _entries_for_marked_lots(
        self, run: str, kind: EntryKind, points: Any, available: Any, occurred_at: Any, *where: Any
    ) -> None:
        """One entry per lot a set-based job marked with `run`: a single INSERT … SELECT."""
        self.session.execute(
            insert(PointEntry).from_select(
                [
                    "member_pk",
                    "kind",
                    "points",
                    "available",
                    "debt_yen",
                    "lapsed",
                    "lot_id",
                    "source_ref",
                    "occurred_at",
                    "created_at",
                ],
                select(
                    PointLot.member_pk,
                    literal(kind.value),
                    points,
                    available,
                    literal(0),
                    literal(0),
                    PointLot.id,
                    PointLot.source_ref,
                    occurred_at,
                    literal(self.clock.now(), PointEntry.created_at.type),
                ).where(PointLot.job_run == run, *where),
            )
        )

    def _expire_sql(
        self, now: datetime, member_pk: int | None = None, members: MemberRange | None = None
    ) -> str | None:
        self.session.flush()
        run = uuid.uuid4().hex
        if member_pk is not None:
            members = (member_pk, member_pk)
        if self._postgres:
            return self._expire_sql_postgres(now, run, members)
        conditions = [PointLot.status == LotStatus.ACTIVE, PointLot.expires_at <= now]
        conditions += _in_range(members)
        # Mark first (remaining is kept for the entries), then record, then empty the lots.
        updated = self.session.execute(
            update(PointLot)
            .where(*conditions)
            .values(job_run=run)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not updated:
            return None
        self._entries_for_marked_lots(
            run,
            EntryKind.EXPIRE,
            -PointLot.remaining,
            case((PointLot.confirmed_at.is_(None), 0), else_=-PointLot.remaining),
            PointLot.expires_at,
            PointLot.remaining > 0,
        )
        self.session.execute(
            update(PointLot)
            .where(PointLot.job_run == run)
            .values(remaining=0, status=LotStatus.EXPIRED)
            .execution_options(synchronize_session=False)
        )
        self.session.expire_all()
        return run

    _EXPIRE_POSTGRES = """
        WITH expired AS (
            SELECT id, member_pk, remaining, confirmed_at, source_ref, expires_at
            FROM point_lots
            WHERE status = 'active' AND expires_at <= :now {member_filter}
            FOR UPDATE
        ), closed AS (
            UPDATE point_lots SET remaining = 0, status = 'expired', job_run = :run
            FROM expired WHERE point_lots.id = expired.id
            RETURNING point_lots.id
        ), recorded AS (
            INSERT INTO point_entries (member_pk, kind, points, available, debt_yen, lapsed,
                                       lot_id, source_ref, occurred_at, created_at)
            SELECT member_pk, 'expire', -remaining,
                   CASE WHEN confirmed_at IS NULL THEN 0 ELSE -remaining END, 0, 0,
                   id, source_ref, expires_at, :created
            FROM expired WHERE remaining > 0
            RETURNING 1
        )
        SELECT count(*) FROM closed
    """

    def _expire_sql_postgres(
        self, now: datetime, run: str, members: MemberRange | None
    ) -> str | None:
        """One statement on PostgreSQL: the CTEs read the lots once (with their remaining
        points before the update), empty them and write one expiry entry per lot."""
        sql = self._EXPIRE_POSTGRES.format(
            member_filter="AND member_pk BETWEEN :low AND :high" if members is not None else ""
        )
        params: dict[str, Any] = {"now": now, "run": run, "created": self.clock.now()}
        if members is not None:
            params["low"], params["high"] = members
        count = self.session.execute(text(sql), params).scalar_one()
        self.session.expire_all()
        return run if count else None

    def _bump_watermarks(self, run: str, column: Any) -> int:
        """Jobs' entries count as the member's latest entry (by the lot's own time)."""
        latest = (
            select(func.max(column))
            .where(PointLot.job_run == run, PointLot.member_pk == PointAccount.member_pk)
            .scalar_subquery()
        )
        self.session.execute(
            update(PointAccount)
            .where(
                PointAccount.member_pk.in_(
                    select(PointLot.member_pk).where(PointLot.job_run == run)
                )
            )
            .values(
                last_occurred_at=case(
                    (
                        or_(
                            PointAccount.last_occurred_at.is_(None),
                            PointAccount.last_occurred_at < latest,
                        ),
                        latest,
                    ),
                    else_=PointAccount.last_occurred_at,
                )
            )
            .execution_options(synchronize_session=False)
        )
        return int(self.session.scalar(select(func.count()).where(PointLot.job_run == run)) or 0)

    def _auto_apply_confirmed(self, op: Op, run: str) -> None:
        lots = self.session.execute(
            select(PointLot.available_at, PointLot.remaining)
            .where(PointLot.job_run == run, PointLot.member_pk == op.member.id)
            .order_by(PointLot.available_at)
        ).all()
        for available_at, remaining in lots:
            self._auto_apply(
                Op(op.kind, op.member, op.account, available_at, op.operation), int(remaining)
            )


def _in_range(members: MemberRange | None) -> list[Any]:
    return [] if members is None else [PointLot.member_pk.between(*members)]
