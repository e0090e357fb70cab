"""SQLAlchemy models and the domain services over them.

Importing this package registers every table on `Base.metadata` (Alembic and the tests rely
on that). Models never import handlers, Flask or the LINE SDK.
"""

from models import (
    apikey,
    audit,
    company,
    console_sessions,
    conversation,
    events,
    faq,
    handoff,
    inquiries,
    inquiry_thread,
    leases,
    line_user,
    login_guard,
    mail,
    operators,
    points,
    reminders,
    richmenu,
    unanswered,
)
from models.base import Base

__all__ = ["Base"]
