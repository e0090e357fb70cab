"""What `make run` prints once everything is up: where to go, and the demo logins that work
now (the demo is reconciled at start-up: `models.demo.seed_demo`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.company import MemberKind
from models.demo import AVAILABLE, LINKED, PASSWORD_CHANGED, RETIRED, DemoLogin

WHY_NOT = {RETIRED: "retired", PASSWORD_CHANGED: "password changed in the console"}


def _who(login: DemoLogin, names: Mapping[str, str]) -> str:
    name = names.get(login.line_user_id or "", login.line_user_id or "?")
    return f"「{name}」"


def demo_lines(
    demo: Mapping[str, Any], names: Mapping[str, str], ready_hr: str | None
) -> list[str]:
    """The demo part of the banner. `names`: the emulator's users (id -> display name);
    `ready_hr`: the display name of the chat page's ready HR contact, if it is linked."""
    logins: list[DemoLogin] = list(demo["logins"])
    employees = [x for x in logins if x.kind is MemberKind.EMPLOYEE]
    usable = [x for x in employees if x.state == AVAILABLE]
    lines = [f"  demo company code:   {demo['company_code']}"]
    if usable:
        first, *more = usable
        lines.append(
            f"  demo member:         {first.member_id} / {first.password}"
            "   (say 「連携」 in the chat, then log in)"
        )
        if more:
            lines.append(
                "  more demo members:   " + ", ".join(f"{x.member_id} / {x.password}" for x in more)
            )
    else:
        lines.append("  demo member:         none left (delete instance/ to start the demo afresh)")
    for login in employees:
        if login.state == LINKED:
            lines.append(
                f"  already linked:      {login.member_id} to {_who(login, names)} in the chat page"
            )
    gone = [f"{x.member_id} ({WHY_NOT[x.state]})" for x in employees if x.state in WHY_NOT]
    if gone:
        lines.append("  not offered:         " + ", ".join(gone))
    for hr in (x for x in logins if x.kind is MemberKind.HR_CONTACT):
        if hr.state == LINKED and ready_hr and names.get(hr.line_user_id or "") == ready_hr:
            lines.append(
                f"  demo HR contact:     「{ready_hr}」 in the chat page's user switcher"
                f" (linked to {hr.member_id})"
            )
        elif hr.state == LINKED:
            lines.append(f"  demo HR contact:     {hr.member_id}, linked to {_who(hr, names)}")
        elif hr.state == AVAILABLE:
            lines.append(f"  demo HR contact:     {hr.member_id} / {hr.password}")
        else:
            lines.append(f"  demo HR contact:     {hr.member_id} not offered ({WHY_NOT[hr.state]})")
    return lines
