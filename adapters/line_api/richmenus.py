"""Rich menu calls (used by `richmenu.deploy` and `richmenu.switching`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from linebot.v3.messaging import (
    ApiClient,
    ApiResponse,
    CreateRichMenuAliasRequest,
    MessagingApi,
    MessagingApiBlob,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    UpdateRichMenuAliasRequest,
)

from adapters.line_api.errors import LineApiError
from adapters.line_api.validation import validate_request
from common.config import Settings

# "There is none" to the calls that ask whether there is one: an answer, not a failure.
NO_SUCH_THING = frozenset({404})


class RichMenuCalls:
    """The rich menu calls of `LineClient` (which provides `_call`, `_api`, `_api_client`,
    `settings` and `timeout`). Admin calls: they go through `_call` (retries, logging, rate
    limit) but never reply or push. Images go to the DATA API host (`line_data_api_base_url`)."""

    _call: Callable[..., ApiResponse]
    _api: MessagingApi
    _api_client: Callable[[str], ApiClient]
    settings: Settings
    timeout: float

    RICH_MENU_BULK_LIMIT = 500

    @property
    def _blob(self) -> MessagingApiBlob:
        blob = getattr(self, "_blob_api", None)
        if blob is None:
            blob = MessagingApiBlob(
                _PinnedHostApiClient(self._api_client(self.settings.line_data_api_base_url))
            )
            self._blob_api = blob
        return blob

    def create_rich_menu(self, body: dict[str, Any]) -> str:
        request = validate_request("richmenu", body)
        response = self._call(
            "richmenu.create",
            lambda: self._api.create_rich_menu_with_http_info(
                request, _request_timeout=self.timeout
            ),
        )
        return response.data.rich_menu_id

    def validate_rich_menu(self, body: dict[str, Any]) -> None:
        request = validate_request("richmenu", body)
        self._call(
            "richmenu.validate",
            lambda: self._api.validate_rich_menu_object_with_http_info(
                request, _request_timeout=self.timeout
            ),
        )

    def upload_rich_menu_image(self, rich_menu_id: str, image: bytes, content_type: str) -> None:
        self._call(
            "richmenu.image",
            lambda: self._blob.set_rich_menu_image_with_http_info(
                rich_menu_id,
                image,
                _headers={"Content-Type": content_type},
                _request_timeout=max(self.timeout, 30.0),
            ),
        )

    def has_rich_menu_image(self, rich_menu_id: str) -> bool:
        try:
            self._call(
                "richmenu.image.get",
                lambda: self._blob.get_rich_menu_image_with_http_info(
                    rich_menu_id, _request_timeout=max(self.timeout, 30.0)
                ),
                expected=NO_SUCH_THING,
            )
        except LineApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def list_rich_menus(self) -> list[dict[str, Any]]:
        response = self._call(
            "richmenu.list",
            lambda: self._api.get_rich_menu_list_with_http_info(_request_timeout=self.timeout),
        )
        return [menu.to_dict() for menu in response.data.richmenus or []]

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        self._call(
            "richmenu.delete",
            lambda: self._api.delete_rich_menu_with_http_info(
                rich_menu_id, _request_timeout=self.timeout
            ),
        )

    def default_rich_menu_id(self) -> str | None:
        try:
            response = self._call(
                "richmenu.default.get",
                lambda: self._api.get_default_rich_menu_id_with_http_info(
                    _request_timeout=self.timeout
                ),
                expected=NO_SUCH_THING,
            )
        except LineApiError as exc:
            if exc.status == 404:
                return None
            raise
        return response.data.rich_menu_id

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        self._call(
            "richmenu.default",
            lambda: self._api.set_default_rich_menu_with_http_info(
                rich_menu_id, _request_timeout=self.timeout
            ),
        )

    def link_rich_menu(self, user_id: str, rich_menu_id: str) -> None:
        self._call(
            "richmenu.link",
            lambda: self._api.link_rich_menu_id_to_user_with_http_info(
                user_id, rich_menu_id, _request_timeout=self.timeout
            ),
        )

    def link_rich_menu_to_users(self, rich_menu_id: str, user_ids: Sequence[str]) -> None:
        """Bulk link (1-500 user IDs a call)."""
        ids = _bulk_ids(user_ids, self.RICH_MENU_BULK_LIMIT)
        request = RichMenuBulkLinkRequest(richMenuId=rich_menu_id, userIds=ids)
        self._call(
            "richmenu.bulk.link",
            lambda: self._api.link_rich_menu_id_to_users_with_http_info(
                request, _request_timeout=self.timeout
            ),
        )

    def unlink_rich_menu_from_users(self, user_ids: Sequence[str]) -> None:
        """Bulk unlink (1-500 user IDs a call): they see the default menu again."""
        ids = _bulk_ids(user_ids, self.RICH_MENU_BULK_LIMIT)
        request = RichMenuBulkUnlinkRequest(userIds=ids)
        self._call(
            "richmenu.bulk.unlink",
            lambda: self._api.unlink_rich_menu_id_from_users_with_http_info(
                request, _request_timeout=self.timeout
            ),
        )

    def rich_menu_aliases(self) -> dict[str, str]:
        """alias id -> rich menu id."""
        response = self._call(
            "richmenu.alias.list",
            lambda: self._api.get_rich_menu_alias_list_with_http_info(
                _request_timeout=self.timeout
            ),
        )
        return {a.rich_menu_alias_id: a.rich_menu_id for a in response.data.aliases or []}

    def create_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        request = CreateRichMenuAliasRequest(richMenuAliasId=alias_id, richMenuId=rich_menu_id)
        self._call(
            "richmenu.alias.create",
            lambda: self._api.create_rich_menu_alias_with_http_info(
                request, _request_timeout=self.timeout
            ),
        )

    def update_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        request = UpdateRichMenuAliasRequest(richMenuId=rich_menu_id)
        self._call(
            "richmenu.alias.update",
            lambda: self._api.update_rich_menu_alias_with_http_info(
                alias_id, request, _request_timeout=self.timeout
            ),
        )

    def delete_rich_menu_alias(self, alias_id: str) -> None:
        self._call(
            "richmenu.alias.delete",
            lambda: self._api.delete_rich_menu_alias_with_http_info(
                alias_id, _request_timeout=self.timeout
            ),
        )


def _bulk_ids(user_ids: Sequence[str], limit: int) -> list[str]:
    ids = list(dict.fromkeys(user_ids))
    if not 0 < len(ids) <= limit:
        raise ValueError(f"a bulk rich menu call takes 1-{limit} user IDs, not {len(ids)}")
    return ids


class _PinnedHostApiClient(ApiClient):
    """The SDK's blob calls name LINE's DATA API host themselves; send them to ours instead
    (`line_data_api_base_url`: the emulator in development and tests)."""

    def __init__(self, inner: ApiClient) -> None:
        super().__init__(inner.configuration)

    def call_api(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["_host"] = self.configuration.host
        return super().call_api(*args, **kwargs)
