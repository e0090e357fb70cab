"""The flow framework through the router: declaration errors at start-up, an unknown step
returned at run time reported (logged, answered, the flow ended), state kept in the database."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bot.handlers_registry import build_router
from chat.flows import END, Entry, Flow, FlowError, Go, Question, Stay, Step, Turn, register_flow
from chat.messages import text
from chat.router import Context, Input, Router
from common.config import Settings
from models.conversation import Conversation
from models.line_user import LineUser
from models.timeutil import FixedClock

USER = "U" + "e" * 32
SETTINGS = Settings(channel_secret="secret", channel_access_token="token")


@pytest.fixture
def ctx(db: Session, clock: FixedClock) -> Context:
    line_user = LineUser(line_user_id=USER, first_seen_at=clock.now())
    db.add(line_user)
    db.flush()
    return Context(USER, db, clock, SETTINGS, line_user, {"type": "message"})


def _ask(body: str):
    return lambda turn: Question(body)


def _name_answer(turn: Turn):
    if not turn.text.strip():
        return Stay("空です")
    turn.data["name"] = turn.text
    return "age"


def _age_answer(turn: Turn):
    turn.data["age"] = turn.text
    return turn.data.get("goto", END)


def _flow(name: str = "demo", keywords: tuple[str, ...] = ("デモ",)) -> Flow:
    def begin(ctx: Context, user_input: Input):
        return flow.start(ctx, "name", {"goto": END})

    flow = Flow(
        name=name,
        states={
            "name": Step(_ask("お名前は？"), _name_answer, next=("age",)),
            "age": Step(_ask("ご年齢は？"), _age_answer),
        },
        entry_points=[Entry(begin, keywords=keywords)],
    )
    return flow


def say(router: Router, ctx: Context, value: str) -> list[dict[str, Any]]:
    return router.dispatch(ctx, Input.from_text(value))


def body(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def test_the_whole_bot_registers_without_conflicts():
    router = build_router()
    assert "inquiry" in router.conversations


def test_a_flow_registered_twice_is_an_error():
    router = Router()
    register_flow(router, _flow())
    with pytest.raises(FlowError, match="duplicate_flow"):
        register_flow(router, _flow(keywords=("別のデモ",)))


def test_a_keyword_registered_twice_is_an_error():
    router = Router()
    register_flow(router, _flow())
    with pytest.raises(ValueError, match="registered twice"):
        register_flow(router, _flow(name="other", keywords=("ﾃﾞﾓ",)))  # same word, normalised
    with pytest.raises(ValueError, match="registered twice"):
        build_router(["handlers.greeting", "handlers.greeting"])


def test_a_declared_next_step_that_does_not_exist_is_an_error():
    flow = _flow()
    flow.states["age"] = Step(_ask("?"), _age_answer, next=("nowhere",))
    with pytest.raises(FlowError, match="unknown_step"):
        register_flow(Router(), flow)


def test_a_step_returning_an_unknown_step_is_reported_and_ends_the_flow(ctx, db, caplog):
    router = Router()
    flow = _flow()
    register_flow(router, flow)
    say(router, ctx, "デモ")
    db.get(Conversation, USER).data = {"goto": "nowhere", "history": []}
    say(router, ctx, "花子")
    with caplog.at_level(logging.ERROR, logger="benesapo.flows"):
        reply = say(router, ctx, "20")
    assert "もう一度はじめから" in body(reply)
    assert db.get(Conversation, USER) is None
    [record] = [r for r in caplog.records if r.getMessage() == "flow_unknown_step"]
    assert record.fields["returned"] == "nowhere" and record.fields["step"] == "age"


def test_the_state_is_in_the_database_and_the_router_owns_back_and_cancel(ctx, db):
    router = Router()
    register_flow(router, _flow())
    assert "お名前は？" in body(say(router, ctx, "デモ"))
    assert "空です" in body(say(router, ctx, "　"))
    assert "ご年齢は？" in body(say(router, ctx, "花子"))
    stored = db.get(Conversation, USER)
    assert stored.step == "age" and stored.data["name"] == "花子"
    assert stored.data["history"] == ["name"]
    assert "お名前は？" in body(say(router, ctx, "一つ前に戻る"))
    assert db.get(Conversation, USER).step == "name"
    assert "中止しました" in body(say(router, ctx, "やっぱりやめます"))
    assert db.get(Conversation, USER) is None


def test_other_features_postbacks_pass_through_and_the_flow_stays_open(ctx, db):
    router = Router()
    register_flow(router, _flow())
    router.postback("balance")(lambda c, i: [text("残高です")])
    say(router, ctx, "デモ")
    reply = router.dispatch(ctx, Input.from_postback("action=balance"))
    assert body(reply) == "残高です"
    assert db.get(Conversation, USER).step == "name"


def test_a_sticker_outside_a_flow_gets_the_message_types_own_answer(ctx):
    router = Router()
    register_flow(router, _flow())
    router.on_event("message:other")(lambda c: [text("文字でどうぞ")])
    assert body(router.dispatch(ctx, Input.from_other("sticker"))) == "文字でどうぞ"
    say(router, ctx, "デモ")
    reply = router.dispatch(ctx, Input.from_other("sticker"))
    assert "スタンプ" in body(reply) and "お名前は？" in body(reply)


def test_go_with_a_notice_shows_it_above_the_next_question(ctx):
    router = Router()
    flow = _flow()
    flow.states["name"] = Step(_ask("お名前は？"), lambda turn: Go("age", "承りました"))
    register_flow(router, flow)
    say(router, ctx, "デモ")
    assert body(say(router, ctx, "花子")).startswith("承りました\n\nご年齢は？")


def test_a_stored_step_that_no_longer_exists_is_logged_and_the_input_routed_as_usual(
    ctx, db, caplog
):
    router = Router()
    register_flow(router, _flow())
    router.fallback(lambda c, i: [text("ふつうの答え")])
    say(router, ctx, "デモ")
    db.get(Conversation, USER).step = "renamed"
    with caplog.at_level(logging.WARNING, logger="benesapo.flows"):
        assert body(say(router, ctx, "花子")) == "ふつうの答え"
    assert db.get(Conversation, USER) is None
    assert [r.fields["step"] for r in caplog.records if r.getMessage() == "flow_stale_step"] == [
        "renamed"
    ]


def test_a_step_returning_a_step_it_did_not_declare_is_reported(ctx, db, caplog):
    router = Router()
    flow = _flow()
    flow.states["name"] = Step(_ask("お名前は？"), lambda turn: "name_again", next=("age",))
    flow.states["name_again"] = Step(_ask("もう一度"), _age_answer)
    register_flow(router, flow)
    say(router, ctx, "デモ")
    with caplog.at_level(logging.ERROR, logger="benesapo.flows"):
        assert "もう一度はじめから" in body(say(router, ctx, "花子"))
    assert [r.fields["returned"] for r in caplog.records if r.getMessage() == "flow_unknown_step"]
    assert db.get(Conversation, USER) is None


def test_start_over_without_a_restart_hook_goes_back_to_the_first_step(ctx, db):
    router = Router()
    register_flow(router, _flow())
    say(router, ctx, "デモ")
    say(router, ctx, "花子")
    reply = say(router, ctx, "最初からやり直す")
    assert "最初からやり直します" in body(reply) and "お名前は？" in body(reply)
    assert db.get(Conversation, USER).step == "name"
    assert db.get(Conversation, USER).data["history"] == []
