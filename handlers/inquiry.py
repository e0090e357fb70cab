"""Inquiries by chat: multi-step forms that file a ticket for the back office.

Declared as a `chat.flows.Flow` (python-telegram-bot's ConversationHandler, state in the DB):

    entry points   "問い合わせ" / "申請" (type menu) · postback action=inquiry&type=<type>
    states         one step per field (FIELDS in handlers.inquiry_fields: prompt, check and
                   choices), then SUMMARY (送信 / 修正) and EDIT_WHICH (which field to correct)
    fallbacks      the entry words (back to the menu) and "問い合わせ状況"
    framework      cancel, back, help, start over, stickers and timeout (30 minutes)

The state lives in the database (`ctx.conversation`), so a form survives restarts and is
shared by workers. Who may file what: HR contacts the company request types (for their own
company only), employees theirs (lost credentials for their own ID only), and users who are
not linked (or whose membership is not in good standing) a general question. Credentials are
sent only to the company's registered HR contact address, never into the chat; the rule is
enforced again in `models.inquiries.create_inquiry` (`models.credentials`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chat.flows import END, End, Entry, Flow, Go, Outcome, Question, Stay, Step, Turn, register_flow
from chat.messages import Action, Message, message_action, postback_action, text
from chat.router import Context, Input, Router
from common.textnorm import normalize
from handlers import inquiry_texts as t
from handlers.inquiry_fields import (
    COMPANY_CODE,
    CREDENTIAL_WHAT,
    DETAIL,
    EMPLOYEE,
    FIELDS,
    HR,
    POINTS_WHEN,
    RETIREE_ID,
    RETIREE_NAME,
    SEAT_COUNT,
    STOP_DATE,
    TARGET_MEMBER_ID,
    UNLINKED,
    Accepted,
    Invalid,
    active_member,
    audience_of,
    seat_figures,
)
from handlers.ticket_reply import append_actions
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
SUMMARY = "summary"
EDIT_WHICH = "edit_which"

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


@dataclass
class Form:
    """The open form's data, as stored in the conversation row."""

    type: InquiryType
    audience: str
    answers: dict[str, Any]

    @classmethod
    def load(cls, data: dict[str, Any]) -> Form:
        return cls(InquiryType(data["type"]), data["audience"], dict(data.get("answers") or {}))

    def dump(self) -> dict[str, Any]:
        return {"type": self.type.value, "audience": self.audience, "answers": self.answers}

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


# -- the steps ---------------------------------------------------------------------------------


def _form(turn: Turn) -> Form:
    return Form.load(turn.data)


def _save(turn: Turn, form: Form) -> None:
    turn.data.clear()
    turn.data.update(form.dump())


def _field_question(step: str) -> Callable[[Turn], Question]:
    def ask(turn: Turn) -> Question:
        form = _form(turn)
        spec = FIELDS[step]
        return Question(spec.prompt(turn.ctx, form), spec.choices(turn.ctx, form))

    return ask


def _field_answer(step: str) -> Callable[[Turn], Outcome]:
    """One question: check the answer, then go to the next question (or the summary)."""

    def answer(turn: Turn) -> Outcome:
        form = _form(turn)
        spec = FIELDS[step]
        if turn.input.kind == "postback":  # the date picker: LINE sends params.date
            value = str(turn.input.postback_params.get("date") or "")
        else:
            value = turn.text
        try:
            checked = spec.check(turn.ctx, form, value)
        except Invalid as exc:
            return Stay(str(exc))
        notice = None
        if isinstance(checked, Accepted):
            checked, notice = checked.value, checked.notice
        form.answers[step] = checked
        form.drop_inapplicable()
        _save(turn, form)
        return Go(form.next_step(), notice)

    return answer


def summary_question(turn: Turn) -> Question:
    form = _form(turn)
    lines = [t.SUMMARY_HEAD.format(type=TYPE_LABELS[form.type])]
    for step in form.fields:
        if step in form.answers:
            lines.append(f"{ANSWER_LABELS[step]}：{form.answers[step]}")
    lines.append("")
    lines.append(t.SUMMARY_FOOT)
    return Question("\n".join(lines), [message_action(t.SUBMIT), message_action(t.EDIT)])


def summary_answer(turn: Turn) -> Outcome:
    word = turn.input.normalized
    if word == normalize(t.SUBMIT):
        return submit(turn)
    if word == normalize(t.EDIT):
        return EDIT_WHICH
    return Stay(t.ERR_CHOICE)


def _editable(form: Form) -> list[str]:
    return [s for s in form.fields if s in form.answers]


def edit_which_question(turn: Turn) -> Question:
    form = _form(turn)
    return Question(t.ASK_EDIT_WHICH, [message_action(ANSWER_LABELS[s]) for s in _editable(form)])


def edit_which_answer(turn: Turn) -> Outcome:
    word = turn.input.normalized
    for field in _editable(_form(turn)):
        if word == normalize(ANSWER_LABELS[field]):
            return field
    return Stay(t.ERR_CHOICE)


def on_back(turn: Turn, previous: str) -> str | None:
    """戻る: going back in the normal order asks that answer and every later one again; the
    answer being changed is shown."""
    form = _form(turn)
    shown = form.answers.get(previous)
    if previous in FIELDS and turn.step not in (SUMMARY, EDIT_WHICH) and previous in form.fields:
        order = form.fields
        for later in order[order.index(previous) :]:
            form.answers.pop(later, None)
        _save(turn, form)
    return t.PREVIOUS_ANSWER.format(value=shown) if shown is not None else None


def restart(turn: Turn) -> str:
    """最初から: the same form, every answer cleared."""
    form = _form(turn)
    form.answers = {}
    _save(turn, form)
    return form.next_step()


def form_help(turn: Turn) -> str:
    return t.HELP.format(type=TYPE_LABELS[_form(turn).type])


def cancelled(ctx: Context) -> list[Message]:
    return [text(t.CANCELLED, quick=[message_action("問い合わせ"), message_action("使い方")])]


# -- entry points ------------------------------------------------------------------------------


def menu(ctx: Context, *, requests: bool = False) -> list[Message]:
    """The types this user may file; `requests`: an HR contact's request forms only (各種申請)."""
    audience = audience_of(ctx)
    requests = requests and audience == HR
    if requests:
        body = t.MENU_HR_REQUESTS
    elif audience == HR:
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
        if not (requests and kind is InquiryType.OTHER)
    ]
    quick.append(message_action(t.STATUS_LABEL))
    return [text(body, quick=quick)]


def show_menu(ctx: Context, user_input: Input) -> list[Message]:
    current = ctx.conversation.current()
    if current is not None and current.name == INQUIRY:
        ctx.conversation.clear()
    return menu(ctx)


def start_form(ctx: Context, user_input: Input) -> list[Message]:
    """Postback action=inquiry[&type=<type>]: start that form if this user may file it."""
    raw = user_input.params.get("type", "")
    raw = TYPE_ALIASES.get(raw, raw)
    audience = audience_of(ctx)
    try:
        kind = InquiryType(raw)
    except ValueError:
        return menu(ctx, requests=user_input.params.get("menu") == "requests")
    if kind not in FORMS[audience]:
        refusal = t.CREDENTIALS_NOT_ALLOWED if kind is InquiryType.CREDENTIALS else None
        return [text(refusal or t.TYPE_NOT_ALLOWED)] + menu(ctx)
    if kind is InquiryType.ADD_SEATS:
        figures = seat_figures(ctx)
        if figures["remaining"] <= 0:
            return [text(t.ERR_NO_SEATS_LEFT.format(**figures))] + menu(ctx)
    form = Form(kind, audience, {})
    return FLOW.start(ctx, form.next_step(), form.dump())


def submit(turn: Turn) -> Outcome:
    """送信: re-check who is asking, file the ticket, give the number."""
    ctx, form = turn.ctx, _form(turn)
    if audience_of(ctx) != form.audience:
        return End([text(t.ERR_NOT_ALLOWED_ANY_MORE)])
    for step in (SEAT_COUNT, RETIREE_ID):  # answers that depend on the company's state now
        if step not in form.answers:
            continue
        try:
            FIELDS[step].check(ctx, form, str(form.answers[step]))
        except Invalid as exc:
            form.answers.pop(step)
            _save(turn, form)
            return Go(step, str(exc))
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
    note = t.CREDENTIALS_DELIVERY if form.type is InquiryType.CREDENTIALS else ""
    return End(
        [
            text(
                t.SUBMITTED.format(number=inquiry.number) + note,
                quick=[message_action(t.STATUS_LABEL), message_action("使い方")],
            )
        ]
    )


# -- 問い合わせ状況 ------------------------------------------------------------------------------


def status(ctx: Context, user_input: Input) -> list[Message]:
    member = active_member(ctx)
    tickets = visible_to_requester(ctx.session, line_user_id=ctx.line_user_id, member=member)
    quick = [message_action("問い合わせ"), message_action("使い方")]
    if not tickets:
        return [text(t.STATUS_NONE, quick=quick)]
    quick = [*append_actions(ctx), *quick]
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


# -- the declaration ---------------------------------------------------------------------------

_FIELD_TARGETS = (*FIELDS, SUMMARY)
STATES: dict[str, Step] = {
    **{
        name: Step(
            _field_question(name),
            _field_answer(name),
            postbacks=FIELDS[name].postbacks,
            next=_FIELD_TARGETS,
        )
        for name in FIELDS
    },
    SUMMARY: Step(summary_question, summary_answer, next=(*_FIELD_TARGETS, EDIT_WHICH, END)),
    EDIT_WHICH: Step(edit_which_question, edit_which_answer, next=tuple(FIELDS)),
}

FLOW = Flow(
    name=INQUIRY,
    states=STATES,
    entry_points=[
        Entry(show_menu, keywords=t.ENTRY_WORDS),
        Entry(status, keywords=t.STATUS_WORDS, postbacks=("inquiry_status",)),
        Entry(start_form, postbacks=("inquiry",)),
    ],
    fallbacks=[Entry(show_menu, keywords=t.ENTRY_WORDS), Entry(status, keywords=t.STATUS_WORDS)],
    cancelled=cancelled,
    restart=restart,
    on_back=on_back,
    help=form_help,
)


def register(router: Router) -> None:
    register_flow(router, FLOW)
    router.on_intent("inquiry_menu")(show_menu)
    router.on_intent("inquiry_status")(status)
