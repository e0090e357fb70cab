"""The process-wide objects every entry point needs: settings, database, clock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from common.config import Settings
from models.db import make_engine, make_session_factory
from models.timeutil import Clock, SystemClock


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock


def build_runtime(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None
) -> Runtime:
    engine = engine or make_engine(settings.database_url)
    return Runtime(settings, engine, make_session_factory(engine), clock or SystemClock())
