"""Which rich menu each LINE user should see, and which menu we last linked on LINE.

A link change (link, unlink, retirement, company suspension…) only records the user's new
audience here, inside the change's own transaction (`record_link_change`, registered with
`models.companies.add_link_listener` when this module is imported). The LINE calls happen
after commit in `richmenu.switching.sync_rich_menus`, which links every user whose audience
changed (`version` moved past `synced_version`) or whose audience's menu was redeployed.

`RichMenuDeployment` holds, per audience, the rich menu users of that audience are linked to
(written by `benesapo richmenu deploy`); the `none` audience's menu is LINE's default menu, so
those users are unlinked instead.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base
from models.companies import LinkChange, add_link_listener


class RichMenuAssignment(Base):
    __tablename__ = "richmenu_assignments"

    line_user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    audience: Mapped[str] = mapped_column(String(16), index=True)  # none | member | hr_contact
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every change
    synced_version: Mapped[int] = mapped_column(Integer, default=0)  # -1: sync again
    linked_menu_id: Mapped[str | None] = mapped_column(String(64))  # None: the default menu
    changed_at: Mapped[datetime]
    synced_at: Mapped[datetime | None]


class RichMenuDeployment(Base):
    __tablename__ = "richmenu_deployments"

    audience: Mapped[str] = mapped_column(String(16), primary_key=True)
    rich_menu_id: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime]


_pending = threading.local()


def set_audience(session: Session, line_user_id: str, audience: str, now: datetime) -> bool:
    """Record the audience a LINE user now has (a new version to sync); True if it changed
    or the row is new."""
    row = session.get(RichMenuAssignment, line_user_id)
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    RichMenuAssignment(
                        line_user_id=line_user_id,
                        audience=audience,
                        version=1,
                        synced_version=0,
                        changed_at=now,
                    )
                )
                session.flush()
            return True
        except IntegrityError:  # a concurrent change inserted it first
            row = session.get(RichMenuAssignment, line_user_id)
            assert row is not None
    changed = row.audience != audience
    row.audience = audience
    row.version += 1
    row.changed_at = now
    session.flush()
    return changed


def record_link_change(session: Session, change: LinkChange) -> None:
    """The link listener: runs inside the linking transaction and never calls LINE."""
    set_audience(session, change.line_user_id, change.audience, datetime.now(UTC))
    _pending.flag = True  # this thread should sync after its commit


def take_pending() -> bool:
    """True once after this thread recorded a change (see `richmenu.switching.sync_pending`)."""
    flagged = bool(getattr(_pending, "flag", False))
    _pending.flag = False
    return flagged


def deployed_menus(session: Session) -> dict[str, str]:
    return {row.audience: row.rich_menu_id for row in session.scalars(select(RichMenuDeployment))}


def set_deployed_menu(session: Session, audience: str, rich_menu_id: str, now: datetime) -> None:
    row = session.get(RichMenuDeployment, audience)
    if row is None:
        session.add(
            RichMenuDeployment(audience=audience, rich_menu_id=rich_menu_id, deployed_at=now)
        )
    elif row.rich_menu_id != rich_menu_id:
        row.rich_menu_id = rich_menu_id
        row.deployed_at = now
    session.flush()


add_link_listener(record_link_change)
