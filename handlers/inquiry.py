"""Inquiries by chat: multi-step forms that file a ticket for the back office.

Read it like python-telegram-bot's ConversationHandler:

    entry points   "問い合わせ" / "申請" (type menu) · postback action=inquiry&type=<type>
    states         STATES = {step: step function}; field steps ask one question and check the
                   answer (FIELDS holds each field's prompt, check and choices), then SUMMARY
                   (送信 / 修正 / やめる) and EDIT_WHICH (which field to correct)
    fallbacks      "戻る" (previous question) · "やめる" (cancel) at every step
    timeout        30 minutes (the router clears an expired form and tells the user)

The state lives in the database (`ctx.conversation`), so a form survives restarts and is
shared by workers. Who may file what: HR contacts the company request types (for their own
company only), employees theirs (lost credentials for their own ID only), and users who are
not linked (or whose membership is not in good standing) a general question. Credentials are
sent only to the company's registered HR contact address, never into the chat; the rule is
enforced again in `models.inquiries.create_inquiry` (`models.credentials`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.dispatch import Context, Input, Router
from bot.messages import Action, Message, message_action, postback_action, text
from bot.textnorm import normalize, normalize_code
from handlers import inquiry_texts as t
from models.companies import find_company, find_member, is_code_shaped, seats_used
from models.company import Company, Member, MemberKind, MemberStatus
from models.inquiries import (
    ANSWER_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
    InquiryType,
    create_inquiry,
    format_jst,
    visible_to_requester,
)

INQUIRY = "inquiry"  # the conversation's name

# Audiences.
HR = "hr_contact"
EMPLOYEE = "employee"
UNLINKED = "unlinked"

# Steps (field steps are named after the answer they collect).
COMPANY_CODE = "company_code"
SEAT_COUNT = "seat_count"
RETIREE_NAME = "retiree_name"
RETIREE_ID = "retiree_member_id"
CREDENTIAL_WHAT = "credential_what"
TARGET_MEMBER_ID = "target_member_id"
NAME = "name"
MEMBER_ID = "member_id"
STOP_DATE = "stop_date"
POINTS_WHEN = "points_when"
DETAIL = "detail"
SUMMARY = "summary"
EDIT_WHICH = "edit_which"

DETAIL_MAX = 1000
MAX_HISTORY = 30
SHORT_MAX = 50

# The forms: which questions each audience answers for each type, in order.
FORMS: dict[str, dict[InquiryType, tuple[str, ...]]] = {
    HR: {
        InquiryType.ADD_SEATS: (SEAT_COUNT,),
        InquiryType.RETIRE: (RETIREE_NAME, RETIREE_ID),
        InquiryType.CREDENTIALS: (CREDENTIAL_WHAT, TARGET_MEMBER_ID),
        InquiryType.STOP_SERVICE: (STOP_DATE, DETAIL),
        InquiryType.OTHER: (DETAIL,),
    },
    EMPLOYEE: {
        InquiryType.POINTS: (POINTS_WHEN, DETAIL),
        InquiryType.CREDENTIALS: (CREDENTIAL_WHAT,),
        InquiryType.OTHER: (DETAIL,),
    },
    UNLINKED: {  # no credentials: nobody can tell who an unlinked user is
        InquiryType.OTHER: (DETAIL,),
    },
}

# Other spellings of types in postback data (the FAQ's buttons use some of them).
TYPE_ALIASES = {"seats": "add_seats", "stop": "stop_service", "question": "other"}


class Invalid(Exception):
    """The answer cannot be accepted; the message says why (shown to the user)."""


@dataclass
class Form:
    """The open form's data, as stored in the conversation row."""

    type: InquiryType
    audience: str
    answers: dict[str, Any]
    history: list[str]

    @classmethod
    def load(cls, data: dict[str, Any]) -> Form:
        return cls(
            InquiryType(data["type"]),
            data["audience"],
            dict(data.get("answers") or {}),
            list(data.get("history") or []),
        )

    def dump(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "audience": self.audience,
            "answers": self.answers,
            "history": self.history,
        }

    @property
    def fields(self) -> tuple[str, ...]:
        return FORMS[self.audience][self.type]

    def applies(self, step: str) -> bool:
        when = FIELDS[step].when
        return when is None or when(self)

    def next_step(self) -> str:
        for step in self.fields:
            if self.applies(step) and step not in self.answers:
                return step
        return SUMMARY

    def drop_inapplicable(self) -> None:
        for step in self.fields:
            if not self.applies(step):
                self.answers.pop(step, None)


# -- who is asking -----------------------------------------------------------------------------


def active_member(ctx: Context) -> Member | None:
    member = ctx.member
    return member if member is not None and member.is_active else None


def audience_of(ctx: Context) -> str:
    member = active_member(ctx)
    if member is None:
        return UNLINKED
    return HR if member.is_hr_contact else EMPLOYEE


def hr_company(ctx: Context) -> Company:
    member = active_member(ctx)
    if member is None or not member.is_hr_contact:
        raise Invalid(t.ERR_NOT_ALLOWED_ANY_MORE)
    return member.company


# -- field prompts and checks ------------------------------------------------------------------


def _typed(value: str, max_chars: int = SHORT_MAX) -> str:
    value = unicodedata.normalize("NFKC", value).strip()
    if not value:
        raise Invalid(t.ERR_EMPTY)
    if len(value) > max_chars:
        raise Invalid(t.ERR_TOO_LONG.format(max=max_chars))
    return value


def check_company_code(ctx: Context, form: Form, value: str) -> str:
    code = normalize_code(value)
    if not is_code_shaped(code) or find_company(ctx.session, code) is None:
        raise Invalid(t.ERR_COMPANY_CODE)
    return code


def _seat_figures(ctx: Context) -> dict[str, int]:
    company = hr_company(ctx)
    used = seats_used(ctx.session, company)
    return {
        "used": used,
        "limit": company.seat_limit,
        "remaining": max(company.seat_limit - used, 0),
    }


def prompt_seat_count(ctx: Context, form: Form) -> str:
    return t.ASK_SEAT_COUNT.format(**_seat_figures(ctx))


def check_seat_count(ctx: Context, form: Form, value: str) -> int:
    digits = unicodedata.normalize("NFKC", value).strip().replace(",", "")
    digits = re.sub(r"(件|個|名|人|つ)$", "", digits).strip()
    if not re.fullmatch(r"\d{1,6}", digits) or int(digits) <= 0:
        raise Invalid(t.ERR_SEAT_NUMBER)
    figures = _seat_figures(ctx)
    if int(digits) > figures["remaining"]:
        raise Invalid(t.ERR_SEAT_LIMIT.format(**figures))
    return int(digits)


def _company_member(ctx: Context, value: str) -> Member:
    key = normalize_code(value)
    if not re.fullmatch(r"[A-Z0-9]{4,32}", key):
        raise Invalid(t.ERR_MEMBER_ID_FORMAT)
    member = find_member(ctx.session, key)
    if member is None or member.company_id != hr_company(ctx).id:
        raise Invalid(t.ERR_MEMBER_NOT_IN_COMPANY)
    if member.status is MemberStatus.RETIRED:
        raise Invalid(t.ERR_MEMBER_ALREADY_RETIRED)
    return member


def check_retiree_id(ctx: Context, form: Form, value: str) -> str:
    member = _company_member(ctx, value)
    if member.kind is MemberKind.HR_CONTACT:
        raise Invalid(t.ERR_MEMBER_IS_HR)
    return member.member_id


def check_credential_what(ctx: Context, form: Form, value: str) -> str:
    typed = normalize(value)
    for label in t.CREDENTIAL_CHOICES.values():
        if typed == normalize(label):
            return label
    raise Invalid(t.ERR_CHOICE)


def check_target_member_id(ctx: Context, form: Form, value: str) -> str:
    if normalize(value) == normalize(t.MYSELF):
        member = active_member(ctx)
        if member is None:
            raise Invalid(t.ERR_NOT_ALLOWED_ANY_MORE)
        return member.member_id
    return _company_member(ctx, value).member_id


def check_member_id(ctx: Context, form: Form, value: str) -> str:
    if normalize(value) == normalize(t.SKIP_UNKNOWN):
        return t.SKIP_UNKNOWN
    key = normalize_code(value)
    if not re.fullmatch(r"[A-Z0-9]{4,32}", key):
        raise Invalid(t.ERR_MEMBER_ID_FORMAT)
    return key


def check_date_text(ctx: Context, form: Form, value: str) -> str:
    value = _typed(value)
    if not re.search(r"\d|今月|来月|月末|即日|至急", value):
        raise Invalid(t.ERR_DATE)
    return value


def check_short(ctx: Context, form: Form, value: str) -> str:
    return _typed(value)


def check_detail(ctx: Context, form: Form, value: str) -> str:
    return _typed(value, DETAIL_MAX)


def prompt_detail(ctx: Context, form: Form) -> str:
    template = {
        InquiryType.STOP_SERVICE: t.ASK_DETAIL_STOP,
        InquiryType.POINTS: t.ASK_DETAIL_POINTS,
    }.get(form.type, t.ASK_DETAIL)
    return template.format(max=DETAIL_MAX)


def _fixed(message: str) -> Callable[[Context, Form], str]:
    return lambda ctx, form: message


@dataclass(frozen=True)
class Field:
    prompt: Callable[[Context, Form], str]
    check: Callable[[Context, Form, str], Any]
    choices: tuple[str, ...] = ()
    when: Callable[[Form], bool] | None = None


def _wants_ids(form: Form) -> bool:
    return form.answers.get(CREDENTIAL_WHAT) != t.CREDENTIAL_CHOICES["company_code"]


FIELDS: dict[str, Field] = {
    COMPANY_CODE: Field(_fixed(t.ASK_COMPANY_CODE), check_company_code),
    SEAT_COUNT: Field(prompt_seat_count, check_seat_count),
    RETIREE_NAME: Field(_fixed(t.ASK_RETIREE_NAME), check_short),
    RETIREE_ID: Field(_fixed(t.ASK_RETIREE_ID), check_retiree_id),
    CREDENTIAL_WHAT: Field(
        _fixed(t.ASK_CREDENTIAL_WHAT),
        check_credential_what,
        tuple(t.CREDENTIAL_CHOICES.values()),
    ),
    TARGET_MEMBER_ID: Field(
        _fixed(t.ASK_TARGET_MEMBER_ID), check_target_member_id, (t.MYSELF,), when=_wants_ids
    ),
    NAME: Field(_fixed(t.ASK_NAME), check_short),
    MEMBER_ID: Field(_fixed(t.ASK_MEMBER_ID), check_member_id, (t.SKIP_UNKNOWN,)),
    STOP_DATE: Field(_fixed(t.ASK_STOP_DATE), check_date_text),
    POINTS_WHEN: Field(_fixed(t.ASK_POINTS_WHEN), check_date_text),
    DETAIL: Field(prompt_detail, check_detail),
}


# -- messages ----------------------------------------------------------------------------------


def _nav() -> list[Action]:
    return [message_action(t.BACK), message_action(t.CANCEL)]


def ask(ctx: Context, form: Form, step: str, prefix: str | None = None) -> list[Message]:
    spec = FIELDS[step]
    body = spec.prompt(ctx, form)
    if not form.history:
        body += "\n" + t.STEP_HINT
    if prefix:
        body = prefix + "\n\n" + body
    return [text(body, quick=[*(message_action(c) for c in spec.choices), *_nav()])]


def summary_messages(form: Form) -> list[Message]:
    lines = [t.SUMMARY_HEAD.format(type=TYPE_LABELS[form.type])]
    for step in form.fields:
        if step in form.answers:
            lines.append(f"{ANSWER_LABELS[step]}：{form.answers[step]}")
    lines.append("")
    lines.append(t.SUMMARY_FOOT)
    return [text("\n".join(lines), quick=_summary_quick())]


def menu(ctx: Context) -> list[Message]:
    audience = audience_of(ctx)
    if audience == HR:
        body = t.MENU_HR
    elif audience == EMPLOYEE:
        body = t.MENU_EMPLOYEE
    elif ctx.member is not None:
        body = t.MENU_INACTIVE
    else:
        body = t.MENU_UNLINKED
    quick: list[Action] = [
        postback_action(
            t.TYPE_MENU_LABELS[kind.value],
            f"action=inquiry&type={kind.value}",
            t.TYPE_MENU_LABELS[kind.value],
        )
        for kind in FORMS[audience]
    ]
    quick.append(message_action(t.STATUS_LABEL))
    return [text(body, quick=quick)]


# -- the steps ---------------------------------------------------------------------------------

StepFn = Callable[[Context, Form, str, str], list[Message]]


def _go(ctx: Context, form: Form, current: str, step: str) -> list[Message]:
    """Move from `current` to `step`, remembering where we were (for 戻る)."""
    if current != step:
        form.history = [*form.history, current][-MAX_HISTORY:]
    ctx.conversation.advance(step, form.dump())
    if step == SUMMARY:
        return summary_messages(form)
    if step == EDIT_WHICH:
        return edit_which_messages(form)
    return ask(ctx, form, step)


def field_step(ctx: Context, form: Form, step: str, value: str) -> list[Message]:
    """One question: check the answer, then ask the next question (or show the summary)."""
    try:
        form.answers[step] = FIELDS[step].check(ctx, form, value)
    except Invalid as exc:
        return ask(ctx, form, step, prefix=str(exc))
    form.drop_inapplicable()
    return _go(ctx, form, step, form.next_step())


def summary_step(ctx: Context, form: Form, step: str, value: str) -> list[Message]:
    word = normalize(value)
    if word == normalize(t.SUBMIT):
        return submit(ctx, form)
    if word == normalize(t.EDIT):
        return _go(ctx, form, step, EDIT_WHICH)
    return [text(t.ERR_CHOICE, quick=_summary_quick())]


def _summary_quick() -> list[Action]:
    return [message_action(t.SUBMIT), message_action(t.EDIT), message_action(t.CANCEL)]


def _editable(form: Form) -> list[str]:
    return [s for s in form.fields if s in form.answers]


def edit_which_messages(form: Form, prefix: str | None = None) -> list[Message]:
    quick = [message_action(ANSWER_LABELS[s]) for s in _editable(form)]
    body = f"{prefix}\n{t.ASK_EDIT_WHICH}" if prefix else t.ASK_EDIT_WHICH
    return [text(body, quick=[*quick, *_nav()])]


def edit_which_step(ctx: Context, form: Form, step: str, value: str) -> list[Message]:
    word = normalize(value)
    for field in _editable(form):
        if word == normalize(ANSWER_LABELS[field]):
            form.history.append(step)
            ctx.conversation.advance(field, form.dump())
            return ask(ctx, form, field)
    return edit_which_messages(form, prefix=t.ERR_CHOICE)


# The conversation's states: {step: step function}.
STATES: dict[str, StepFn] = {
    COMPANY_CODE: field_step,
    SEAT_COUNT: field_step,
    RETIREE_NAME: field_step,
    RETIREE_ID: field_step,
    CREDENTIAL_WHAT: field_step,
    TARGET_MEMBER_ID: field_step,
    NAME: field_step,
    MEMBER_ID: field_step,
    STOP_DATE: field_step,
    POINTS_WHEN: field_step,
    DETAIL: field_step,
    SUMMARY: summary_step,
    EDIT_WHICH: edit_which_step,
}


# -- fallbacks ---------------------------------------------------------------------------------


def cancel(ctx: Context) -> list[Message]:
    ctx.conversation.clear()
    return [text(t.CANCELLED, quick=[message_action("問い合わせ"), message_action("使い方")])]


def back(ctx: Context, form: Form, step: str) -> list[Message]:
    if not form.history:
        return ask(ctx, form, step, prefix=t.BACK_AT_START)
    previous = form.history.pop()
    if previous in FIELDS and step not in (SUMMARY, EDIT_WHICH) and previous in form.fields:
        # Going back in the normal order: that answer and every later one are asked again.
        order = form.fields
        for later in order[order.index(previous) :]:
            form.answers.pop(later, None)
    ctx.conversation.advance(previous, form.dump())
    if previous == SUMMARY:
        return summary_messages(form)
    if previous == EDIT_WHICH:
        return edit_which_messages(form)
    return ask(ctx, form, previous)


# -- entry points ------------------------------------------------------------------------------


def show_menu(ctx: Context, user_input: Input) -> list[Message]:
    if _in_form(ctx):
        ctx.conversation.clear()
    return menu(ctx)


def _in_form(ctx: Context) -> bool:
    current = ctx.conversation.current()
    return current is not None and current.name == INQUIRY


def start_form(ctx: Context, user_input: Input) -> list[Message]:
    """Postback action=inquiry[&type=<type>]: start that form if this user may file it."""
    raw = user_input.params.get("type", "")
    raw = TYPE_ALIASES.get(raw, raw)
    audience = audience_of(ctx)
    try:
        kind = InquiryType(raw)
    except ValueError:
        return menu(ctx)
    if kind not in FORMS[audience]:
        refusal = t.CREDENTIALS_NOT_ALLOWED if kind is InquiryType.CREDENTIALS else None
        return [text(refusal or t.TYPE_NOT_ALLOWED)] + menu(ctx)
    if kind is InquiryType.ADD_SEATS:
        figures = _seat_figures(ctx)
        if figures["remaining"] <= 0:
            return [text(t.ERR_NO_SEATS_LEFT.format(**figures))] + menu(ctx)
    form = Form(kind, audience, {}, [])
    first = form.next_step()
    ctx.conversation.start(INQUIRY, first, form.dump())
    return ask(ctx, form, first)


def submit(ctx: Context, form: Form) -> list[Message]:
    """送信: re-check who is asking, file the ticket, give the number."""
    if audience_of(ctx) != form.audience:
        ctx.conversation.clear()
        return [text(t.ERR_NOT_ALLOWED_ANY_MORE)]
    for step in (SEAT_COUNT, RETIREE_ID):  # answers that depend on the company's state now
        if step not in form.answers:
            continue
        try:
            FIELDS[step].check(ctx, form, str(form.answers[step]))
        except Invalid as exc:
            form.answers.pop(step)
            ctx.conversation.advance(step, form.dump())
            return ask(ctx, form, step, prefix=str(exc))
    member = active_member(ctx)
    answers = {s: form.answers[s] for s in form.fields if s in form.answers}
    if form.type is InquiryType.CREDENTIALS and form.audience == EMPLOYEE and member:
        answers[TARGET_MEMBER_ID] = member.member_id
    inquiry = create_inquiry(
        ctx.session,
        ctx.clock,
        type=form.type,
        line_user_id=ctx.line_user_id,
        member=member if form.audience != UNLINKED else None,
        answers=answers,
        company_code=answers.get(COMPANY_CODE),
        console_url=ctx.settings.public_base_url,
    )
    ctx.conversation.clear()
    note = t.CREDENTIALS_DELIVERY if form.type is InquiryType.CREDENTIALS else ""
    return [
        text(
            t.SUBMITTED.format(number=inquiry.number) + note,
            quick=[message_action(t.STATUS_LABEL), message_action("使い方")],
        )
    ]


def inquiry_conversation(ctx: Context, user_input: Input) -> list[Message] | None:
    current = ctx.conversation.current()
    assert current is not None
    if user_input.kind == "postback":
        if user_input.action == "inquiry":
            return start_form(ctx, user_input)
        return None  # another feature's button: let its handler answer; the form stays open
    word = user_input.normalized
    if word == normalize(t.CANCEL):
        return cancel(ctx)
    if word in {normalize(w) for w in t.ENTRY_WORDS}:
        return show_menu(ctx, user_input)
    if word in {normalize(w) for w in t.STATUS_WORDS}:
        return status(ctx, user_input)
    try:
        form = Form.load(current.data)
    except (KeyError, ValueError):
        ctx.conversation.clear()
        return menu(ctx)
    if word == normalize(t.BACK):
        return back(ctx, form, current.step)
    step_fn = STATES.get(current.step)
    if step_fn is None:
        ctx.conversation.clear()
        return menu(ctx)
    return step_fn(ctx, form, current.step, user_input.text)


# -- 問い合わせ状況 ------------------------------------------------------------------------------


def status(ctx: Context, user_input: Input) -> list[Message]:
    member = active_member(ctx)
    tickets = visible_to_requester(ctx.session, line_user_id=ctx.line_user_id, member=member)
    quick = [message_action("問い合わせ"), message_action("使い方")]
    if not tickets:
        return [text(t.STATUS_NONE, quick=quick)]
    head = t.STATUS_HEAD_HR if member is not None and member.is_hr_contact else t.STATUS_HEAD
    lines = [head]
    for ticket in tickets[:20]:
        lines.append(
            t.STATUS_LINE.format(
                number=ticket.number,
                type=TYPE_LABELS[ticket.type],
                status=STATUS_LABELS[ticket.status],
                date=format_jst(ticket.created_at)[:10],
            )
        )
    return [text("\n".join(lines), quick=quick)]


def register(router: Router) -> None:
    router.conversation(INQUIRY)(inquiry_conversation)
    router.keyword(*t.ENTRY_WORDS)(show_menu)
    router.keyword(*t.STATUS_WORDS)(status)
    router.postback("inquiry")(start_form)
    router.postback("inquiry_status")(status)
    router.on_intent("inquiry_menu")(show_menu)
    router.on_intent("inquiry_status")(status)
