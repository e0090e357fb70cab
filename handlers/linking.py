"""Account linking (LINE's account-link flow), unlinking, link info and company info.

Conversations, in the manner of python-telegram-bot's ConversationHandler (state in the DB):

    LINKING  entry: 連携 / ログイン / アカウント連携 / postback action=link
             ASK_CODE: company code → link token → button to the login page
             fallbacks: やめる / postback action=link_cancel
    UNLINK   entry: 連携解除 / postback action=unlink
             CONFIRM: はい (postback answer=yes) → unlinked; いいえ → kept

The login button opens the login page (`bot.linking_page`) as a LIFF app: the URL carries no
secret, the page learns from LINE whose browser it is and finds that user's link request. It
checks the password and sends the browser to LINE, which sends the `accountLink` event handled
by `account_link` here. A new request, a cancel or an unlink closes the user's older ones.
"""

from __future__ import annotations

from bot.dispatch import Context, Input, Router
from bot.messages import (
    Message,
    buttons,
    confirm,
    message_action,
    postback_action,
    text,
    uri_action,
)
from bot.textnorm import normalize, normalize_code
from handlers import linking_texts as t
from handlers.member_status import require_hr_contact
from models import companies, link_requests
from models.companies import CompanyError, LinkError
from models.timeutil import to_jst

LINKING = "linking"
ASK_CODE = "ask_code"
UNLINK = "unlink"
CONFIRM = "confirm"

MAX_CODE_TRIES = 3
MAX_LISTED_MEMBERS = 30
LINK_WORDS = ("連携", "ログイン", "アカウント連携", "連携する")
CANCEL_WORDS = frozenset(normalize(w) for w in ("やめる", "キャンセル", "中止", "やめます"))
YES_WORDS = frozenset(normalize(w) for w in ("はい", "解除する", "yes"))
NO_WORDS = frozenset(normalize(w) for w in ("いいえ", "キャンセル", "やめる", "no"))
LIFF_URL = "https://liff.line.me/{liff_id}"


def login_url(ctx: Context) -> str | None:
    """The login page's LIFF URL (no secret in it), or None while LIFF is not configured."""
    settings = ctx.settings
    if not (settings.liff_id and settings.line_login_channel_id):
        return None
    return LIFF_URL.format(liff_id=settings.liff_id)


def _cancel_quick() -> list[dict]:
    return [postback_action(t.CANCEL_LABEL, "action=link_cancel", t.CANCEL_LABEL)]


# -- LINKING -------------------------------------------------------------------------------


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
    ctx.conversation.start(LINKING, ASK_CODE, {"tries": 0})
    return [text(t.ASK_CODE, quick=_cancel_quick())]


def ask_code(ctx: Context, user_input: Input) -> list[Message] | None:
    """ASK_CODE: the company code in any form a phone produces."""
    if user_input.kind == "postback":
        if user_input.action == "link_cancel":
            return cancel_linking(ctx, user_input)
        return None  # another button: not for this step
    if user_input.normalized in CANCEL_WORDS:
        return cancel_linking(ctx, user_input)
    code = normalize_code(user_input.text)
    if not code.isascii():
        ctx.conversation.clear()  # the user moved on (e.g. "残高"): let the router answer
        return None
    try:
        company = companies.company_for_linking(ctx.session, code)
    except CompanyError as exc:
        if exc.code == "company_inactive":
            ctx.conversation.clear()
            return [text(t.COMPANY_INACTIVE)]
        return _wrong_code(ctx, exc.code)
    url = login_url(ctx)
    ctx.conversation.clear()
    if url is None:
        return [text(t.LINKING_UNAVAILABLE)]
    link_requests.register_link_request(
        ctx.session, ctx.clock, line_user_id=ctx.line_user_id, company_code=company.code
    )
    # The page asks LINE for the link token when it is opened: no LINE call here.
    return [
        buttons(
            t.LOGIN_BUTTON_ALT,
            t.LOGIN_BUTTON_BODY.format(company=company.name)[:160],
            [uri_action(t.LOGIN_BUTTON_LABEL, url)],
        )
    ]


def _wrong_code(ctx: Context, reason: str) -> list[Message]:
    conversation = ctx.conversation.current()
    tries = int((conversation.data if conversation else {}).get("tries", 0)) + 1
    if tries >= MAX_CODE_TRIES:
        ctx.conversation.clear()
        return [text(t.CODE_GIVE_UP)]
    ctx.conversation.advance(ASK_CODE, {"tries": tries})
    body = t.CODE_UNKNOWN if reason == "unknown_company" else t.CODE_FORMAT
    return [text(body, quick=_cancel_quick())]


def cancel_linking(ctx: Context, user_input: Input) -> list[Message]:
    """Fallback: leave the linking conversation; login pages opened before link nothing."""
    link_requests.close_open_requests(ctx.session, ctx.clock.now(), ctx.line_user_id)
    current = ctx.conversation.current()
    if current is not None and current.name == LINKING:
        ctx.conversation.clear()
    return [text(t.CANCELLED)]


def linking_conversation(ctx: Context, user_input: Input) -> list[Message] | None:
    conversation = ctx.conversation.current()
    step = conversation.step if conversation else None
    if step == ASK_CODE:
        return ask_code(ctx, user_input)
    ctx.conversation.clear()
    return None


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


# -- UNLINK --------------------------------------------------------------------------------


def start_unlink(ctx: Context, user_input: Input) -> list[Message]:
    """Entry point: ask for confirmation."""
    member = ctx.member
    if member is None:
        return [text(t.NOT_LINKED, quick=[message_action(t.LINK_LABEL, "連携")])]
    ctx.conversation.start(UNLINK, CONFIRM)
    return [
        confirm(
            t.UNLINK_CONFIRM_ALT,
            t.UNLINK_CONFIRM.format(member_id=member.member_id),
            postback_action(t.UNLINK_YES, "action=unlink&answer=yes", t.UNLINK_YES),
            postback_action(t.UNLINK_NO, "action=unlink&answer=no", t.UNLINK_NO),
        )
    ]


def confirm_unlink(ctx: Context, user_input: Input) -> list[Message] | None:
    """CONFIRM: yes unlinks, no keeps the link; anything else leaves the conversation."""
    if user_input.kind == "postback":
        if user_input.action != "unlink":
            return None
        answer = user_input.params.get("answer")
    else:
        word = user_input.normalized
        answer = "yes" if word in YES_WORDS else "no" if word in NO_WORDS else None
    ctx.conversation.clear()
    if answer == "yes":
        member = companies.unlink(ctx.session, ctx.clock, ctx.line_user_id)
        if member is None:
            return [text(t.NOT_LINKED, quick=[message_action(t.LINK_LABEL, "連携")])]
        ctx.session.refresh(ctx.line_user)
        return [text(t.UNLINKED)]
    if answer == "no":
        return [text(t.UNLINK_KEPT)]
    return None


def unlink_conversation(ctx: Context, user_input: Input) -> list[Message] | None:
    conversation = ctx.conversation.current()
    if conversation is not None and conversation.step == CONFIRM:
        return confirm_unlink(ctx, user_input)
    ctx.conversation.clear()
    return None


def unlink_postback(ctx: Context, user_input: Input) -> list[Message]:
    """A confirmation button tapped outside its conversation (stale): ask again, or say no."""
    if user_input.params.get("answer") == "no":
        return [text(t.UNLINK_KEPT)]
    return start_unlink(ctx, user_input)


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
    router.conversation(LINKING)(linking_conversation)
    router.conversation(UNLINK)(unlink_conversation)
    router.keyword(*LINK_WORDS)(start_linking)
    router.postback("link")(start_linking)
    router.postback("link_cancel")(cancel_linking)
    router.keyword("連携解除", "連携を解除", "連携解除する")(start_unlink)
    router.postback("unlink")(unlink_postback)
    router.keyword("連携情報", "連携状況")(link_info)
    router.postback("link_info")(link_info)
    router.keyword("企業情報")(company_info)
    router.postback("company_info")(company_info)
    router.on_event("accountLink")(account_link)
    router.on_intent("link")(start_linking)
    router.on_intent("unlink")(start_unlink)
    router.on_intent("link_status")(link_info)
    router.on_intent("company_info")(company_info)
