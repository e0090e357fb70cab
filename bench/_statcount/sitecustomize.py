"""Bench only (bench/webhook.py --profile puts this directory on PYTHONPATH): counts the SQL
statements, transactions, pool checkouts and pings each of our processes sends (SQLAlchemy
engine and pool events), written to $BENESAPO_BENCH_STATEMENTS/<role>-<pid>.json twice a second."""

import os

_DIR = os.environ.get("BENESAPO_BENCH_STATEMENTS")

if _DIR:
    import json
    import sys
    import threading

    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    _counts = {"statements": 0, "transactions": 0, "checkouts": 0, "pings": 0}
    _role = "worker" if any(arg == "worker" for arg in sys.argv[1:3]) else "web"

    def _statement(*_: object) -> None:
        _counts["statements"] += 1

    def _transaction(conn, *_: object) -> None:  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            _counts["transactions"] += 1  # autocommit: no BEGIN / COMMIT sent

    def _checkout(*_: object) -> None:
        _counts["checkouts"] += 1

    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    _do_ping = PGDialect_psycopg.do_ping

    def _ping(self, dbapi_connection):  # type: ignore[no-untyped-def]
        _counts["pings"] += 1
        return _do_ping(self, dbapi_connection)

    PGDialect_psycopg.do_ping = _ping  # type: ignore[method-assign]

    event.listen(Engine, "before_cursor_execute", _statement)
    event.listen(Pool, "checkout", _checkout)
    event.listen(Engine, "commit", _transaction)
    event.listen(Engine, "rollback", _transaction)

    def _dump() -> None:
        path = os.path.join(_DIR, f"{_role}-{os.getpid()}.json")
        while True:
            with open(path + ".tmp", "w") as out:
                json.dump(_counts, out)
            os.replace(path + ".tmp", path)
            threading.Event().wait(0.5)

    def _start() -> None:
        _counts.update(dict.fromkeys(_counts, 0))
        threading.Thread(target=_dump, daemon=True, name="bench-statements").start()

    _start()
    os.register_at_fork(after_in_child=_start)  # gunicorn's workers: their own counts
