"""The channel's rich menus, their images and aliases, and which user sees which
(the endpoints are in emulator.richmenu)."""

from __future__ import annotations

import secrets
import threading
from typing import Any


class RichMenus:
    """The rich menu part of `EmulatorState` (its one lock)."""

    lock: threading.Lock

    def _init_rich_menus(self) -> None:
        # id -> menu, user id -> menu id.
        self.rich_menus: dict[str, dict[str, Any]] = {}
        self.user_rich_menus: dict[str, str] = {}
        self.default_rich_menu: str | None = None
        self.rich_menu_images: dict[str, tuple[bytes, str]] = {}  # id -> (bytes, content type)
        self.rich_menu_aliases: dict[str, str] = {}  # alias id -> rich menu id

    def _reset_rich_menus_locked(self) -> None:
        self.rich_menus.clear()
        self.rich_menu_images.clear()
        self.rich_menu_aliases.clear()
        self.user_rich_menus.clear()
        self.default_rich_menu = None

    def create_rich_menu(self, body: dict[str, Any], limit: int) -> str | None:
        """Store a rich menu; its new id, or None when the channel already has `limit`."""
        with self.lock:
            if len(self.rich_menus) >= limit:
                return None
            rich_menu_id = "richmenu-" + secrets.token_hex(16)
            self.rich_menus[rich_menu_id] = {"richMenuId": rich_menu_id, **body}
            return rich_menu_id

    def get_rich_menu(self, rich_menu_id: str) -> dict[str, Any] | None:
        with self.lock:
            menu = self.rich_menus.get(rich_menu_id)
            return dict(menu) if menu is not None else None

    def list_rich_menus(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(menu) for menu in self.rich_menus.values()]

    def delete_rich_menu(self, rich_menu_id: str) -> bool:
        """Forget the menu, its image, and who it was linked to (they see the default)."""
        with self.lock:
            if self.rich_menus.pop(rich_menu_id, None) is None:
                return False
            self.rich_menu_images.pop(rich_menu_id, None)
            for user_id in [u for u, m in self.user_rich_menus.items() if m == rich_menu_id]:
                del self.user_rich_menus[user_id]
            if self.default_rich_menu == rich_menu_id:
                self.default_rich_menu = None
            return True

    def set_rich_menu_image(self, rich_menu_id: str, image: bytes, content_type: str) -> str:
        """ "ok", "not_found" or "exists" (LINE never replaces a menu's image)."""
        with self.lock:
            if rich_menu_id not in self.rich_menus:
                return "not_found"
            if rich_menu_id in self.rich_menu_images:
                return "exists"
            self.rich_menu_images[rich_menu_id] = (image, content_type)
            return "ok"

    def rich_menu_image(self, rich_menu_id: str) -> tuple[bytes, str] | None:
        with self.lock:
            return self.rich_menu_images.get(rich_menu_id)

    def _usable_menu_locked(self, rich_menu_id: str) -> str:
        if rich_menu_id not in self.rich_menus:
            return "not_found"
        if rich_menu_id not in self.rich_menu_images:
            return "no_image"
        return "ok"

    def set_default_rich_menu(self, rich_menu_id: str | None) -> str:
        with self.lock:
            if rich_menu_id is None:
                self.default_rich_menu = None
                return "ok"
            outcome = self._usable_menu_locked(rich_menu_id)
            if outcome == "ok":
                self.default_rich_menu = rich_menu_id
            return outcome

    def link_rich_menu(self, user_ids: list[str], rich_menu_id: str) -> str:
        with self.lock:
            outcome = self._usable_menu_locked(rich_menu_id)
            if outcome == "ok":
                for user_id in user_ids:
                    self.user_rich_menus[user_id] = rich_menu_id
            return outcome

    def unlink_rich_menu(self, user_ids: list[str]) -> None:
        with self.lock:
            for user_id in user_ids:
                self.user_rich_menus.pop(user_id, None)

    def linked_rich_menu(self, user_id: str) -> str | None:
        with self.lock:
            return self.user_rich_menus.get(user_id)

    def current_rich_menu(self, user_id: str) -> tuple[str | None, str | None]:
        """(menu id, "linked" | "default") the user sees now, or (None, None)."""
        with self.lock:
            linked = self.user_rich_menus.get(user_id)
            if linked is not None and linked in self.rich_menus:
                return linked, "linked"
            if self.default_rich_menu is not None:
                return self.default_rich_menu, "default"
            return None, None

    def default_rich_menu_id(self) -> str | None:
        with self.lock:
            return self.default_rich_menu

    def set_rich_menu_alias(self, alias_id: str, rich_menu_id: str, *, create: bool) -> str:
        """ "ok", "exists" (create), "no_alias" (update), "not_found" or "no_image"."""
        with self.lock:
            if create and alias_id in self.rich_menu_aliases:
                return "exists"
            if not create and alias_id not in self.rich_menu_aliases:
                return "no_alias"
            outcome = self._usable_menu_locked(rich_menu_id)
            if outcome == "ok":
                self.rich_menu_aliases[alias_id] = rich_menu_id
            return outcome

    def rich_menu_alias(self, alias_id: str) -> str | None:
        with self.lock:
            return self.rich_menu_aliases.get(alias_id)

    def rich_menu_alias_list(self) -> dict[str, str]:
        with self.lock:
            return dict(self.rich_menu_aliases)

    def delete_rich_menu_alias(self, alias_id: str) -> bool:
        with self.lock:
            return self.rich_menu_aliases.pop(alias_id, None) is not None

    def switch_rich_menu(self, user_id: str, alias_id: str) -> str:
        """What LINE does for a `richmenuswitch` tap: link the alias's menu to the user.
        The status LINE puts in the postback's params."""
        with self.lock:
            rich_menu_id = self.rich_menu_aliases.get(alias_id)
            if rich_menu_id is None:
                return "RICHMENU_ALIAS_ID_NOTFOUND"
            if rich_menu_id not in self.rich_menus:
                return "RICHMENU_NOTFOUND"
            self.user_rich_menus[user_id] = rich_menu_id
            return "SUCCESS"
