"""Balance and history in the chat: Flex bubble, Japanese history, unlinked and inactive users."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from test_points_support import T0, key, make_member

from adapters.line_client import validate_messages
from bot.handlers_registry import build_router
from chat.router import Context, Input
from common.config import Settings
from models.company import CompanyStatus, MemberStatus
from models.line_user import LineUser
from models.points import PointsLedger, PointsPolicy
from models.timeutil import FixedClock

USER = "U" + "b" * 32


@pytest.fixture
def chat(db):
    clock = FixedClock(T0)
    settings = Settings(channel_secret="s", channel_access_token="t")
    router = build_router(["handlers.balance"])
    line_user = LineUser(line_user_id=USER, first_seen_at=T0)
    db.add(line_user)
    db.flush()

    def say(message: str | None = None, *, postback: str | None = None):
        ctx = Context(USER, db, clock, settings, line_user, {})
        user_input = Input.from_postback(postback) if postback else Input.from_text(message or "")
        messages = router.dispatch(ctx, user_input)
        validate_messages(messages)
        return messages

    say.clock = clock
    say.line_user = line_user
    say.ledger = PointsLedger(db, clock, PointsPolicy(allow_future_dates=True))
    return say


def _link(db, chat):
    member = make_member(db, "M3001")
    chat.line_user.member_pk = member.id
    db.flush()
    db.refresh(chat.line_user)
    return member


def _flat(message) -> str:
    return json.dumps(message, ensure_ascii=False)


def test_not_linked_is_told_to_link_first(db, chat):
    for said in ("ポイント", "残高", "履歴"):
        (reply,) = chat(said)
        assert "連携" in reply["text"]
        item = reply["quickReply"]["items"][0]["action"]
        assert item == {"type": "message", "label": "アカウント連携", "text": "連携"}
    (reply,) = chat(postback="action=balance")
    assert "連携" in reply["text"]


def test_balance_bubble_shows_available_pending_next_expiry_and_debt(db, chat):
    member = _link(db, chat)
    ledger = chat.ledger
    ledger.grant(member, 1200, "g1", "キャンペーン", key=key())
    ledger.earn(member, 300, "u1", key=key())
    (reply,) = chat("ポイント")
    assert reply["type"] == "flex"
    assert reply["altText"] == "ポイント残高：1,200pt"
    body = _flat(reply)
    assert "1,200pt" in body
    assert "300pt" in body and "2026年2月14日に確定予定" in body
    assert "2029年1月31日まで 1,200pt" in body
    assert "お支払いが必要な金額" not in body

    ledger.redeem(member, "p1", 1000, 1000, key=key())
    ledger.revoke("g1", "不正利用", key=key())
    (reply,) = chat(postback="action=balance")
    body = _flat(reply)
    assert "0pt" in body
    assert "お支払いが必要な金額" in body and "1,000円" in body


def test_balance_keyword_is_normalised(db, chat):
    _link(db, chat)
    (reply,) = chat(" 残高 ")
    assert reply["type"] == "flex"


def test_history_lists_latest_entries_with_japanese_reasons(db, chat):
    member = _link(db, chat)
    ledger = chat.ledger
    ledger.grant(member, 500, "g1", "お詫び", key=key())
    chat.clock.advance(days=1)
    ledger.redeem(member, "p1", 800, 200, key=key())
    ledger.exchange(member, "r1", 100, key=key())
    ledger.cancel_exchange("r1", key=key())
    (reply,) = chat("履歴")
    lines = reply["text"].splitlines()
    assert lines[0] == "【ポイント履歴（最新5件）】"
    assert "ポイント付与 +500pt（お詫び）" in reply["text"]
    assert "お支払いにご利用 -200pt" in reply["text"]
    assert "特典との交換 -100pt" in reply["text"]
    assert "ポイントのご返還 +100pt" in reply["text"]
    # newest first
    assert lines[1].endswith("特典交換の取消")
    (reply,) = chat(postback="action=history")
    assert reply["text"].startswith("【ポイント履歴")


def test_the_pending_note_shows_only_when_points_await_confirmation(db, chat):
    member = _link(db, chat)
    chat.ledger.grant(member, 500, "g1", "お詫び", key=key())
    (reply,) = chat("履歴")
    assert "確定待ちのポイント" not in reply["text"]
    chat.ledger.earn(member, 300, "u1", key=key())
    (reply,) = chat("履歴")
    assert reply["text"].splitlines()[-1].startswith("※確定待ちのポイントは")


def test_history_empty(db, chat):
    _link(db, chat)
    (reply,) = chat("履歴")
    assert reply["text"] == "ポイントのお取引はまだありません。"


def test_retired_member_gets_a_polite_message(db, chat):
    member = _link(db, chat)
    member.status = MemberStatus.RETIRED
    member.retired_at = T0 - timedelta(days=1)
    (reply,) = chat("ポイント")
    assert "会員資格が終了" in reply["text"]


def test_inactive_company_gets_a_polite_message(db, chat):
    member = _link(db, chat)
    member.company.status = CompanyStatus.SUSPENDED
    (reply,) = chat("履歴")
    assert "ご所属企業" in reply["text"]
