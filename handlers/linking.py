"""Account linking (LINE's account-link flow), unlinking, link info and company info.

Conversations, in the manner of python-telegram-bot's ConversationHandler (state in the DB):

    LINKING  a declared chat.flows.Flow: entry 連携 / ログイン / アカウント連携 / action=link
             ASK_CODE: company code → link token → button to the login page
             cancel (やめる, キャンセル, … / postback action=link_cancel) by the framework
    UNLINK   in handlers.unlink (a declared chat.flows.Flow)

The login button opens the login page (`bot.linking_page`) as a LIFF app: the URL carries no
secret, the page learns from LINE whose browser it is and finds that user's link request. It
checks the password and sends the browser to LINE, which sends the `accountLink` event handled
by `account_link` here. A new request, a cancel or an unlink closes the user's older ones.
"""

from __future__ import annotations

from chat.flows import End, Entry, Flow, Leave, Outcome, Question, Stay, Step, Turn, register_flow
from chat.messages import (
    Message,
    buttons,
    message_action,
    postback_action,
    text,
    uri_action,
)
from chat.router import Context, Input, Router
from common.textnorm import normalize_code
from handlers import linking_texts as t
from handlers.member_status import require_hr_contact
from models import companies, link_requests
from models.companies import CompanyError, LinkError
from models.timeutil import to_jst

LINKING = "linking"
ASK_CODE = "ask_code"

MAX_CODE_TRIES = 3
MAX_LISTED_MEMBERS = 30
LINK_WORDS = ("連携", "ログイン", "アカウント連携", "連携する")
LIFF_URL = "https://liff.line.me/{liff_id}"


def login_url(ctx: Context) -> str | None:
    """The login page's LIFF URL (no secret in it), or None while LIFF is not configured."""
    settings = ctx.settings
    if not (settings.liff_id and settings.line_login_channel_id):
        return None
    return LIFF_URL.format(liff_id=settings.liff_id)


def _cancel_quick() -> list[dict]:
    return [postback_action(t.CANCEL_LABEL, "action=link_cancel", t.CANCEL_LABEL)]


# -- LINKING (a declared chat.flows.Flow) --------------------------------------------------


def start_linking(ctx: Context, user_input: Input) -> list[Message]:
    """Entry point: ask for the company code (or say the account is already linked)."""
    member = ctx.member
    if member is not None:
        return [
            text(
                t.ALREADY_LINKED.format(member_id=member.member_id),
                quick=[message_action("連携情報"), message_action("連携解除")],
            )
        ]
    if login_url(ctx) is None:
        return [text(t.LINKING_UNAVAILABLE)]
    # A new attempt: login pages opened for an older one link nothing any more.
    link_requests.close_open_requests(ctx.session, ctx.clock.now(), ctx.line_user_id)
    return LINKING_FLOW.start(ctx, ASK_CODE, {"tries": 0})


def code_question(turn: Turn) -> Question:
    return Question(t.ASK_CODE, _cancel_quick())


def ask_code(turn: Turn) -> Outcome:
    """ASK_CODE: the company code in any form a phone produces."""
    if turn.input.kind == "postback":  # link_cancel, the step's own button
        return End(cancelled(turn.ctx))
    code = normalize_code(turn.text)
    if not code.isascii():
        return Leave()  # the user moved on (e.g. "残高"): let the router answer
    ctx = turn.ctx
    try:
        company = companies.company_for_linking(ctx.session, code)
    except CompanyError as exc:
        if exc.code == "company_inactive":
            return End([text(t.COMPANY_INACTIVE)])
        tries = int(turn.data.get("tries", 0)) + 1
        if tries >= MAX_CODE_TRIES:
            return End([text(t.CODE_GIVE_UP)])
        turn.data["tries"] = tries
        return Stay(t.CODE_UNKNOWN if exc.code == "unknown_company" else t.CODE_FORMAT)
    url = login_url(ctx)
    if url is None:
        return End([text(t.LINKING_UNAVAILABLE)])
    link_requests.register_link_request(
        ctx.session, ctx.clock, line_user_id=ctx.line_user_id, company_code=company.code
    )
    # The page asks LINE for the link token when it is opened: no LINE call here.
    return End(
        [
            buttons(
                t.LOGIN_BUTTON_ALT,
                t.LOGIN_BUTTON_BODY.format(company=company.name)[:160],
                [uri_action(t.LOGIN_BUTTON_LABEL, url)],
            )
        ]
    )


def cancelled(ctx: Context) -> list[Message]:
    """Login pages opened before the cancel link nothing."""
    link_requests.close_open_requests(ctx.session, ctx.clock.now(), ctx.line_user_id)
    return [text(t.CANCELLED)]


def cancel_linking(ctx: Context, user_input: Input) -> list[Message]:
    """The cancel button tapped after the flow ended (stale): say it is cancelled."""
    return cancelled(ctx)


LINKING_FLOW = Flow(
    name=LINKING,
    states={
        ASK_CODE: Step(code_question, ask_code, postbacks=frozenset({"link_cancel"}), nav=False)
    },
    entry_points=[
        Entry(start_linking, keywords=LINK_WORDS, postbacks=("link",)),
        Entry(cancel_linking, postbacks=("link_cancel",)),
    ],
    cancelled=cancelled,
    hint=None,
)


# -- the accountLink event -----------------------------------------------------------------

_LINK_ERRORS = {
    "member_linked_elsewhere": t.LINK_MEMBER_ELSEWHERE,
    "line_user_linked_elsewhere": t.LINK_SELF_ELSEWHERE,
    "company_inactive": t.LINK_INACTIVE,
    "member_retired": t.LINK_INACTIVE,
}


def account_link(ctx: Context) -> list[Message]:
    """LINE's accountLink event: link on `ok` with a valid nonce; otherwise link nothing."""
    link = ctx.event.get("link") or {}
    try:
        member = companies.complete_link(
            ctx.session,
            ctx.clock,
            line_user_id=ctx.line_user_id,
            nonce=str(link.get("nonce") or ""),
            ok=link.get("result") == "ok",
        )
    except LinkError as exc:
        return [text(_LINK_ERRORS.get(exc.code, t.LINK_FAILED))]
    ctx.line_user.member = member  # keep the context's view in step with the session
    hint = t.LINKED_HR_HINT if member.is_hr_contact else t.LINKED_MEMBER_HINT
    quick = (
        [message_action("企業情報"), message_action("連携情報")]
        if member.is_hr_contact
        else [message_action("残高"), message_action("連携情報")]
    )
    return [
        text(t.LINKED.format(company=member.company.name, member_id=member.member_id)),
        text(hint, quick=quick),
    ]


# -- info ----------------------------------------------------------------------------------


def link_info(ctx: Context, user_input: Input) -> list[Message]:
    member = ctx.member
    if member is None:
        return [text(t.NOT_LINKED, quick=[message_action(t.LINK_LABEL, "連携")])]
    linked_at = ctx.line_user.linked_at
    return [
        text(
            t.LINK_INFO.format(
                company=member.company.name,
                member_id=member.member_id,
                kind=t.KIND_HR if member.is_hr_contact else t.KIND_EMPLOYEE,
                linked_at=to_jst(linked_at).strftime("%Y/%m/%d %H:%M") if linked_at else "-",
            ),
            quick=[message_action("連携解除")],
        )
    ]


def company_info(ctx: Context, user_input: Input) -> list[Message]:
    """HR contacts: seats used / plan limit, linked members."""
    refused = require_hr_contact(ctx)
    if refused is not None:
        return refused
    assert ctx.member is not None
    summary = companies.company_summary(ctx.session, ctx.member.company)
    messages = [
        text(
            t.COMPANY_INFO.format(
                company=summary.name,
                code=summary.code,
                status=t.COMPANY_STATUS.get(summary.status.value, summary.status.value),
                used=summary.seats_used,
                limit=summary.seat_limit,
                linked=len(summary.linked_member_ids),
            )
        )
    ]
    if summary.linked_member_ids:
        shown = summary.linked_member_ids[:MAX_LISTED_MEMBERS]
        ids = "\n".join(shown)
        rest = len(summary.linked_member_ids) - len(shown)
        if rest > 0:
            ids += "\n" + t.COMPANY_INFO_MORE.format(count=rest)
        messages.append(text(t.COMPANY_INFO_LINKED_IDS.format(ids=ids)))
    return messages


def register(router: Router) -> None:
    register_flow(router, LINKING_FLOW)
    router.keyword("連携情報", "連携状況")(link_info)
    router.postback("link_info")(link_info)
    router.keyword("企業情報")(company_info)
    router.postback("company_info")(company_info)
    router.on_event("accountLink")(account_link)
    router.on_intent("link")(start_linking)
    router.on_intent("link_status")(link_info)
    router.on_intent("company_info")(company_info)
