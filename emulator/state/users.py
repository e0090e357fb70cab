"""The simulated users (persisted to `users_file` when there is one: emulator.user_store)."""

from __future__ import annotations

import threading
from pathlib import Path

from emulator.state.records import User, new_user_id
from emulator.user_store import MAX_NAME, USER_ID_RE, load_users, save_users


class UserDirectory:
    """The users part of `EmulatorState` (its one lock)."""

    lock: threading.Lock

    def _init_users(self, users_file: Path | str | None) -> None:
        # With `users_file`, the simulated users survive a restart (emulator.user_store).
        self.users_file = Path(users_file) if users_file is not None else None
        self.users: dict[str, User] = {}
        if self.users_file is not None:
            for entry in load_users(self.users_file):
                self.users[entry["user_id"]] = User(**entry)

    def _reset_users_locked(self) -> None:
        """Every user a friend again; ids and names stay."""
        for user in self.users.values():
            user.following = True
        self._save_users_locked()

    def add_user(self, user_id: str | None = None, display_name: str | None = None) -> User:
        """Create a simulated user, or return the existing one with that id (or that name)."""
        with self.lock:
            if user_id is not None and user_id in self.users:
                return self.users[user_id]
            if user_id is None and display_name is not None:
                for user in self.users.values():
                    if user.display_name == display_name:
                        return user
            if user_id is not None and not USER_ID_RE.match(str(user_id)):
                raise ValueError(f"a user id is 'U' and 32 hex digits, not {user_id!r}")
            if display_name is not None and not (
                isinstance(display_name, str) and 0 < len(display_name) <= MAX_NAME
            ):
                raise ValueError(f"a display name is 1-{MAX_NAME} characters")
            uid = user_id or new_user_id()
            user = User(uid, display_name or f"ユーザー{len(self.users) + 1}")
            self.users[uid] = user
            self._save_users_locked()
            return user

    def get_user(self, user_id: str) -> User | None:
        with self.lock:
            return self.users.get(user_id)

    def list_users(self) -> list[User]:
        with self.lock:
            return list(self.users.values())

    def set_following(self, user_id: str, following: bool) -> None:
        with self.lock:
            if user_id in self.users and self.users[user_id].following != following:
                self.users[user_id].following = following
                self._save_users_locked()

    def _save_users_locked(self) -> None:
        if self.users_file is not None:
            save_users(self.users_file, [u.to_dict() for u in self.users.values()])
