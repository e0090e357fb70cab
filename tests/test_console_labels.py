"""Every audit operation the code writes has a Japanese label in the console
(bot/admin/labels.py OPERATION_LABELS), and the console's other words for people: who did it
(never a raw LINE user id), dates in JST as 年月日, details without LINE ids.

The walk reads the application's source (AST): each `audit.record(session, actor, OPERATION, …)`
call's operation, resolved through constants, conditional expressions, local names, module
dicts and the one f-string (`inquiry_action_{name}`, over the console's ACTIONS). An operation
written in a way the walk cannot resolve fails the test too, so a new one cannot slip by.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.admin.actions import ACTIONS
from bot.admin.labels import (
    OPERATION_LABELS,
    actor_label,
    details_text,
    format_jst,
    preview,
)
from models.line_user import LineUser
from tests.test_inquiries_support import link, make_company

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters", "chat", "handlers", "models", "richmenu", "common")


class Unresolved(Exception):
    pass


def _assigned(tree: ast.Module, name: str) -> list[ast.expr]:
    values = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                values.append(node.value)
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
            and node.value is not None
        ):
            values.append(node.value)
    return values


def resolve(node: ast.expr, tree: ast.Module) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return resolve(node.body, tree) | resolve(node.orelse, tree)
    if isinstance(node, ast.Name):
        values = _assigned(tree, node.id)
        if not values:
            raise Unresolved(node.id)
        return set().union(*(resolve(v, tree) for v in values))
    if isinstance(node, ast.Dict):
        return set().union(*(resolve(v, tree) for v in node.values))
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return resolve(node.value, tree)
    if isinstance(node, ast.JoinedStr):
        parts = node.values
        if (
            len(parts) == 2
            and isinstance(parts[0], ast.Constant)
            and parts[0].value == "inquiry_action_"
        ):
            return {f"inquiry_action_{name}" for name in ACTIONS}
    raise Unresolved(ast.dump(node)[:120])


def _is_audit_record(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "record"
        and isinstance(func.value, ast.Name)
        and func.value.id == "audit"
    )


def written_operations() -> dict[str, set[str]]:
    """operation -> the files that write it."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and _is_audit_record(node)):
                    continue
                arg = node.args[2] if len(node.args) > 2 else None
                arg = arg or next((k.value for k in node.keywords if k.arg == "action"), None)
                assert arg is not None, f"{path}:{node.lineno}: audit.record without operation"
                try:
                    names = resolve(arg, tree)
                except Unresolved as exc:
                    pytest.fail(f"{path}:{node.lineno}: cannot resolve the operation ({exc})")
                for name in names:
                    found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_audit_operation_the_code_writes_has_a_japanese_label():
    written = written_operations()
    # The walk sees the ones we know are there (it is not finding nothing).
    assert {"member_retired", "handoff_viewed", "inquiry_action_retire"} <= set(written)
    assert {"operator_login_failed", "company_suspended", "id_list_downloaded"} <= set(written)
    missing = {
        name: sorted(files) for name, files in written.items() if name not in OPERATION_LABELS
    }
    assert missing == {}, f"add these to bot/admin/labels.py OPERATION_LABELS: {missing}"
    for name, label in OPERATION_LABELS.items():
        assert label and not label.isascii(), f"{name}: the label must be Japanese"
    stale = set(OPERATION_LABELS) - set(written)
    assert stale == set(), f"labels for operations nobody writes: {stale}"


def test_the_walk_fails_on_an_operation_it_cannot_resolve():
    tree = ast.parse("audit.record(s, a, make_name(), 't')")
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_audit_record(n))
    with pytest.raises(Unresolved):
        resolve(call.args[2], tree)


def test_dates_are_jst_in_nen_gatsu_nichi():
    assert format_jst(datetime(2026, 12, 3, 15, 5, tzinfo=UTC)) == "2026年12月4日 00:05"
    assert format_jst(None) == "-"


def test_actors_are_emails_or_members_never_a_line_id(db, clock):
    acme = make_company(db, clock)
    hr_id = acme.hr_contacts[0].member_id
    line_id = "U" + "d" * 32
    link(db, clock, line_id, hr_id)
    assert actor_label(db, "operator:desk@example.jp") == "desk@example.jp"
    assert actor_label(db, f"line:{line_id}") == f"会員 {hr_id}"
    unlinked = "U" + "e" * 32
    db.add(LineUser(line_user_id=unlinked, first_seen_at=clock.now(), blocked=False))
    db.commit()
    assert actor_label(db, f"line:{unlinked}") == "LINEのお客さま（未連携）"
    assert actor_label(db, f"line:{unlinked}", "DEMAM2345A") == "会員 DEMAM2345A"
    assert actor_label(db, "system:idle") == "自動処理"
    assert actor_label(db, "cli:root") == "コマンドライン（root）"
    shown = details_text({"unlinked_line_user": line_id, "points_forfeited": True, "x": line_id})
    assert (
        line_id not in shown and "LINE連携の解除：あり" in shown and "ポイント失効：あり" in shown
    )


def test_the_preview_puts_the_free_text_first_and_stays_short():
    shown = preview({"seat_count": 3, "detail": "追加をお願いします"})
    assert shown == "追加をお願いします ／ 追加するID数：3"
    long = preview({"detail": "あ" * 100})
    assert len(long) == 60 and long.endswith("…")
    assert preview({}) == ""
