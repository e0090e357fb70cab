"""Leases in the database: two clock processes never run the same job at the same time."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from models.base import Base


class JobLease(Base):
    __tablename__ = "job_leases"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]


def acquire_lease(
    factory: sessionmaker[Session], job_id: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take the lease if it is free, expired or already ours; False if someone else holds it."""
    try:
        with factory() as session, session.begin():
            lease = session.scalar(
                select(JobLease).where(JobLease.job_id == job_id).with_for_update()
            )
            if lease is None:
                session.add(
                    JobLease(
                        job_id=job_id, holder=holder, expires_at=now + ttl, last_started_at=now
                    )
                )
                return True
            if lease.holder != holder and lease.expires_at > now:
                return False
            lease.holder = holder
            lease.expires_at = now + ttl
            lease.last_started_at = now
            return True
    except IntegrityError:  # another process inserted the lease first
        return False


def release_lease(factory: sessionmaker[Session], job_id: str, holder: str, now: datetime) -> None:
    with factory() as session, session.begin():
        lease = session.get(JobLease, job_id, with_for_update=True)
        if lease is not None and lease.holder == holder:
            lease.expires_at = now
            lease.last_finished_at = now
