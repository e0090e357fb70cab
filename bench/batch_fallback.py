"""What isolating a bad row costs the points jobs.

    .venv/bin/python -m bench.batch_fallback [--database-url URL] [--members 2000]

Prints the confirm job's time over N members with one pending earning each: set-based (no bad
row), then with one bad row (a trigger refuses its entry), when the job splits the members in
halves until the bad one is alone; and the lots confirmed and rows skipped. Default database:
a temporary SQLite file. It DROPS AND RECREATES the schema of the database it is given; never
point it at a database you care about.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from adapters.runtime import build_runtime
from bench.points import POLICY, T0, make_members, reset_schema
from bot.points_jobs import confirm_pending
from common.config import Settings
from models.db import is_postgres, make_engine, make_session_factory
from models.points import PointsLedger
from models.timeutil import FixedClock

POISON_SQLITE = (
    "CREATE TRIGGER poison BEFORE INSERT ON point_entries WHEN NEW.source_ref = 'poison'"
    " BEGIN SELECT RAISE(ABORT, 'poison row'); END"
)
POISON_PG = [
    "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.source_ref = 'poison'"
    " THEN RAISE EXCEPTION 'poison row'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER poison BEFORE INSERT ON point_entries FOR EACH ROW EXECUTE FUNCTION poison()",
]


def prepare(engine: Engine, members: int, poison: bool) -> None:
    reset_schema(engine)
    factory = make_session_factory(engine)
    ids = make_members(factory, members, "F")
    with factory() as db, db.begin():
        ledger = PointsLedger(db, FixedClock(T0), POLICY)
        for n, member_id in enumerate(ids):
            ref = "poison" if poison and n == members // 2 else f"e-{n}"
            ledger.earn(member_id, 10, ref, key=f"k-{n}", occurred_at=T0)
    if poison:
        with engine.begin() as conn:
            for statement in POISON_PG if is_postgres(engine) else [POISON_SQLITE]:
                conn.execute(text(statement))


def run(engine: Engine, members: int, poison: bool) -> None:
    prepare(engine, members, poison)
    settings = Settings(channel_secret="s", channel_access_token="t", database_url=str(engine.url))
    runtime = build_runtime(settings, engine=engine, clock=FixedClock(T0))
    started = time.perf_counter()
    counts = confirm_pending(runtime, T0 + timedelta(days=31))
    seconds = time.perf_counter() - started
    label = "one bad row, halves until isolated" if poison else "no bad row, set-based"
    print(
        f"confirm over {members} members, {label}: {seconds * 1000:.0f} ms"
        f" ({seconds / members * 1e6:.0f} µs/member); {counts}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--members", type=int, default=2000)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    engine = make_engine(url)
    try:
        run(engine, args.members, poison=False)
        run(engine, args.members, poison=True)
    finally:
        if is_postgres(engine):
            with engine.begin() as conn:
                conn.execute(text("DROP TRIGGER IF EXISTS poison ON point_entries"))
                conn.execute(text("DROP FUNCTION IF EXISTS poison()"))
        engine.dispose()


if __name__ == "__main__":
    main()
