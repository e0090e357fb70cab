"""The emulator checks with its own table of LINE's limits, so a wrong limit in the bot's table
(`adapters/line_limits.py`) is refused by LINE's stand-in, as LINE would refuse it."""

from __future__ import annotations

import uuid

import pytest

import adapters.line_api.validation as bot_validation
import adapters.line_limits as bot_limits
from adapters.line_client import LineApiError


@pytest.fixture
def forget_checked_messages():
    """The client remembers messages that passed its check; what passed under a wrong limit
    must not be remembered for the tests after this one."""
    yield
    bot_validation._validate_shape_json.cache_clear()


def test_a_wrong_limit_in_the_bots_table_is_refused_by_the_emulator(
    emulator_line_client, emulator, monkeypatch, forget_checked_messages
):
    user_id = emulator.create_user("限度")["user_id"]
    monkeypatch.setattr(bot_limits, "MAX_TEXT", 6000)  # a bug in our table: LINE says 5,000
    client = emulator_line_client
    too_long = [{"type": "text", "text": "限" * 5001}]
    bot_limits.check_messages(too_long)  # the bot's own check lets it through

    with pytest.raises(LineApiError) as caught:
        client.push(user_id, too_long, str(uuid.uuid4()))

    assert caught.value.status == 400
    [call] = emulator.calls("/v2/bot/message/push")
    assert call["status"] == 400
    assert emulator.inbox(user_id) == []
