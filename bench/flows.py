"""Flow input bench: what the chat kernel adds to every message inside a flow.

    .venv/bin/python bench/flows.py

Prints p50/p99 per call of control-word recognition (on control words and on ordinary answers,
the latter the common case: every free-text answer is checked) and of typed date parsing, and
the share of a sample of ordinary ways to cancel / go back that are recognised.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chat.control import Control, recognize  # noqa: E402
from chat.dates import DateError, parse_date  # noqa: E402

# Written apart from control_words.yaml: how people end a form or step back in chat.
SAMPLE = {
    Control.CANCEL: [
        "やめます",
        "やめたいです",
        "キャンセルします",
        "キャンセルでお願いします",
        "中止で",
        "中止してください",
        "もういいや",
        "やっぱりいいです",
        "やっぱやめる",
        "結構です",
        "取り消します",
        "とりけしで",
        "いりません",
        "終わりにします",
        "ストップ",
        "すみません、やめます",
        "きゃんせる",
        "ｷｬﾝｾﾙ",
        "やめとく",
        "また今度にします",
    ],
    Control.BACK: [
        "戻ります",
        "戻りたい",
        "もどる",
        "前に戻って",
        "一つ前に戻る",
        "ひとつ前",
        "前の質問に戻りたい",
        "間違えました",
        "まちがえた",
        "修正したいです",
        "訂正したい",
        "戻ってください",
        "直したい",
        "入力し直したい",
    ],
}
ORDINARY = [
    "山田 太郎",
    "2027年1月31日",
    "来月末",
    "事業所の閉鎖のため",
    "ABCD2345",
    "わからない",
    "経費削減のため、来月末での停止を希望します。",
    "すべて",
    "3",
    "はい",
]
DATES = ["2027/1/31", "2027年1月31日", "1月31日", "来月末", "今月末", "6/30(火)", "なるべく早く"]


def timed(fn, values: list[str], rounds: int = 300) -> tuple[float, float]:
    samples: list[float] = []
    for _ in range(rounds):
        for value in values:
            start = time.perf_counter()
            fn(value)
            samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


def parse_or_none(value: str) -> date | None:
    try:
        return parse_date(value, date(2026, 4, 1))
    except DateError:
        return None


def main() -> None:
    recognize("やめる")  # load the word lists once
    for control, phrases in SAMPLE.items():
        found = sum(recognize(p) is control for p in phrases)
        print(f"{control.value:8} recognised {found}/{len(phrases)}")
    wrong = [p for p in ORDINARY if recognize(p) is not None]
    print(f"ordinary answers taken for control words: {len(wrong)}/{len(ORDINARY)} {wrong}")
    words = [p for phrases in SAMPLE.values() for p in phrases]
    for name, fn, values in (
        ("recognize(control word)", recognize, words),
        ("recognize(ordinary answer)", recognize, ORDINARY),
        ("parse_date", parse_or_none, DATES),
    ):
        p50, p99 = timed(fn, values)
        print(f"{name:28} p50 {p50:7.1f} µs  p99 {p99:7.1f} µs")


if __name__ == "__main__":
    main()
