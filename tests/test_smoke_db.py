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
