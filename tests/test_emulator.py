"""The LINE platform emulator, over real HTTP, against LINE's own SDK."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask, request
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhook import SignatureValidator, WebhookParser
from linebot.v3.webhooks import (
    AccountLinkEvent,
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)
from werkzeug.serving import make_server

from emulator.client import EmulatorClient, EmulatorError
from emulator.server import EmulatorServer, QuietRequestHandler

SECRET = "emulator-test-secret"
TOKEN = "emulator-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Receiver:
    """A tiny bot webhook: checks the signature like the SDK, records bodies, runs a hook."""

    url: str = ""
    bodies: list[str] = field(default_factory=list)
    signatures: list[str | None] = field(default_factory=list)
    hook: Callable[[dict[str, Any]], None] | None = None

    def events(self) -> list[dict[str, Any]]:
        return [e for body in self.bodies for e in json.loads(body)["events"]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    app = Flask("receiver")
    validator = SignatureValidator(SECRET)

    @app.post("/callback")
    def callback() -> tuple[str, int]:
        body = request.get_data(as_text=True)
        signature = request.headers.get("X-Line-Signature")
        rec.bodies.append(body)
        rec.signatures.append(signature)
        if not signature or not validator.validate(body, signature):
            return "bad signature", 400
        if rec.hook is not None:
            rec.hook(json.loads(body))
        return "OK", 200

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    rec.url = f"http://127.0.0.1:{server.server_port}/callback"
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
def emulator(receiver: Receiver) -> Iterator[EmulatorServer]:
    with EmulatorServer(SECRET, TOKEN) as server:
        server.state.webhook_url = receiver.url  # set after start, as with a late bot
        yield server


@pytest.fixture
def client(emulator: EmulatorServer) -> EmulatorClient:
    return EmulatorClient(emulator.url)


@pytest.fixture
def user(client: EmulatorClient) -> str:
    return client.create_user("デモユーザー")["user_id"]


@pytest.fixture
def api(emulator: EmulatorServer) -> Iterator[MessagingApi]:
    config = Configuration(host=emulator.url, access_token=TOKEN)
    with ApiClient(config) as api_client:
        yield MessagingApi(api_client)


def post(emulator: EmulatorServer, path: str, body: Any, **headers: str) -> requests.Response:
    return requests.post(emulator.url + path, json=body, headers={**AUTH, **headers}, timeout=10)


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


# -- webhooks -------------------------------------------------------------------------------


def test_text_webhook_is_signed_and_parses_with_the_sdk(
    client: EmulatorClient, receiver: Receiver, user: str, emulator: EmulatorServer
) -> None:
    result = client.send_text(user, "こんにちは")

    assert result["status"] == 200
    assert len(receiver.bodies) == 1
    body, signature = receiver.bodies[0], receiver.signatures[0]
    assert signature is not None and SignatureValidator(SECRET).validate(body, signature)
    assert not SignatureValidator("another-secret").validate(body, signature)
    parsed = WebhookParser(SECRET).parse(body, signature)
    assert len(parsed) == 1
    event = parsed[0]
    assert isinstance(event, MessageEvent)
    assert isinstance(event.message, TextMessageContent)
    assert event.message.text == "こんにちは"
    assert event.message.quote_token
    assert event.source.user_id == user
    assert event.delivery_context.is_redelivery is False
    assert event.mode.value == "active"
    raw = json.loads(body)
    assert raw["destination"] == emulator.state.bot_user_id
    assert raw["destination"].startswith("U") and len(raw["destination"]) == 33
    assert len(raw["events"][0]["webhookEventId"]) == 26
    assert raw["events"][0]["webhookEventId"] == result["webhookEventId"]
    assert abs(raw["events"][0]["timestamp"] - time.time() * 1000) < 60_000


def test_postback_follow_and_unfollow_events(
    client: EmulatorClient, receiver: Receiver, user: str
) -> None:
    client.send_postback(user, "action=menu&item=1", params={"date": "2025-01-02"})
    client.unfollow(user)
    client.follow(user)
    client.send_event(user, "beacon", beacon={"hwid": "d41d8cd98f", "type": "enter"})

    parser = WebhookParser(SECRET)
    events = [
        e
        for b, s in zip(receiver.bodies, receiver.signatures, strict=True)
        for e in parser.parse(b, s)
    ]
    postback, unfollow, follow, beacon = events
    assert isinstance(postback, PostbackEvent)
    assert postback.postback.data == "action=menu&item=1"
    assert postback.postback.params == {"date": "2025-01-02"}
    assert isinstance(unfollow, UnfollowEvent)
    assert "replyToken" not in receiver.events()[1]
    assert isinstance(follow, FollowEvent)
    assert follow.follow.is_unblocked is True  # the user had blocked the account
    assert receiver.events()[3]["beacon"]["hwid"] == "d41d8cd98f"
    assert len({e["webhookEventId"] for e in receiver.events()}) == 4


def test_deliver_arbitrary_body_as_redelivery_and_with_bad_signature(
    client: EmulatorClient, receiver: Receiver, user: str
) -> None:
    original = client.send_text(user, "hi")["event"]
    body = {"destination": "U" + "0" * 32, "events": [original]}

    again = client.deliver(body, redelivery=True)
    forged = client.deliver(body, signature="not-the-signature")
    raw = client.deliver(raw='{"destination":"Uxx","events":[]}')

    assert again["status"] == 200 and again["body"] == "OK"
    redelivered = receiver.events()[1]
    assert redelivered["deliveryContext"] == {"isRedelivery": True}
    assert redelivered["webhookEventId"] == original["webhookEventId"]
    assert forged["status"] == 400
    with pytest.raises(InvalidSignatureError):
        WebhookParser(SECRET).parse(receiver.bodies[2], receiver.signatures[2] or "")
    assert raw["status"] == 200
    assert receiver.bodies[3] == '{"destination":"Uxx","events":[]}'


def test_delivery_without_webhook_url_reports_an_error(
    client: EmulatorClient, emulator: EmulatorServer, user: str
) -> None:
    emulator.state.webhook_url = None
    result = client.send_text(user, "hi")
    assert result["status"] is None
    assert "webhook URL" in result["error"]


# -- authentication and request ids ---------------------------------------------------------


def test_bad_or_missing_token_is_401(emulator: EmulatorServer, user: str) -> None:
    for headers in ({"Authorization": "Bearer wrong"}, {}):
        response = requests.get(
            f"{emulator.url}/v2/bot/profile/{user}", headers=headers, timeout=10
        )
        assert response.status_code == 401
        assert response.json() == {
            "message": "Authentication failed. Confirm that the access token in the "
            "authorization header is valid."
        }
        assert response.headers["x-line-request-id"]

    config = Configuration(host=emulator.url, access_token="wrong")
    with ApiClient(config) as api_client, pytest.raises(ApiException) as info:
        MessagingApi(api_client).get_profile(user)
    assert info.value.status == 401


def test_sdk_profile_quota_and_loading(
    api: MessagingApi, emulator: EmulatorServer, user: str
) -> None:
    from linebot.v3.messaging import ShowLoadingAnimationRequest

    profile = api.get_profile(user)
    assert profile.user_id == user
    assert profile.display_name == "デモユーザー"
    assert profile.language == "ja"
    with pytest.raises(ApiException) as info:
        api.get_profile("U" + "f" * 32)
    assert info.value.status == 404

    quota = api.get_message_quota()
    assert quota.type.value == "limited" and quota.value == 10_000
    assert api.get_message_quota_consumption().total_usage == 0

    response = api.show_loading_animation_with_http_info(
        ShowLoadingAnimationRequest(chatId=user, loadingSeconds=10)
    )
    assert response.status_code == 202
    assert (
        post(
            emulator, "/v2/bot/chat/loading/start", {"chatId": user, "loadingSeconds": 7}
        ).status_code
        == 400
    )


@pytest.mark.parametrize(
    ("body", "prop", "needle"),
    [
        ({"loadingSeconds": 10}, "chatId", "none is not an allowed value"),
        ({"chatId": 42}, "chatId", "str type expected"),
        ({"chatId": "USER", "loadingSeconds": 70}, "loadingSeconds", "less than or equal to 60"),
        ({"chatId": "USER", "loadingSeconds": "10"}, "loadingSeconds", "valid integer"),
        ({"chatId": "USER", "loadingSeconds": 7}, "loadingSeconds", "multiple of 5"),
        ({"chatId": "C" + "0" * 32}, "chatId", "user ID"),
    ],
    ids=["no-chat-id", "chat-id-not-a-string", "too-long", "seconds-as-text", "not-5s", "group"],
)
def test_invalid_loading_bodies_are_400_like_line(
    emulator: EmulatorServer, user: str, body: dict[str, Any], prop: str, needle: str
) -> None:
    if body.get("chatId") == "USER":
        body = {**body, "chatId": user}
    response = post(emulator, "/v2/bot/chat/loading/start", body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["message"] == "The request body has 1 error(s)"
    (detail,) = payload["details"]
    assert detail["property"] == prop and needle in detail["message"]
    assert emulator.state.loading == []
    default = post(emulator, "/v2/bot/chat/loading/start", {"chatId": user})
    assert default.status_code == 202
    assert [e["loadingSeconds"] for e in emulator.state.loading] == [20]


# -- reply ----------------------------------------------------------------------------------


def test_sdk_reply_from_the_webhook_reaches_the_inbox_and_token_is_single_use(
    client: EmulatorClient, receiver: Receiver, api: MessagingApi, user: str
) -> None:
    tokens: list[str] = []

    def answer(body: dict[str, Any]) -> None:
        token = body["events"][0]["replyToken"]
        tokens.append(token)
        api.reply_message(
            ReplyMessageRequest(replyToken=token, messages=[TextMessage(text="はい\n2行目")])
        )

    receiver.hook = answer
    assert client.send_text(user, "質問")["status"] == 200

    inbox = client.inbox(user)
    assert [(m["via"], m["message"]["text"]) for m in inbox] == [("reply", "はい\n2行目")]
    with pytest.raises(ApiException) as info:
        api.reply_message(
            ReplyMessageRequest(replyToken=tokens[0], messages=[TextMessage(text="again")])
        )
    assert info.value.status == 400
    assert json.loads(info.value.body) == {"message": "Invalid reply token"}
    assert len(client.inbox(user)) == 1


def test_unknown_and_expired_reply_tokens(
    client: EmulatorClient, emulator: EmulatorServer, user: str
) -> None:
    unknown = post(
        emulator, "/v2/bot/message/reply", {"replyToken": "nope", "messages": [text("x")]}
    )
    assert unknown.status_code == 400 and unknown.json()["message"] == "Invalid reply token"

    token = client.send_text(user, "a")["event"]["replyToken"]
    assert client.expire_reply_tokens() >= 1
    expired = post(
        emulator, "/v2/bot/message/reply", {"replyToken": token, "messages": [text("x")]}
    )
    assert expired.status_code == 400

    # Tokens also lapse one minute after delivery.
    now = [time.time()]
    emulator.state.clock = lambda: now[0]
    token = client.send_text(user, "b")["event"]["replyToken"]
    now[0] += 61
    late = post(emulator, "/v2/bot/message/reply", {"replyToken": token, "messages": [text("x")]})
    assert late.status_code == 400
    token = client.send_text(user, "c")["event"]["replyToken"]
    now[0] += 59
    in_time = post(
        emulator, "/v2/bot/message/reply", {"replyToken": token, "messages": [text("ok")]}
    )
    assert in_time.status_code == 200
    assert [m["message"]["text"] for m in client.inbox(user)] == ["ok"]


# -- push / multicast -------------------------------------------------------------------------


def test_push_with_retry_key_is_delivered_once(
    client: EmulatorClient, emulator: EmulatorServer, api: MessagingApi, user: str
) -> None:
    key = str(uuid.uuid4())
    first = api.push_message_with_http_info(
        PushMessageRequest(to=user, messages=[TextMessage(text="お知らせ")]), x_line_retry_key=key
    )
    assert first.status_code == 200
    assert first.data.sent_messages[0].id
    first_request_id = first.headers["x-line-request-id"]

    repeat = post(
        emulator,
        "/v2/bot/message/push",
        {"to": user, "messages": [text("お知らせ")]},
        **{"X-Line-Retry-Key": key},
    )
    assert repeat.status_code == 409
    assert repeat.headers["x-line-accepted-request-id"] == first_request_id
    assert repeat.json()["message"] == "The retry key is already accepted"
    with pytest.raises(ApiException) as info:
        api.push_message(
            PushMessageRequest(to=user, messages=[TextMessage(text="x")]), x_line_retry_key=key
        )
    assert info.value.status == 409

    assert [m["via"] for m in client.inbox(user)] == ["push"]
    assert api.get_message_quota_consumption().total_usage == 1
    calls = client.calls("/v2/bot/message/push")
    assert [c["status"] for c in calls] == [200, 409, 409]
    assert calls[0]["headers"]["X-Line-Retry-Key"] == key
    assert calls[0]["request_id"] == first_request_id
    # A poller asks only for what it has not seen yet.
    assert client.calls("/v2/bot/message/push", after=1) == calls[1:]
    assert client.calls("/v2/bot/message/push", after=3) == []
    assert requests.get(emulator.url + "/_emulator/calls?after=-1", timeout=5).status_code == 400

    bad_key = post(
        emulator,
        "/v2/bot/message/push",
        {"to": user, "messages": [text("x")]},
        **{"X-Line-Retry-Key": "not-a-uuid"},
    )
    assert bad_key.status_code == 400
    assert len(client.inbox(user)) == 1


def test_multicast_delivers_to_each_and_enforces_the_limit(
    client: EmulatorClient, emulator: EmulatorServer
) -> None:
    users = [client.create_user(f"社員{i}")["user_id"] for i in range(3)]
    key = str(uuid.uuid4())
    ok = post(
        emulator,
        "/v2/bot/message/multicast",
        {"to": users, "messages": [text("全員へ")]},
        **{"X-Line-Retry-Key": key},
    )
    assert ok.status_code == 200 and ok.json() == {}
    dup = post(
        emulator,
        "/v2/bot/message/multicast",
        {"to": users, "messages": [text("全員へ")]},
        **{"X-Line-Retry-Key": key},
    )
    assert dup.status_code == 409
    for uid in users:
        assert [(m["via"], m["message"]["text"]) for m in client.inbox(uid)] == [
            ("multicast", "全員へ")
        ]

    too_many = [f"U{i:032x}" for i in range(501)]
    refused = post(emulator, "/v2/bot/message/multicast", {"to": too_many, "messages": [text("x")]})
    assert refused.status_code == 400
    assert refused.json()["details"][0]["property"] == "to"
    assert client.inbox(too_many[0]) == []
    assert requests.get(
        f"{emulator.url}/v2/bot/message/quota/consumption", headers=AUTH, timeout=10
    ).json() == {"totalUsage": 3}


def test_monthly_quota_is_enforced(
    client: EmulatorClient, emulator: EmulatorServer, user: str
) -> None:
    client.set_quota(1)
    assert requests.get(
        f"{emulator.url}/v2/bot/message/quota", headers=AUTH, timeout=10
    ).json() == {"type": "limited", "value": 1}
    assert (
        post(emulator, "/v2/bot/message/push", {"to": user, "messages": [text("1")]}).status_code
        == 200
    )
    over = post(emulator, "/v2/bot/message/push", {"to": user, "messages": [text("2")]})
    assert over.status_code == 429
    assert [m["message"]["text"] for m in client.inbox(user)] == ["1"]


@pytest.mark.parametrize(
    ("messages", "needle", "prop"),
    [
        ([text(str(i)) for i in range(6)], "1-5 messages", "messages"),
        (
            [
                {
                    **text("q"),
                    "quickReply": {
                        "items": [
                            {
                                "type": "action",
                                "action": {"type": "message", "label": "あ" * 21, "text": "a"},
                            }
                        ]
                    },
                }
            ],
            "label",
            "messages[0].quickReply[0]",
        ),
        ([{"type": "bogus"}], "bogus", None),
        ([{"type": "text", "text": ""}], "text must be", "messages[0]"),
    ],
    ids=["six-messages", "long-quick-reply-label", "unknown-type", "empty-text"],
)
def test_invalid_message_bodies_are_400_like_line(
    client: EmulatorClient,
    emulator: EmulatorServer,
    user: str,
    messages: list[dict[str, Any]],
    needle: str,
    prop: str | None,
) -> None:
    token = client.send_text(user, "hi")["event"]["replyToken"]
    for path, body in [
        ("/v2/bot/message/reply", {"replyToken": token, "messages": messages}),
        ("/v2/bot/message/push", {"to": user, "messages": messages}),
        ("/v2/bot/message/multicast", {"to": [user], "messages": messages}),
    ]:
        response = post(emulator, path, body)
        assert response.status_code == 400, path
        payload = response.json()
        assert payload["message"].startswith("The request body has")
        detail = payload["details"][0]
        assert needle in detail["message"]
        if prop is not None:
            assert detail["property"] == prop
    assert client.inbox(user) == []
    # The reply token was not used up by the refused reply.
    good = post(emulator, "/v2/bot/message/reply", {"replyToken": token, "messages": [text("ok")]})
    assert good.status_code == 200


def test_push_to_a_malformed_id_and_non_json_body(emulator: EmulatorServer) -> None:
    bad_to = post(emulator, "/v2/bot/message/push", {"to": "someone", "messages": [text("x")]})
    assert bad_to.status_code == 400
    assert "'to'" in bad_to.json()["message"]
    not_json = requests.post(
        f"{emulator.url}/v2/bot/message/push", data="{", headers=AUTH, timeout=10
    )
    assert not_json.status_code == 400 and "message" in not_json.json()


# -- faults and recording ---------------------------------------------------------------------


def test_fault_injection_answers_count_times_without_consuming_the_token(
    client: EmulatorClient, emulator: EmulatorServer, user: str
) -> None:
    token = client.send_text(user, "hi")["event"]["replyToken"]
    client.inject_fault("/v2/bot/message/reply", 500, count=2)
    body = {"replyToken": token, "messages": [text("やっと")]}

    statuses = [post(emulator, "/v2/bot/message/reply", body) for _ in range(3)]

    assert [r.status_code for r in statuses] == [500, 500, 200]
    assert statuses[0].json() == {"message": "Internal server error"}
    assert [m["message"]["text"] for m in client.inbox(user)] == ["やっと"]
    assert client.faults() == []
    calls = client.calls("/v2/bot/message/reply")
    assert [c["status"] for c in calls] == [500, 500, 200]
    assert calls[2]["body"] == body
    assert calls[2]["method"] == "POST"
    assert len({c["request_id"] for c in calls}) == 3


def test_faulted_push_does_not_accept_the_retry_key(
    client: EmulatorClient, emulator: EmulatorServer, user: str
) -> None:
    client.inject_fault("/v2/bot/message/push", 429)
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    body = {"to": user, "messages": [text("x")]}
    first = post(emulator, "/v2/bot/message/push", body, **key)
    assert first.status_code == 429 and first.json()["message"]
    assert client.inbox(user) == []
    assert post(emulator, "/v2/bot/message/push", body, **key).status_code == 200
    assert post(emulator, "/v2/bot/message/push", body, **key).status_code == 409
    assert len(client.inbox(user)) == 1


def test_fault_delay_then_normal_handling_or_timeout(
    client: EmulatorClient, emulator: EmulatorServer, user: str
) -> None:
    client.inject_fault("/v2/bot/message/push", None, delay=0.3, count=2)
    body = {"to": user, "messages": [text("遅い")]}

    started = time.monotonic()
    slow = post(emulator, "/v2/bot/message/push", body)
    assert slow.status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.Timeout):
        requests.post(f"{emulator.url}/v2/bot/message/push", json=body, headers=AUTH, timeout=0.05)
    assert post(emulator, "/v2/bot/message/push", body).status_code == 200
    # Poll until the timed-out request has finished on the emulator's side.
    deadline = time.monotonic() + 5
    while len(client.inbox(user)) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(client.inbox(user)) == 3  # the client gave up, but LINE still delivered

    with pytest.raises(EmulatorError):
        client.inject_fault("/v2/bot/message/push", None)


def wait_for_calls(client: EmulatorClient, path: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    while True:
        calls = client.calls(path)
        if len(calls) >= count or time.monotonic() > deadline:
            return calls
        time.sleep(0.02)


def test_fault_after_handling_delivers_then_answers_late(
    client: EmulatorClient, emulator: EmulatorServer, user: str
) -> None:
    client.inject_fault("/v2/bot/message/push", None, delay=1.0, when="after")
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    body = {"to": user, "messages": [text("遅い返事")]}
    with pytest.raises(requests.Timeout):
        requests.post(
            f"{emulator.url}/v2/bot/message/push",
            json=body,
            headers={**AUTH, **key},
            timeout=0.3,
        )
    (first,) = wait_for_calls(client, "/v2/bot/message/push", 1)
    # LINE took it: delivered, the retry key accepted, recorded with what it answered.
    assert first["status"] == 200
    assert first["fault"] == {
        "status": None,
        "delay": 1.0,
        "when": "after",
        "handled_status": 200,
    }
    assert [m["message"]["text"] for m in client.inbox(user)] == ["遅い返事"]
    retry = post(emulator, "/v2/bot/message/push", body, **key)  # overtakes the late answer
    assert retry.status_code == 409
    assert retry.headers["x-line-accepted-request-id"] == first["request_id"]
    calls = client.calls("/v2/bot/message/push")
    assert [(c["status"], c["fault"]) for c in calls[1:]] == [(409, None)]
    assert len(client.inbox(user)) == 1

    # A late answer still comes, when the client waits long enough for it.
    client.inject_fault("/v2/bot/message/push", None, delay=0.3, when="after")
    started = time.monotonic()
    slow = post(emulator, "/v2/bot/message/push", {"to": user, "messages": [text("待てば")]})
    assert slow.status_code == 200 and slow.json()["sentMessages"][0]["id"]
    assert time.monotonic() - started >= 0.3


def test_fault_status_after_handling_replaces_the_answer(
    client: EmulatorClient, emulator: EmulatorServer, user: str
) -> None:
    token = client.send_text(user, "hi")["event"]["replyToken"]
    client.inject_fault("/v2/bot/message/reply", 502, when="after")
    body = {"replyToken": token, "messages": [text("届いた")]}

    lost = post(emulator, "/v2/bot/message/reply", body)
    again = post(emulator, "/v2/bot/message/reply", body)

    assert lost.status_code == 502 and lost.json() == {"message": "Bad gateway"}
    assert lost.headers["x-line-request-id"]
    assert again.status_code == 400 and again.json()["message"] == "Invalid reply token"
    assert [m["message"]["text"] for m in client.inbox(user)] == ["届いた"]
    calls = client.calls("/v2/bot/message/reply")
    assert [c["status"] for c in calls] == [502, 400]
    assert calls[0]["fault"] == {
        "status": 502,
        "delay": 0.0,
        "when": "after",
        "handled_status": 200,
    }
    assert calls[0]["request_id"] == lost.headers["x-line-request-id"]


def test_fault_before_handling_is_recorded_and_when_is_checked(
    client: EmulatorClient, emulator: EmulatorServer, user: str
) -> None:
    client.inject_fault("/v2/bot/message/push", 503)
    assert (
        post(emulator, "/v2/bot/message/push", {"to": user, "messages": [text("x")]}).status_code
        == 503
    )
    (call,) = client.calls("/v2/bot/message/push")
    assert call["fault"] == {"status": 503, "delay": 0.0, "when": "before"}
    assert client.inbox(user) == []
    with pytest.raises(EmulatorError, match="when must be one of"):
        client.inject_fault("/v2/bot/message/push", 500, when="during")
    assert client.faults() == []


# -- account link ---------------------------------------------------------------------------


def test_account_link_flow_delivers_the_event_and_link_token_is_single_use(
    client: EmulatorClient, receiver: Receiver, api: MessagingApi, user: str
) -> None:
    link_token = api.issue_link_token(user).link_token
    assert link_token

    page = client.open_account_link(link_token, "nonce-123")
    assert page.status_code == 200
    assert "連携処理が完了しました。トーク画面に戻ってください。" in page.text
    assert f"/?user={user}" in page.text
    event = receiver.events()[-1]
    parsed = WebhookParser(SECRET).parse(receiver.bodies[-1], receiver.signatures[-1] or "")[0]
    assert isinstance(parsed, AccountLinkEvent)
    assert event["link"] == {"result": "ok", "nonce": "nonce-123"}
    assert event["source"] == {"type": "user", "userId": user}
    assert event["replyToken"] and event["mode"] == "active"
    assert event["deliveryContext"] == {"isRedelivery": False}

    again = client.open_account_link(link_token, "nonce-456")
    assert again.status_code == 200
    failed = receiver.events()[-1]
    assert failed["link"] == {"result": "failed", "nonce": "nonce-456"}
    assert "replyToken" not in failed

    unknown = client.open_account_link("no-such-token", "n")
    assert unknown.status_code == 400
    assert len(receiver.bodies) == 2


# -- inbox, reset, page ---------------------------------------------------------------------


def test_inbox_after_returns_only_newer_messages(
    client: EmulatorClient, emulator: EmulatorServer, user: str
) -> None:
    for word in ("一", "二", "三"):
        post(emulator, "/v2/bot/message/push", {"to": user, "messages": [text(word)]})
    everything = client.inbox(user)
    seqs = [m["seq"] for m in everything]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    newer = client.inbox(user, after=seqs[0])
    assert [m["message"]["text"] for m in newer] == ["二", "三"]
    assert client.inbox(user, after=seqs[-1]) == []
    assert client.wait_for_messages(user, after=seqs[1])[0]["message"]["text"] == "三"
    with pytest.raises(EmulatorError):
        client.wait_for_messages(user, after=seqs[-1], timeout=0.1)

    timeline = client.timeline(user)
    assert {e["sender"] for e in timeline} == {"bot"}
    client.send_text(user, "ユーザーの発言")
    assert client.timeline(user)[-1]["sender"] == "user"


def test_reset_forgets_calls_inboxes_and_tokens(
    client: EmulatorClient, emulator: EmulatorServer, user: str
) -> None:
    token = client.send_text(user, "hi")["event"]["replyToken"]
    post(emulator, "/v2/bot/message/push", {"to": user, "messages": [text("x")]})
    client.inject_fault("/v2/bot/message/push", 500)
    client.set_quota(1)
    client.unfollow(user)
    client.reset()
    assert client.inbox(user) == [] and client.calls() == [] and client.faults() == []
    assert (
        post(
            emulator, "/v2/bot/message/reply", {"replyToken": token, "messages": [text("x")]}
        ).status_code
        == 400
    )
    assert client.users()[0]["user_id"] == user  # users survive a reset
    assert client.users()[0]["following"] is True
    quota = requests.get(f"{emulator.url}/v2/bot/message/quota", headers=AUTH, timeout=10)
    assert quota.json()["value"] == 10_000


def test_users_are_created_once_per_name_or_id(client: EmulatorClient) -> None:
    first = client.create_user("山田")
    assert client.create_user("山田") == first
    chosen = "U" + "a" * 32
    assert client.create_user("佐藤", user_id=chosen)["user_id"] == chosen
    assert client.create_user(user_id=chosen)["display_name"] == "佐藤"
    with pytest.raises(EmulatorError):
        client.create_user(user_id="bogus")


def test_chat_page_is_served(emulator: EmulatorServer) -> None:
    page = requests.get(emulator.url + "/", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert 'lang="ja"' in page.text
    assert "richmenu-area" in page.text
    for asset in ("chat.js", "chat.css"):
        response = requests.get(f"{emulator.url}/_emulator/static/{asset}", timeout=10)
        assert response.status_code == 200 and len(response.content) > 500


def test_validate_endpoints(emulator: EmulatorServer, client: EmulatorClient, user: str) -> None:
    ok = post(emulator, "/v2/bot/message/validate/push", {"messages": [text("ok")]})
    assert ok.status_code == 200 and ok.json() == {}
    bad = post(emulator, "/v2/bot/message/validate/reply", {"messages": [text("x")] * 6})
    assert bad.status_code == 400 and bad.json()["details"][0]["property"] == "messages"
    assert client.inbox(user) == []


def test_blocked_users_get_nothing_and_cost_nothing(
    client: EmulatorClient, emulator: EmulatorServer, api: MessagingApi, user: str
) -> None:
    other = client.create_user("友だち")["user_id"]
    client.unfollow(user)

    pushed = post(emulator, "/v2/bot/message/push", {"to": user, "messages": [text("x")]})
    multi = post(
        emulator, "/v2/bot/message/multicast", {"to": [user, other], "messages": [text("y")]}
    )

    assert pushed.status_code == 200 and multi.status_code == 200
    assert client.inbox(user) == []
    assert [m["message"]["text"] for m in client.inbox(other)] == ["y"]
    assert api.get_message_quota_consumption().total_usage == 1
    with pytest.raises(ApiException) as info:
        api.get_profile(user)
    assert info.value.status == 404
    client.follow(user)
    assert api.get_profile(user).user_id == user


def test_account_link_from_the_uri_the_bot_sends(
    client: EmulatorClient, receiver: Receiver, api: MessagingApi, user: str
) -> None:
    token = api.issue_link_token(user).link_token
    uri = f"https://access.line.me/dialog/bot/accountLink?linkToken={token}&nonce=abc%3D"
    assert client.open_account_link_uri(uri).status_code == 200
    assert receiver.events()[-1]["link"] == {"result": "ok", "nonce": "abc="}


def test_concurrent_pushes_with_one_retry_key_deliver_once(
    client: EmulatorClient, emulator: EmulatorServer, user: str
) -> None:
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    statuses: list[int] = []

    def send() -> None:
        response = post(
            emulator, "/v2/bot/message/push", {"to": user, "messages": [text("1回")]}, **key
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [200] + [409] * 7
    assert len(client.inbox(user)) == 1


def test_failed_webhook_is_redelivered_only_when_redelivery_is_on(
    client: EmulatorClient, receiver: Receiver, user: str
) -> None:
    failures = [1, 1, 1]  # the bot answers 500 to the first three requests

    def flaky(_body: dict[str, Any]) -> None:
        if failures:
            failures.pop()
            raise RuntimeError("database away")

    receiver.hook = flaky
    off = client.send_text(user, "redelivery off")  # LINE's default: lost
    assert off["status"] == 500

    client.set_webhook_redelivery(True, delays=[0.01, 0.01, 0.01])
    on = client.send_text(user, "redelivery on")
    assert on["status"] == 500

    def delivered() -> bool:
        return client.pending_redeliveries() == 0 and len(receiver.bodies) == 4

    wait_for(delivered)
    first, *again = [e for e in receiver.events() if e["webhookEventId"] == on["webhookEventId"]]
    assert first["deliveryContext"] == {"isRedelivery": False}
    assert [e["deliveryContext"] for e in again] == [{"isRedelivery": True}] * 2
    assert {e["timestamp"] for e in again} == {on["event"]["timestamp"]}
    parsed = WebhookParser(SECRET).parse(receiver.bodies[-1], receiver.signatures[-1] or "")
    assert parsed[0].delivery_context.is_redelivery is True
    # The event of the first, failed request with redelivery off was sent once, never again.
    assert [e["webhookEventId"] for e in receiver.events()].count(off["webhookEventId"]) == 1
    assert client.pending_redeliveries() == 0


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_webhook_timeout_can_be_set_like_lines(
    client: EmulatorClient, receiver: Receiver, emulator: EmulatorServer, user: str
) -> None:
    answer = threading.Event()
    receiver.hook = lambda _body: answer.wait(10)  # a bot that answers only when told
    client.set_webhook_url(receiver.url, timeout=0.05)
    result = client.send_text(user, "hi")
    answer.set()
    assert result["status"] is None and "Timeout" in result["error"]
    assert emulator.state.webhook_timeout == 0.05
    with pytest.raises(EmulatorError):
        client.set_webhook_url(receiver.url, timeout=0)
