"""Switching users' rich menus after what they may do changed.

The link listener (`models.richmenu.record_link_change`) records the user's new audience inside
the linking / unlinking / retirement / company transaction. After commit, `sync_rich_menus`
makes LINE match: users of the member and HR audiences are linked to their audience's menu in
bulk (at most 500 IDs a call), users of the `none` audience are unlinked (LINE then shows the
default menu, the not-linked one).

Concurrent syncs are safe: a row is marked synced only if nobody changed or synced it while the
LINE call was in flight (compare-and-set on `version` and `synced_version`); otherwise it is
marked for another round, which runs after every call of the first round has returned.

Hooks: the event workers call `sync_pending(runtime, line)` after each processed event (cheap:
it only syncs when this thread recorded a change); `benesapo richmenu deploy` and a periodic
sweep call `sync_rich_menus` (changes made by the CLI or the back office, in other processes).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from adapters.line_client import LineApiError, LineClient
from adapters.runtime import Runtime
from common.logging_setup import log_fields
from models.db import transaction
from models.richmenu import RichMenuAssignment, deployed_menus, take_pending

logger = logging.getLogger("benesapo.richmenu")

BULK_LIMIT = 500
AUDIENCES = ("none", "member", "hr_contact")


@dataclass
class SyncReport:
    linked: dict[str, int] = field(default_factory=dict)  # audience -> users linked/unlinked
    calls: int = 0
    retried: int = 0  # rows changed while their call was in flight (synced again)
    error: str | None = None
    deployed: bool = True  # False: nothing deployed yet, nothing to link to

    @property
    def total(self) -> int:
        return sum(self.linked.values())


def target_menu(audience: str, deployed: dict[str, str]) -> str | None:
    """The menu a user of `audience` is linked to (None: unlinked, sees the default)."""
    return None if audience == "none" else deployed.get(audience)


def pending_condition(audience: str, target: str | None):  # type: ignore[no-untyped-def]
    return (
        RichMenuAssignment.audience == audience,
        or_(
            RichMenuAssignment.synced_version != RichMenuAssignment.version,
            RichMenuAssignment.linked_menu_id.is_distinct_from(target),
        ),
    )


def pending_counts(session: Session, deployed: dict[str, str]) -> dict[str, int]:
    """Users per audience whose menu on LINE is not (known to be) the right one."""
    counts: dict[str, int] = {}
    for audience in AUDIENCES:
        if audience != "none" and audience not in deployed:
            continue
        ids = session.scalars(
            select(RichMenuAssignment.line_user_id).where(
                *pending_condition(audience, target_menu(audience, deployed))
            )
        ).all()
        if ids:
            counts[audience] = len(ids)
    return counts


def _pending_rows(
    runtime: Runtime, audience: str, target: str | None
) -> list[tuple[str, int, int]]:
    with transaction(runtime.session_factory) as session:
        rows = session.execute(
            select(
                RichMenuAssignment.line_user_id,
                RichMenuAssignment.version,
                RichMenuAssignment.synced_version,
            )
            .where(*pending_condition(audience, target))
            .order_by(RichMenuAssignment.line_user_id)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _mark(
    runtime: Runtime, rows: Sequence[tuple[str, int, int]], target: str | None, now: datetime
) -> int:
    """Compare-and-set each row as synced; rows changed meanwhile are marked for another round.
    The number of those."""
    again = 0
    with transaction(runtime.session_factory) as session:
        for line_user_id, version, synced_version in rows:
            done = session.execute(
                update(RichMenuAssignment)
                .where(
                    RichMenuAssignment.line_user_id == line_user_id,
                    RichMenuAssignment.version == version,
                    RichMenuAssignment.synced_version == synced_version,
                )
                .values(synced_version=version, linked_menu_id=target, synced_at=now)
            )
            if done.rowcount == 0:
                again += 1
                session.execute(
                    update(RichMenuAssignment)
                    .where(RichMenuAssignment.line_user_id == line_user_id)
                    .values(synced_version=-1)
                )
    return again


def sync_rich_menus(runtime: Runtime, line: LineClient, *, max_rounds: int = 3) -> SyncReport:
    """Link (or unlink) every user whose rich menu on LINE is not their audience's."""
    report = SyncReport()
    with transaction(runtime.session_factory) as session:
        deployed = deployed_menus(session)
    if not deployed:
        report.deployed = False
        return report
    for _round in range(max_rounds):
        worked = False
        for audience in AUDIENCES:
            target = target_menu(audience, deployed)
            if audience != "none" and target is None:
                continue
            rows = _pending_rows(runtime, audience, target)
            for start in range(0, len(rows), BULK_LIMIT):
                chunk = rows[start : start + BULK_LIMIT]
                ids = [row[0] for row in chunk]
                try:
                    if target is None:
                        line.unlink_rich_menu_from_users(ids)
                    else:
                        line.link_rich_menu_to_users(target, ids)
                except LineApiError as exc:
                    report.error = str(exc)
                    log_fields(
                        logger,
                        logging.WARNING,
                        {"event": "richmenu_sync_failed", "audience": audience, "error": str(exc)},
                    )
                    return report  # the rows stay pending for the next sync
                report.calls += 1
                report.retried += _mark(runtime, chunk, target, runtime.clock.now())
                report.linked[audience] = report.linked.get(audience, 0) + len(chunk)
                worked = True
        if not worked:
            break
    if report.total:
        log_fields(
            logger,
            logging.INFO,
            {"event": "richmenu_sync", "linked": report.linked, "calls": report.calls},
        )
    return report


def sync_pending(runtime: Runtime, line: LineClient) -> SyncReport | None:
    """After a processed event: sync if this thread recorded a link change (else nothing).
    Never raises (a failed sync is retried by the next sync or sweep)."""
    if not take_pending():
        return None
    try:
        return sync_rich_menus(runtime, line)
    except Exception:  # noqa: BLE001 - the event is done; the rows stay pending
        log_fields(logger, logging.ERROR, {"event": "richmenu_sync_error"}, exc_info=True)
        return None
