"""The webhook bench's throughput figure: latency does not count as lost throughput, a backlog
does."""

from __future__ import annotations

from bench.webhook import steady_rate


def sends(rate: float, seconds: float, start: float = 1_000.0) -> list[float]:
    return [start + i / rate for i in range(int(rate * seconds))]


def test_a_bot_that_answers_everything_late_but_in_step_scores_the_offered_rate():
    sent = sends(300, 10)
    assert steady_rate(sent, [t + 0.001 for t in sent]) == 300
    assert steady_rate(sent, [t + 0.080 for t in sent]) == 300


def test_a_bot_that_falls_behind_scores_what_it_manages():
    sent = sends(300, 10)
    # It works the queue at 200 per second from the first event on.
    answered = [sent[0] + 0.01 + i / 200 for i in range(len(sent))]
    assert 199 <= steady_rate(sent, answered) <= 201


def test_short_runs_fall_back_to_answers_over_the_whole_time():
    sent = sends(100, 2)
    assert steady_rate(sent, [t + 0.5 for t in sent]) == len(sent) / (sent[-1] + 0.5 - sent[0])
    assert steady_rate(sent, []) == 0.0


# -- bench/attack.py ---------------------------------------------------------------------------

U1, U2 = "U" + "1" * 32, "U" + "2" * 32


def call(path: str, status: int = 200, **body: str) -> dict:
    return {"path": f"/v2/bot/message/{path}", "status": status, "body": body}


def test_attack_counts_replies_by_token_and_pushes_by_recipient_not_409s_or_refusals():
    from bench.attack_figures import delivered_by_user

    calls = [
        call("reply", replyToken="t1"),
        call("reply", 400, replyToken="t2"),  # token used: nothing delivered
        call("push", to=U2),
        call("push", 409, to=U2),  # a retry key LINE had accepted: nothing new
        call("push", 500, to=U1),
        {"path": "/v2/bot/chat/loading/start", "status": 202, "body": {"chatId": U1}},
    ]
    assert delivered_by_user(calls, {"t1": U1, "t2": U2}) == {U1: 1, U2: 1}


def test_attack_duplicates_and_lost_are_counted_per_user():
    from bench.attack_figures import duplicates_and_lost

    # U1 sent 3 events and got 4 answers (a reply, then a push for the same event); U2 sent 2
    # and got 1; a user nobody expected an answer for got one.
    assert duplicates_and_lost({U1: 3, U2: 2}, {U1: 4, U2: 1, "U3": 1}) == (2, 1)
    assert duplicates_and_lost({U1: 2}, {U1: 2}) == (0, 0)


def test_attack_server_errors_and_double_spends():
    from bench.attack_figures import Figure, double_spends, format_table, server_errors

    assert server_errors([200, 400, 413, 500, 503, None]) == 3  # None: no answer at all
    assert double_spends(successes=1, balance=100, price=100) == 0
    assert double_spends(successes=3, balance=100, price=100) == 2
    table = format_table([Figure("fuzz", "5xx", 0), Figure("pg", "lost (off)", 7, None)])
    assert table[1].split() == ["fuzz", "5xx", "0", "0", "ok"]
    assert table[2].split() == ["pg", "lost", "(off)", "7", "-"]
    assert not Figure("kill9", "duplicates", 1).ok
