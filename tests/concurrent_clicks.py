"""A double click, made real: the same form POSTed n times at once, each from its own
connection with the same login cookie (the console's race tests)."""

from __future__ import annotations

import threading
from typing import Any

import requests


def post_at_once(
    browser: requests.Session, url: str, form: dict[str, str], n: int, *, allow_redirects=True
) -> list[Any]:
    """Each result is the response, or the requests exception (reported, never swallowed)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def click(i: int) -> None:
        with requests.Session() as own:
            own.cookies.update(browser.cookies)
            barrier.wait()
            try:
                results[i] = own.post(url, data=form, timeout=60, allow_redirects=allow_redirects)
            except requests.RequestException as exc:
                results[i] = exc

    threads = [threading.Thread(target=click, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
