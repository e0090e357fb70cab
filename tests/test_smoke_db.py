from datetime import UTC, datetime

from models.company import Company


def test_company_round_trips_with_aware_utc_datetime(db):
    created = datetime(2026, 1, 31, 16, 0, tzinfo=UTC)
    db.add(
        Company(
            code="ABCD2345",
            name="デモ株式会社",
            seat_limit=10,
            contact_email="hr@example.com",
            created_at=created,
        )
    )
    db.commit()
    db.expire_all()
    company = db.query(Company).one()
    assert company.created_at == created
    assert company.created_at.tzinfo is not None


def test_sqlite_commits_are_durable_when_they_return(tmp_path):
    """The webhook answers 200 once its record is committed: on SQLite (WAL) that needs
    synchronous=FULL (NORMAL may lose the last commits on power loss)."""
    from sqlalchemy import text

    from models.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'durable.sqlite3'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    finally:
        engine.dispose()
