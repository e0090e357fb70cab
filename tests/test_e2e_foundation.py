"""The foundation end to end: signed webhooks in, LINE API calls out (emulator), DB after."""

from __future__ import annotations

from sqlalchemy import select

from models.events import EventStatus, LineChat, WebhookEvent
from models.line_user import LineUser
from tests.e2e import actions_of, texts_of


def test_follow_greets_with_service_name_and_buttons(chat, dbview):
    messages = chat.follow()
    assert "ベネサポ" in texts_of(messages)
    labels = {a["label"] for a in actions_of(messages)}
    assert {"アカウント連携", "よくある質問", "お問い合わせ"} <= labels
    user = dbview.get(LineUser, chat.user_id)
    assert user is not None and user.blocked is False and user.followed_at is not None


def test_unfollow_marks_user_blocked_and_sends_nothing(chat, dbview, emulator):
    chat.follow()
    assert chat.event("unfollow") == []
    dbview.expire_all()
    assert dbview.get(LineUser, chat.user_id).blocked is True
    # Unblocking is a follow event again: greeted, and no longer blocked.
    assert "ベネサポ" in texts_of(chat.event("follow", follow={"isUnblocked": True}))
    dbview.expire_all()
    assert dbview.get(LineUser, chat.user_id).blocked is False


def test_odd_text_gets_polite_fallback_with_next_steps(chat):
    messages = chat.say("ｚｚｚｚ？？")
    body = texts_of(messages)
    assert "申し訳ありません" in body
    assert {"よくある質問", "お問い合わせ"} <= {a["label"] for a in actions_of(messages)}


def test_unknown_postback_gets_fallback_not_an_error(chat, dbview):
    messages = chat.tap("action=no-such-thing&x=1")
    assert "申し訳ありません" in texts_of(messages)
    event = dbview.scalars(select(WebhookEvent)).one()
    assert event.status == EventStatus.DONE


def test_sticker_gets_a_polite_answer(chat):
    messages = chat.event(
        "message",
        replyToken="will-be-replaced",
        message={"id": "1", "type": "sticker", "packageId": "1", "stickerId": "1"},
    )
    assert "テキスト" in texts_of(messages)


def test_group_is_told_once_that_the_bot_is_one_to_one(emulator, services, dbview, session_factory):
    from tests.e2e import event_settled
    from tests.helpers import text_event, user_event

    group = {"type": "group", "groupId": "C" + "1" * 32, "userId": "U" + "2" * 32}
    join = user_event(
        "join", source={"type": "group", "groupId": group["groupId"]}, replyToken="join-token"
    )
    first = text_event("こんにちは", source=group)
    second = text_event("残高", source=group)
    for event in (join, first, second):
        assert emulator.deliver({"destination": "U0", "events": [event]})["status"] == 200
    from tests.e2e import wait_until

    for event in (join, first, second):
        wait_until(lambda e=event: event_settled(session_factory, e["webhookEventId"]))
    assert dbview.scalars(select(LineChat.chat_id)).all() == [group["groupId"]]
    sent = [c for c in emulator.calls("/v2/bot/message/") if c["status"] == 200]
    assert len(sent) == 1  # one notice (pushed: the test's reply token is not LINE's), no more
    assert "1対1" in str(sent[0]["body"])


def test_each_event_and_line_call_is_one_json_line_without_text_or_tokens(chat, caplog):
    import json
    import logging

    from common.logging_setup import JsonFormatter

    with caplog.at_level(logging.INFO, logger="benesapo"):
        chat.say("ポイント残高を秘密の言葉で教えて")
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records if r.name.startswith("benesapo")]
    assert all("\n" not in line for line in lines)
    parsed = [json.loads(line) for line in lines]
    events = [p for p in parsed if p["event"] == "webhook_event"]
    calls = [p for p in parsed if p["event"] == "line_api_call"]
    assert len(events) == 1
    assert {"event_id", "type", "handler", "ms", "outcome"} <= set(events[0])
    assert events[0]["type"] == "message" and events[0]["outcome"] == "ok"
    assert calls and {"endpoint", "status", "request_id", "attempt"} <= set(calls[0])
    assert any(c["endpoint"] == "reply" and c["status"] == 200 for c in calls)
    everything = "\n".join(lines)
    assert "秘密の言葉" not in everything and "replyToken" not in everything


def test_a_linked_user_who_blocks_and_re_adds_is_not_asked_to_link_again(chat, db, dbview):
    from test_points_support import make_member

    chat.follow()
    member = make_member(db, "M5001")
    user = db.get(LineUser, chat.user_id)
    user.member_pk = member.id
    db.commit()
    assert chat.event("unfollow") == []
    messages = chat.event("follow", follow={"isUnblocked": True})
    assert "おかえりなさい" in texts_of(messages)
    assert "アカウント連携" not in {a["label"] for a in actions_of(messages)}
    assert {"ポイント残高", "よくある質問"} <= {a["label"] for a in actions_of(messages)}
