"""Double clicks on the console's one-click actions (issue 16.1).

    .venv/bin/python -m bench.console_actions [--database-url URL] [--trials 5] [--clicks 10]

Serves the console on a free 127.0.0.1 port (a threaded WSGI server, real HTTP), logs in, and
for each action (add_seats for a 1-ID ticket, reset_password, retire, stop_service) sends
`--clicks` identical POSTs at once, `--trials` times on fresh tickets, and the same for the
company page's suspend (a row lock on the company). Prints per action: runs (200 answers;
302 for suspend), refusals (409), 5xx, and what the database shows (IDs issued, password
resets, retirements, services stopped, suspensions, credentials mails). Target: runs = 1 and
5xx = 0 in every trial.

It DROPS AND RECREATES the schema of the database it is given (default: a temporary SQLite
file); never point it at a database you care about.
"""

from __future__ import annotations

import argparse
import logging
import re
import tempfile
import threading
from collections import Counter
from pathlib import Path

import requests
from sqlalchemy import func, select, text
from werkzeug.serving import make_server

from adapters.runtime import build_runtime
from bot.app import create_app
from bot.migrate import upgrade_database
from common.config import Settings
from models import audit, passwords
from models.companies import create_company
from models.company import Member, MemberKind
from models.db import is_postgres, make_engine, make_session_factory
from models.inquiries import InquiryType, create_inquiry
from models.mail import OutgoingMail
from models.operators import create_operator
from models.timeutil import FixedClock

EMAIL = "bench@example.jp"
PASSWORD = "bench-password-123"


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if not match:
        raise SystemExit("no CSRF token on the page")
    return match.group(1)


def _clicks(base: str, cookies: dict[str, str], path: str, token: str, n: int) -> Counter[int]:
    barrier = threading.Barrier(n)
    codes: Counter[int] = Counter()
    lock = threading.Lock()

    def click() -> None:
        with requests.Session() as own:
            own.cookies.update(cookies)
            barrier.wait()
            answer = own.post(
                base + path, data={"csrf_token": token}, timeout=120, allow_redirects=False
            )
            status = answer.status_code
        with lock:
            codes[status] += 1

    threads = [threading.Thread(target=click) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--clicks", type=int, default=10)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    engine = make_engine(url)
    if is_postgres(engine):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade_database(engine)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    passwords.configure(time_cost=1, memory_cost=1024, parallelism=1)
    clock = FixedClock()
    factory = make_session_factory(engine)
    settings = Settings(
        channel_secret="s", channel_access_token="t", database_url=url, secret_key="bench-secret"
    )
    app = create_app(
        runtime=build_runtime(settings, engine=engine, clock=clock), start_workers=False
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with factory() as db, db.begin():
            create_operator(db, clock, EMAIL, PASSWORD, role="admin")  # stop_service: admins
        browser = requests.Session()
        login = _token(browser.get(base + "/admin/login", timeout=10).text)
        browser.post(
            base + "/admin/login",
            data={"email": EMAIL, "password": PASSWORD, "csrf_token": login},
            timeout=10,
        )
        token = _token(browser.get(base + "/admin/inquiries", timeout=10).text)
        cookies = browser.cookies.get_dict()
        print(f"database: {engine.dialect.name}; {args.trials} trials x {args.clicks} clicks")
        for action in ("add_seats", "reset_password", "retire", "stop_service", "suspend"):
            codes: Counter[int] = Counter()
            effects: Counter[str] = Counter()
            worst_runs = 0
            for trial in range(args.trials):
                with factory() as db, db.begin():
                    issued = create_company(
                        db,
                        clock,
                        name=f"B{trial}",
                        seats=2,
                        seat_limit=1000,
                        contact_email="hr@example.jp",
                    )
                    hr = db.scalars(
                        select(Member).where(Member.member_id == issued.hr_contacts[0].member_id)
                    ).one()
                    target = issued.members[0].member_id
                    answers = {
                        "add_seats": {"seat_count": 1},
                        "reset_password": {"credential_what": "x", "target_member_id": target},
                        "retire": {"retiree_name": "x", "retiree_member_id": target},
                        "stop_service": {"stop_date": "x"},
                        "suspend": {"detail": "x"},
                    }[action]
                    kind = {
                        "add_seats": InquiryType.ADD_SEATS,
                        "reset_password": InquiryType.CREDENTIALS,
                        "retire": InquiryType.RETIRE,
                        "stop_service": InquiryType.STOP_SERVICE,
                        "suspend": InquiryType.OTHER,
                    }[action]
                    inquiry = create_inquiry(
                        db, clock, type=kind, line_user_id="Ubench", member=hr, answers=answers
                    )
                    company_id, number = hr.company_id, inquiry.number
                path = f"/admin/inquiries/{number}/actions/{action}"
                if action == "suspend":
                    path = f"/admin/companies/{issued.company_code}/status/suspend"
                got = _clicks(base, cookies, path, token, args.clicks)
                got[200] += got.pop(302, 0)  # suspend answers with a redirect
                codes.update(got)
                worst_runs = max(worst_runs, got[200])
                with factory() as db, db.begin():
                    employees = db.scalar(
                        select(func.count(Member.id)).where(
                            Member.company_id == company_id, Member.kind == MemberKind.EMPLOYEE
                        )
                    )
                    effects["ids_issued"] += int(employees or 0) - 2
                    member_log = [e.action for e in audit.entries(db, target=f"member:{target}")]
                    effects["password_resets"] += member_log.count("password_reset")
                    effects["retirements"] += member_log.count("member_retired")
                    company_log = [
                        e.action for e in audit.entries(db, target=f"company:{issued.company_code}")
                    ]
                    effects["services_stopped"] += company_log.count("company_terminated")
                    effects["suspensions"] += company_log.count("company_suspended")
                    effects["credential_mails"] += int(
                        db.scalar(
                            select(func.count(OutgoingMail.id)).where(
                                OutgoingMail.dedupe_key == f"inquiry-credentials:{int(number[4:])}"
                            )
                        )
                        or 0
                    )
            fivexx = sum(n for code, n in codes.items() if code >= 500)
            print(
                f"{action:15} runs={codes[200]} (max {worst_runs} per trial) "
                f"refused_409={codes[409]} 5xx={fivexx} "
                + " ".join(f"{k}={v}" for k, v in sorted(effects.items()) if v)
            )
    finally:
        server.shutdown()
        engine.dispose()


if __name__ == "__main__":
    main()
