"""`benesapo richmenu deploy`: make LINE's rich menus match the definitions, idempotently.

1. Render every page and check it against LINE's rules (nothing is uploaded if one fails).
2. Each page's menu is named `benesapo:<page>:<content hash>`; a menu with that name on LINE is
   reused (its image uploaded if a previous run stopped before), otherwise created with its
   image.
3. Aliases point at the pages' menus; the default menu is the not-linked one.
4. Every LINE user's audience is recomputed from the database, and users whose menu is not
   their audience's are re-linked in bulk (at most 500 IDs a call).
5. Our menus no longer used are deleted (with aliases of ours that pointed at them).

A second run finds everything in place and changes nothing. `dry_run=True` only plans.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.line_client import LineClient
from adapters.runtime import Runtime
from models.companies import audience_of
from models.db import transaction
from models.line_user import LineUser
from models.richmenu import RichMenuAssignment, deployed_menus, set_audience, set_deployed_menu
from richmenu import validate
from richmenu.definitions import (
    Definitions,
    MenuDef,
    PageDef,
    content_hash,
    load,
    menu_name,
    parse_name,
    request_body,
)
from richmenu.render import encode, render_page
from richmenu.switching import SyncReport, pending_counts, sync_rich_menus, target_menu


@dataclass(frozen=True)
class PlannedPage:
    menu: MenuDef
    page: PageDef
    body: dict[str, Any]
    image: bytes
    content_type: str

    @property
    def name(self) -> str:
        return str(self.body["name"])


@dataclass(frozen=True)
class Step:
    kind: (
        str  # create | upload | alias_create | alias_update | default | relink | backfill | delete
    )
    target: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind:<13} {self.target}" + (f"  ({self.detail})" if self.detail else "")


@dataclass
class DeployReport:
    dry_run: bool
    steps: list[Step] = field(default_factory=list)
    menu_ids: dict[str, str] = field(default_factory=dict)  # page key -> rich menu id
    sync: SyncReport | None = None

    @property
    def changed(self) -> bool:
        return bool(self.steps)

    def of(self, kind: str) -> list[Step]:
        return [s for s in self.steps if s.kind == kind]


def plan_pages(definitions: Definitions) -> list[PlannedPage]:
    """Render and check every page; raises `validate.RichMenuInvalid` before any upload."""
    planned: list[PlannedPage] = []
    for menu, page in definitions.pages():
        image, content_type = encode(render_page(menu, page))
        body = request_body(menu, page)
        body["name"] = menu_name(page, content_hash(body, image))
        try:
            validate.check(body, image, content_type)
        except validate.RichMenuInvalid as exc:
            raise validate.RichMenuInvalid([f"{page.key}: {p}" for p in exc.problems]) from exc
        planned.append(PlannedPage(menu, page, body, image, content_type))
    return planned


def backfill(session: Session, *, apply: bool) -> int:
    """Recompute every LINE user's audience from the database (users linked before rich menus
    existed, changes recorded by a process without the listener); the number of corrections."""
    assignments = {row.line_user_id: row for row in session.scalars(select(RichMenuAssignment))}
    corrections = 0
    now: datetime | None = None
    for user in session.scalars(select(LineUser).order_by(LineUser.line_user_id)):
        audience = audience_of(user.member)
        row = assignments.get(user.line_user_id)
        current = row.audience if row is not None else "none"
        if current == audience and (row is not None or audience == "none"):
            continue
        corrections += 1
        if apply:
            now = now or datetime.now(UTC)
            set_audience(session, user.line_user_id, audience, now)
    return corrections


def deploy(
    runtime: Runtime,
    line: LineClient,
    definitions: Definitions | None = None,
    *,
    dry_run: bool = False,
    echo: Callable[[str], None] | None = None,
) -> DeployReport:
    definitions = definitions or load()
    report = DeployReport(dry_run=dry_run)

    def step(kind: str, target: str, detail: str = "") -> None:
        report.steps.append(Step(kind, target, detail))
        if echo is not None:
            echo(("would " if dry_run else "") + str(report.steps[-1]))

    planned = plan_pages(definitions)

    # 2. menus: reuse by name (content hash), else create and upload.
    ours: dict[str, list[str]] = {}
    for menu in line.list_rich_menus():
        if parse_name(str(menu.get("name", ""))) is not None:
            ours.setdefault(menu["name"], []).append(menu["richMenuId"])
    for item in planned:
        existing = ours.get(item.name, [])
        if existing:
            rich_menu_id = existing[0]
            if not line.has_rich_menu_image(rich_menu_id):
                step("upload", item.page.key, rich_menu_id)
                if not dry_run:
                    line.upload_rich_menu_image(rich_menu_id, item.image, item.content_type)
        else:
            step("create", item.page.key, item.name)
            if dry_run:
                rich_menu_id = f"(new {item.page.key})"
            else:
                rich_menu_id = line.create_rich_menu(item.body)
                try:
                    line.upload_rich_menu_image(rich_menu_id, item.image, item.content_type)
                except Exception:
                    line.delete_rich_menu(rich_menu_id)  # never leave a menu without an image
                    raise
        report.menu_ids[item.page.key] = rich_menu_id
    kept = set(report.menu_ids.values())

    # 3. aliases and the default menu.
    aliases = line.rich_menu_aliases()
    for item in planned:
        rich_menu_id = report.menu_ids[item.page.key]
        current = aliases.get(item.page.alias)
        if current == rich_menu_id:
            continue
        kind = "alias_create" if current is None else "alias_update"
        step(kind, item.page.alias, rich_menu_id)
        if not dry_run:
            if current is None:
                line.create_rich_menu_alias(item.page.alias, rich_menu_id)
            else:
                line.update_rich_menu_alias(item.page.alias, rich_menu_id)
    guest = report.menu_ids[definitions.by_audience("none").entry.key]
    if line.default_rich_menu_id() != guest:
        step("default", definitions.by_audience("none").entry.key, guest)
        if not dry_run:
            line.set_default_rich_menu(guest)

    # 4. audiences from the database, then re-link in bulk.
    wanted = {
        menu.audience: report.menu_ids[menu.entry.key]
        for menu in definitions.menus
        if menu.audience != "none"
    }
    if dry_run:
        with runtime.session_factory() as session:
            corrections = backfill(session, apply=False)
            if corrections:
                step("backfill", "audiences", f"{corrections} users")
            for audience, count in pending_counts(session, wanted).items():
                target = target_menu(audience, wanted) or "default"
                step("relink", audience, f"{count} users to {target}")
            session.rollback()
    else:
        with transaction(runtime.session_factory) as session:
            corrections = backfill(session, apply=True)
            if corrections:
                step("backfill", "audiences", f"{corrections} users")
            before = deployed_menus(session)
            for audience, rich_menu_id in wanted.items():
                set_deployed_menu(session, audience, rich_menu_id, runtime.clock.now())
            if before != {**before, **wanted}:
                step("deployed", "audiences", ", ".join(f"{a}={m}" for a, m in wanted.items()))
        report.sync = sync_rich_menus(runtime, line)
        for audience, count in report.sync.linked.items():
            target = target_menu(audience, wanted) or "default"
            step("relink", audience, f"{count} users to {target}")
        if report.sync.error:
            raise RuntimeError(f"re-linking users failed: {report.sync.error}")

    # 5. delete our menus no longer used (after users and aliases moved off them).
    for name, ids in sorted(ours.items()):
        for rich_menu_id in ids:
            if rich_menu_id in kept:
                continue
            for alias_id, target in aliases.items():
                if target == rich_menu_id and alias_id not in {p.page.alias for p in planned}:
                    step("alias_delete", alias_id, rich_menu_id)
                    if not dry_run:
                        line.delete_rich_menu_alias(alias_id)
            step("delete", name, rich_menu_id)
            if not dry_run:
                line.delete_rich_menu(rich_menu_id)
    return report
