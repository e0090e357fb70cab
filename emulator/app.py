"""Flask app of the LINE platform emulator.

Hooks shared by every LINE endpoint (`/v2/...`, `/dialog/...`, LINE Login's `/oauth2/...`): a
request id on every response (`x-line-request-id`), injected faults, bearer-token
authentication (`/v2/` only) and recording of each call. Endpoints live in blueprints; add new
ones (e.g. rich menus) to `API_BLUEPRINTS` and they get the same treatment.

A fault (see `emulator.state.Fault`) applies before handling (`_line_front`: delay, then the
fault's status instead of handling) or after it (`_line_back`: the endpoint has done its work;
the call is recorded at once, then the answer waits out the delay, with the fault's status in
place of the endpoint's when one is given).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from flask.typing import ResponseReturnValue

from emulator.common import AUTH_FAILED, EXTENSION_KEY, fault_message, line_error
from emulator.control import control_api
from emulator.liff import liff_api
from emulator.messaging import messaging_api
from emulator.pages import pages
from emulator.richmenu import richmenu_api, richmenu_control
from emulator.state import FAULT_AFTER, EmulatorState, Fault, RecordedCall

STATIC_DIR = Path(__file__).with_name("static")

# Blueprints serving LINE's own endpoints (authenticated, faultable, recorded).
API_BLUEPRINTS: list[Blueprint] = [messaging_api, richmenu_api]
RECORDED_HEADERS = ("X-Line-Retry-Key", "Content-Type")


def is_line_api(path: str) -> bool:
    return path.startswith(("/v2/", "/dialog/", "/oauth2/"))


def create_emulator_app(state: EmulatorState) -> Flask:
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/_emulator/static")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = state

    @app.before_request
    def _line_front() -> ResponseReturnValue | None:
        g.line_request_id = str(uuid.uuid4())
        g.line_started = time.time()
        g.line_fault = None
        if not is_line_api(request.path):
            return None
        fault = state.take_fault(request.path)
        g.line_fault = fault
        if fault is not None and fault.when != FAULT_AFTER:
            if fault.delay > 0:
                time.sleep(fault.delay)
            if fault.status:
                return line_error(fault.status, fault_message(fault.status))
        if request.path.startswith("/v2/"):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not state.token_is_valid(token.strip()):
                return line_error(401, AUTH_FAILED)
        return None

    @app.after_request
    def _line_back(response: Response) -> Response:
        request_id = getattr(g, "line_request_id", None) or str(uuid.uuid4())
        if not is_line_api(request.path):
            response.headers["x-line-request-id"] = request_id
            return response
        fault: Fault | None = getattr(g, "line_fault", None)
        late = fault if fault is not None and fault.when == FAULT_AFTER else None
        handled_status = response.status_code
        if late is not None and late.status:
            # The endpoint has done its work; the client is told otherwise.
            response = app.make_response(line_error(late.status, fault_message(late.status)))
        response.headers["x-line-request-id"] = request_id
        headers = {h: request.headers[h] for h in RECORDED_HEADERS if h in request.headers}
        state.record(
            RecordedCall(
                method=request.method,
                path=request.path,
                query=dict(request.args),
                headers=headers,
                body=request.get_json(silent=True) or (dict(request.form) or None),
                status=response.status_code,
                at=getattr(g, "line_started", time.time()),
                request_id=request_id,
                fault=_fault_record(fault, handled_status),
            )
        )
        if late is not None and late.delay > 0:
            # Recorded before the wait: a client's retry that overtakes this answer (it timed
            # out) is recorded after it, in the order LINE handled them.
            time.sleep(late.delay)
        return response

    for blueprint in API_BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_blueprint(control_api)
    app.register_blueprint(richmenu_control)
    app.register_blueprint(pages)
    app.register_blueprint(liff_api)
    return app


def _fault_record(fault: Fault | None, handled_status: int) -> dict[str, Any] | None:
    """What a recorded call says about the fault it met (None when it met none)."""
    if fault is None:
        return None
    record: dict[str, Any] = {"status": fault.status, "delay": fault.delay, "when": fault.when}
    if fault.when == FAULT_AFTER:
        record["handled_status"] = handled_status
    return record
