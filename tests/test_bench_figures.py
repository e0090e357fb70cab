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
