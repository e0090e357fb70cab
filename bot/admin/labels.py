"""What the console shows people, in Japanese: audit operation names, who did it (an operator's
e-mail or 「会員 DEMAM2345A」, never a raw LINE user id), dates in JST (2026年12月3日 18:05),
statuses of companies and members, points history kinds.

tests/test_console_labels.py walks the application code's audit operation names and fails when
one has no label here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from handlers.balance_texts import KIND_LABELS as POINTS_KIND_LABELS
from models.inquiries import ANSWER_LABELS, REQUESTER_LABELS
from models.inquiries import STATUS_LABELS as INQUIRY_STATUS_LABELS
from models.line_user import LineUser
from models.timeutil import parse_iso, to_jst

# Every operation the code writes to the audit log (models.audit.record).
OPERATION_LABELS: dict[str, str] = {
    # companies and members
    "company_created": "企業の登録",
    "seats_added": "IDの追加発行",
    "seat_limit_changed": "プラン上限人数の変更",
    "company_suspended": "企業の利用一時停止",
    "company_resumed": "企業の利用再開",
    "company_terminated": "サービスの停止（解約）",
    "member_retired": "退職者の利用停止",
    "password_reset": "初期パスワードの再発行",
    "member_linked": "LINE連携",
    "member_unlinked": "LINE連携の解除",
    "link_refused_member_linked_elsewhere": "連携の拒否（別のLINEアカウントと連携済み）",
    "link_refused_nonce_other_user": "連携の拒否（別のLINEアカウント向けの連携）",
    "id_list_downloaded": "初期ID・パスワード一覧のダウンロード",
    # tickets
    "inquiry_assigned": "担当の割り当て",
    "inquiry_status_changed": "ステータスの変更",
    "inquiry_message_sent": "お客さまへのメッセージ送信",
    "inquiry_action_retire": "定型処理：退職者の利用停止",
    "inquiry_action_add_seats": "定型処理：IDの追加発行",
    "inquiry_action_reset_password": "定型処理：初期パスワードの再発行",
    "inquiry_action_stop_service": "定型処理：サービスの停止",
    # live chats
    "handoff_viewed": "有人チャットの閲覧",
    "handoff_replied": "有人チャットへの返信",
    "handoff_note": "有人チャットのメモ保存",
    "handoff_closed": "有人チャットの終了",
    # operators
    "operator_created": "オペレーターの登録",
    "operator_activated": "オペレーターの有効化",
    "operator_deactivated": "オペレーターの無効化",
    "operator_password_changed": "オペレーターのパスワード変更",
    "operator_login": "ログイン",
    "operator_login_failed": "ログインの失敗",
}

COMPANY_STATUS_LABELS = {
    "active": "利用中",
    "suspended": "一時停止中",
    "terminated": "停止（解約）",
}
MEMBER_STATUS_LABELS = {
    "active": "利用中",
    "retired": "利用停止（退職）",
    "suspended": "企業が一時停止中",
    "terminated": "企業がサービス停止",
}
MEMBER_KIND_LABELS = {"employee": "従業員", "hr_contact": "企業担当者"}
DETAIL_LABELS = {
    "company": "企業コード",
    "member_id": "会員ID",
    "member_ids": "会員ID",
    "hr_contact_ids": "企業担当者ID",
    "count": "件数",
    "from": "変更前",
    "to": "変更後",
    "message": "メッセージ",
    "points_forfeited": "ポイント失効",
    "points_lost": "失効したポイント",
    "unlinked_line_user": "LINE連携の解除",
    "line_user_id": "LINEアカウント",
    "linked_to": "連携先",
    "attempted_by": "連携を試みたLINEアカウント",
    "nonce_for": "連携の対象",
    "mailed_to": "送付先",
    "role": "権限",
    "sessions_ended": "終了したセッション",
    "remote_addr": "接続元",
    "seat_limit": "プラン上限人数",
    "name": "名称",
    "user": "お客さま",
    "pending_cancelled": "取り消した付与予定のポイント",
    "notified": "ご本人へのお知らせ",
    "members": "会員数",
    "linked_members": "LINE連携中の会員数",
}
# Status values in "from" / "to" details (tickets, companies).
VALUE_LABELS = {
    **{s.value: label for s, label in INQUIRY_STATUS_LABELS.items()},
    **COMPANY_STATUS_LABELS,
}
_LINE_ID = re.compile(r"^U[0-9a-f]{32}$")
# Keys whose values are LINE user ids: shown as whether there is one, never the id.
_LINE_KEYS = {"unlinked_line_user", "line_user_id", "linked_to", "attempted_by", "nonce_for"}


def operation_label(name: str) -> str:
    return OPERATION_LABELS.get(name, name)


def format_jst(moment: datetime | None) -> str:
    """2026年12月3日 18:05 (JST), or - when there is none."""
    if moment is None:
        return "-"
    local = to_jst(moment)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def iso_jst(text: str | None) -> str:
    """format_jst of an ISO 8601 instant (the facts of models.console_facts)."""
    return format_jst(parse_iso(text)) if text else "-"


def points_kind_label(kind: str) -> str:
    return POINTS_KIND_LABELS.get(kind, kind)


def _line_user_label(session: Session | None, line_user_id: str) -> str:
    user = session.get(LineUser, line_user_id) if session is not None else None
    if user is not None and user.member is not None:
        return f"会員 {user.member.member_id}"
    return "LINEのお客さま（未連携）"


def actor_label(session: Session | None, actor: str | None, member_id: str | None = None) -> str:
    """Who did it: an operator's e-mail, 「会員 …」, the command line or the system.
    `member_id` names the member a LINE user was (a ticket's requester) when no longer linked."""
    kind, _, who = (actor or "").partition(":")
    if kind == "operator":
        return who
    if kind == "line":
        label = _line_user_label(session, who)
        if member_id and label.startswith("LINEの"):
            return f"会員 {member_id}"
        return label
    if kind in ("member", "hr"):
        return f"会員 {who}"
    if kind == "cli":
        return f"コマンドライン（{who}）" if who else "コマンドライン"
    if kind == "partner":
        return f"提携先（{who}）"
    if kind == "system":
        return "自動処理"
    if kind == "anonymous" or not actor:
        return "-"
    return actor


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "あり" if value else "なし"
    if value is None:
        return "-"
    if isinstance(value, list):
        return "、".join(_value(v) for v in value) or "-"
    text = str(value)
    if _LINE_ID.match(text):
        return "LINEアカウント"
    return text


def details_text(details: dict[str, Any] | None) -> str:
    """An audit entry's details for people: Japanese keys, no raw LINE user id."""
    parts = []
    for key, value in (details or {}).items():
        label = DETAIL_LABELS.get(key, key)
        if key in _LINE_KEYS:
            parts.append(f"{label}：{'あり' if value else 'なし'}")
        elif key in ("from", "to") and isinstance(value, str):
            parts.append(f"{label}：{VALUE_LABELS.get(value, value)}")
        else:
            parts.append(f"{label}：{_value(value)}")
    return " ／ ".join(parts)


PREVIEW_CHARS = 60


def preview(answers: dict[str, Any] | None, limit: int = PREVIEW_CHARS) -> str:
    """The first words of a ticket's answers (the free text first, then 「項目：値」), for lists."""
    answers = answers or {}
    parts = [str(answers["detail"])] if answers.get("detail") else []
    parts += [
        f"{ANSWER_LABELS.get(k, k)}：{v}"
        for k, v in answers.items()
        if k != "detail" and v not in ("", None)
    ]
    text = " ".join(" ／ ".join(parts).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def requester_text(inquiry: Any) -> str:
    """Who asked, for people: 「企業担当者（会員 …）」, never a LINE id."""
    kind = REQUESTER_LABELS[inquiry.requester_kind]
    if inquiry.requester is not None:
        return f"{kind}（会員 {inquiry.requester.member_id}）"
    return kind
