"""The example's pages: how a Django project calls Trigger.dev through django_trigger.

Every view gets its client with ``get_client(alias)`` (configured by ``settings.TRIGGER``),
wraps each call in ``try … except TriggerError`` and shows ``api_errors.describe(exc)``
instead of a 500. ``overview`` is the async view: it awaits ``AsyncTriggerClient`` calls
(``get_async_client``), see its docstring.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.utils import quote
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.views import redirect_to_login
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from django_trigger import (
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    TriggerError,
    get_async_client,
    get_client,
)
from django_trigger.clients import clients
from django_trigger.exceptions import WaitpointTimedOutError
from django_trigger.types import RunStatus
from django_trigger.types.sessions import SessionRecord
from django_trigger.views import stream_run, stream_session

from .api_errors import describe
from .forms import ChatMessageForm, RunFilterForm, TriggerTaskForm

DEFAULT_ALIAS = "default"
PAGE_SIZE = 20
OVERVIEW_SIZE = 5
FAILED_STATUSES = [
    RunStatus.FAILED,
    RunStatus.CRASHED,
    RunStatus.SYSTEM_FAILURE,
    RunStatus.TIMED_OUT,
]


def _aliases() -> list[str]:
    """The clients configured in ``settings.TRIGGER`` (reading them sends nothing)."""
    return list(clients)


def _alias(request: HttpRequest) -> str:
    alias = request.GET.get("client") or DEFAULT_ALIAS
    if alias not in _aliases():
        raise Http404(_("There is no Trigger.dev client named “%(alias)s”.") % {"alias": alias})
    return alias


def _error_status(exc: TriggerError) -> int:
    """The status of a page that shows ``exc`` instead of data."""
    if isinstance(exc, (NotFoundError, InvalidRequestError)):
        return 404
    if isinstance(exc, ConfigurationError):
        return 500
    return 502  # Trigger.dev failed or could not be reached


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    """The latest runs of one client, newest first, filtered by status, one page at a time
    (one API request per page; the API's opaque cursors go in ``?after=``/``?before=``)."""
    form = RunFilterForm(request.GET, aliases=_aliases())
    context: dict[str, Any] = {"form": form, "runs": None, "error": None}
    if not form.is_valid():
        return render(request, "dashboard/run_list.html", context, status=400)
    alias = form.cleaned_data["client"] or DEFAULT_ALIAS
    status = form.cleaned_data["status"] or None
    after = request.GET.get("after") or None
    before = None if after else request.GET.get("before") or None
    context["alias"] = alias
    try:
        page = get_client(alias).runs.list(
            status=status, limit=PAGE_SIZE, after=after, before=before
        )
    except TriggerError as exc:
        context["error"] = describe(exc, alias)
        return render(request, "dashboard/run_list.html", context, status=_error_status(exc))
    # page.data, not page: iterating a page would fetch every following page as well.
    context["runs"] = page.data
    if page.has_next_page():
        context["next_url"] = _page_url(request, after=page.next_cursor)
    if page.has_previous_page():
        context["previous_url"] = _page_url(request, before=page.previous_cursor)
    return render(request, "dashboard/run_list.html", context)


def _page_url(request: HttpRequest, **cursor: str | None) -> str:
    """This page's filters (blank ones left out) and one cursor."""
    params = QueryDict(mutable=True)
    for key, values in request.GET.lists():
        if key not in ("after", "before"):
            params.setlist(key, [value for value in values if value])
    params.update(cursor)
    return "?" + params.urlencode()


@login_required
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    """One run: ``runs.retrieve(id)``; an unknown id is a 404 page, not an exception."""
    alias = _alias(request)
    try:
        run = get_client(alias).runs.retrieve(run_id)
    except NotFoundError:
        error = _("Trigger.dev has no run “%(id)s” for the “%(alias)s” client.") % {
            "id": run_id,
            "alias": alias,
        }
        context = {"error": error, "run_id": run_id, "alias": alias}
        return render(request, "dashboard/run_detail.html", context, status=404)
    except TriggerError as exc:
        context = {"error": describe(exc, alias), "run_id": run_id, "alias": alias}
        return render(request, "dashboard/run_detail.html", context, status=_error_status(exc))
    context = {
        "run": run,
        "alias": alias,
        "payload": _pretty(run.payload),
        "output": _pretty(run.output),
        "admin_url": _admin_url(run.id, alias),
    }
    return render(request, "dashboard/run_detail.html", context)


STREAM_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def _stream_key(request: HttpRequest) -> str:
    key = request.GET.get("stream") or "default"
    if not STREAM_KEY.match(key):
        raise Http404(_("No such stream."))
    return key


@login_required
def run_stream_page(request: HttpRequest, run_id: str) -> HttpResponse:
    """A chat-like page following one output stream of a run (``?stream=ai``): plain HTML
    and a few lines of ``EventSource``; the events come from :func:`run_stream_events`."""
    key = _stream_key(request)
    events_url = reverse("dashboard:run_stream_events", args=[run_id])
    query = QueryDict(mutable=True)
    query.update({"stream": key, "client": _alias(request)})
    context = {
        "run_id": run_id,
        "stream_key": key,
        "events_url": f"{events_url}?{query.urlencode()}",
    }
    return render(request, "dashboard/run_stream.html", context)


@login_required
def run_stream_events(request: HttpRequest, run_id: str) -> StreamingHttpResponse | HttpResponse:
    """The run's output stream relayed as server-sent events (``django_trigger.views``).

    Authorization first: the relay reads with the project's secret key, so this view decides
    who may see the run (here: signed in, and the run exists in this client's environment;
    put your rule here, e.g. the run carries the user's tag). Requests: ``runs.retrieve``,
    then the stream (one connection per ~5 s of silence, while the run runs)."""
    alias = _alias(request)
    client = get_client(alias)
    try:
        client.runs.retrieve(run_id)
    except NotFoundError:
        raise Http404(_("No such run.")) from None
    except TriggerError as exc:
        return HttpResponse(describe(exc, alias), status=_error_status(exc))
    return stream_run(request, run_id, _stream_key(request), client=client)


# Long enough to open the realtime subscription and follow a typical run; the frontend asks
# this view again for a new token when the API answers 401 (so access is re-checked).
RUN_TOKEN_LIFETIME = "10m"


@require_GET
def run_token(request: HttpRequest, run_id: str) -> JsonResponse:
    """A public access token that can read this one run, for a browser to follow it.

    The permission check comes first (here: signed in, and the run exists in this client's
    environment — put your own rule here, e.g. the run carries the user's tag); the token is
    minted per request, reads only this run, and expires soon, so it never outlives the
    user's right to see the run by more than its lifetime. Requests: ``runs.retrieve`` (1),
    plus the JWT claims once per client; the token is signed locally."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Sign in to follow this run.")}, status=401)
    alias = _alias(request)
    client = get_client(alias)
    try:
        client.runs.retrieve(run_id)
        token = client.auth.create_public_token(
            scopes={"read": {"runs": run_id}}, expiration_time=RUN_TOKEN_LIFETIME
        )
    except NotFoundError:
        return JsonResponse({"error": _("No such run.")}, status=404)
    except TriggerError as exc:
        return JsonResponse({"error": describe(exc, alias)}, status=_error_status(exc))
    response = JsonResponse({"token": token, "apiUrl": client.base_url, "runId": run_id})
    response["Cache-Control"] = "no-store"  # a credential: never cached by a proxy
    return response


def _pretty(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _admin_url(run_id: str, alias: str) -> str | None:
    try:
        url = reverse("admin:django_trigger_run_change", args=[quote(run_id)])
    except NoReverseMatch:  # the project does not use django_trigger's admin
        return None
    return url if alias == DEFAULT_ALIAS else f"{url}?alias={alias}"


@login_required
def trigger_task(request: HttpRequest) -> HttpResponse:
    """Trigger a run from a form, safely repeatable: the idempotency key comes from a token
    made when the form was rendered (and the user), so a double click, a browser resubmit or
    a retry after an error returns the run the first submission started (``is_cached``)."""
    if request.method == "POST":
        form = TriggerTaskForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = get_client().tasks.trigger(
                    data["task"],
                    data["payload"],
                    idempotency_key=form.idempotency_key(request.user.pk),
                    tags=data["tags"] or None,
                    delay=data["delay"],
                )
            except TriggerError as exc:
                # The form keeps its token: submitting it again cannot start a second run.
                messages.error(request, describe(exc))
            else:
                if result.is_cached:
                    messages.info(
                        request,
                        _(
                            "This form had already been submitted: Trigger.dev returned the "
                            "run it started then (%(id)s) instead of starting another one."
                        )
                        % {"id": result.id},
                    )
                else:
                    messages.success(request, _("Triggered run %(id)s.") % {"id": result.id})
                return redirect("dashboard:run", run_id=result.id)
        status = 400 if form.errors else 502
    else:
        form = TriggerTaskForm()
        status = 200
    return render(request, "dashboard/trigger.html", {"form": form}, status=status)


async def overview(request: HttpRequest) -> HttpResponse:
    """An async view: the latest runs and failures of every client, fetched concurrently.

    ``get_async_client(alias)`` is the alias's ``AsyncTriggerClient`` for this event loop (the
    same TRIGGER setting as ``get_client``); its calls are awaited, so the four requests below
    run at once on the event loop: no worker thread, and a client that disconnects cancels
    them. The response is a ``TemplateResponse``: Django renders it in a sync thread, where
    the template may read ``request.user`` and the session.
    """
    if not await _is_authenticated(request):
        return redirect_to_login(request.get_full_path())
    calls = [
        _latest(alias, statuses) for alias in _aliases() for statuses in (None, FAILED_STATUSES)
    ]
    results = await asyncio.gather(*calls)
    columns = [
        {"alias": latest["alias"], "latest": latest, "failures": failures}
        for latest, failures in zip(results[::2], results[1::2], strict=True)
    ]
    return TemplateResponse(request, "dashboard/overview.html", {"columns": columns})


async def _latest(alias: str, statuses: list[RunStatus] | None) -> dict[str, Any]:
    """One request, errors turned into a message."""
    try:
        page = await get_async_client(alias).runs.list(status=statuses, limit=OVERVIEW_SIZE)
    except TriggerError as exc:
        return {"alias": alias, "runs": [], "error": describe(exc, alias)}
    return {"alias": alias, "runs": page.data, "error": None}


async def _is_authenticated(request: HttpRequest) -> bool:
    auser = getattr(request, "auser", None)  # Django >= 5.0
    if auser is not None:
        return (await auser()).is_authenticated
    return await sync_to_async(lambda: request.user.is_authenticated)()


# -- approvals: waitpoint tokens completed by a person ------------------------------------------

APPROVALS_PAGE_SIZE = 20
CAN_DECIDE = "django_trigger.complete_waitpointtoken"


@login_required
@permission_required("django_trigger.view_waitpointtoken", raise_exception=True)
def approvals(request: HttpRequest) -> HttpResponse:
    """The tokens runs are waiting on (a task calls ``wait.forToken(token)``), with Approve /
    Reject buttons. One API request per page (``waitpoints.list_tokens``)."""
    tag = (request.GET.get("tag") or "").strip() or None
    context: dict[str, Any] = {
        "tag": tag or "",
        "tokens": None,
        "error": None,
        "can_decide": request.user.has_perm(CAN_DECIDE),
    }
    try:
        page = get_client().waitpoints.list_tokens(
            status="WAITING",
            tags=tag,
            limit=APPROVALS_PAGE_SIZE,
            after=request.GET.get("after") or None,
        )
    except TriggerError as exc:
        context["error"] = describe(exc)
        return render(request, "dashboard/approvals.html", context, status=_error_status(exc))
    context["tokens"] = page.data
    if page.has_next_page():
        context["next_url"] = _page_url(request, after=page.next_cursor)
    return render(request, "dashboard/approvals.html", context)


@require_POST
@login_required
@permission_required(CAN_DECIDE, raise_exception=True)
def decide(request: HttpRequest, token_id: str) -> HttpResponse:
    """Approve or reject: complete the token with ``{"approved": …, "by": …}`` (two requests).

    Safe to repeat: the API keeps the first data a token was completed with, so a double click
    records one decision, and a second person's different decision is reported, not stored.
    CSRF-protected (a POST form), and only for users with the ``complete_waitpointtoken``
    permission."""
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, _("Choose Approve or Reject."))
        return redirect("dashboard:approvals")
    data = {"approved": decision == "approve", "by": request.user.get_username()}
    try:
        token = get_client().waitpoints.complete_token(token_id, data)
    except WaitpointTimedOutError:
        messages.error(
            request,
            _(
                "%(id)s had already timed out: the run went on without a "
                "decision, and yours was not recorded."
            )
            % {"id": token_id},
        )
    except (NotFoundError, InvalidRequestError):
        messages.error(request, _("There is no waitpoint token “%(id)s”.") % {"id": token_id})
    except TriggerError as exc:
        messages.error(request, describe(exc))
    else:
        recorded = token.data if isinstance(token.data, dict) else {}
        if recorded == data:
            messages.success(
                request,
                (_("Approved %(id)s.") if data["approved"] else _("Rejected %(id)s."))
                % {"id": token_id},
            )
        else:
            messages.info(
                request,
                _(
                    "%(id)s had already been decided (approved: %(approved)s, "
                    "by %(by)s); your choice was not recorded."
                )
                % {
                    "id": token_id,
                    "approved": recorded.get("approved"),
                    "by": recorded.get("by", _("someone else")),
                },
            )
    return redirect("dashboard:approvals")


# -- chat with an agent session ------------------------------------------------------------
#
# The conversation's external id lives in the user's Django session: the events view relays
# only that session, so a user follows no conversation but their own. The agent is
# settings.CHAT_AGENT_TASK with sessions of type settings.CHAT_SESSION_TYPE; with the demo's
# emulator, type "emulator-echo" answers each message word by word.

CHAT_KEY = "dashboard_chat"  # the Django session key holding the conversation's external id


def _chat_agent() -> tuple[str, str]:
    return (
        getattr(settings, "CHAT_AGENT_TASK", "send-email"),
        getattr(settings, "CHAT_SESSION_TYPE", "emulator-echo"),
    )


def _turns(client: Any, chat_id: str) -> tuple[list[dict[str, Any]], int | None]:
    """The conversation so far as (message, answer) turns, and the last ``.out`` sequence
    number (where the page's event stream resumes). Two requests; the whole history."""
    asked = [record.value for record in client.sessions.read_records(chat_id, io="in")]
    answers: list[list[str]] = [[]]
    last: int | None = None
    for record in client.sessions.read_records(chat_id):
        last = record.seq_num
        if record.control == "turn-complete":
            answers.append([])
        elif record.control is None:
            answers[-1].append(_chunk_text(record))
    turns = [
        {
            "message": message if isinstance(message, str) else json.dumps(message),
            "answer": " ".join(answers[i]) if i < len(answers) else "",
        }
        for i, message in enumerate(asked)
    ]
    return turns, last


def _chunk_text(record: SessionRecord) -> str:
    """A chunk as text: an AI SDK ``text-delta``'s ``delta``, anything else as JSON."""
    value = record.value
    if isinstance(value, dict) and value.get("type") == "text-delta":
        return str(value.get("delta", ""))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@login_required
def chat(request: HttpRequest) -> HttpResponse:
    """A chat page following one agent session: the history rendered here, then each answer
    streamed in with ``EventSource`` from :func:`chat_events` (plain JavaScript, no build
    step). Without JavaScript the form still sends; reload to see the answer."""
    chat_id = request.session.get(CHAT_KEY)
    context: dict[str, Any] = {"chat_id": chat_id, "form": ChatMessageForm(), "turns": []}
    if chat_id:
        client = get_client()
        try:
            session = client.sessions.retrieve(chat_id)
            context["turns"], context["after"] = _turns(client, chat_id)
        except NotFoundError:
            request.session.pop(CHAT_KEY, None)
            context["chat_id"] = None
        except TriggerError as exc:
            context["error"] = describe(exc)
            return render(request, "dashboard/chat.html", context, status=_error_status(exc))
        else:
            context["closed"] = session.is_closed
    return render(request, "dashboard/chat.html", context)


@login_required
@require_POST
def chat_start(request: HttpRequest) -> HttpResponse:
    """Start a conversation: a new session (and its first run) under a fresh external id."""
    task, session_type = _chat_agent()
    chat_id = f"example-chat-{request.user.pk}-{secrets.token_hex(4)}"
    try:
        get_client().sessions.start(task, type=session_type, external_id=chat_id)
    except TriggerError as exc:
        messages.error(request, describe(exc))
    else:
        request.session[CHAT_KEY] = chat_id
    return redirect("dashboard:chat")


@login_required
@require_POST
def chat_send(request: HttpRequest) -> HttpResponse:
    """Send a message to the session's ``.in`` (``sessions.send_input``). The page's script
    posts with ``Accept: application/json`` and gets ``{"seq": n}`` (or ``{"error"}``);
    a plain form post is redirected back to the page."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    chat_id = request.session.get(CHAT_KEY)
    form = ChatMessageForm(request.POST)
    error = None
    if not chat_id:
        error = _("Start a conversation first.")
    elif not form.is_valid():
        error = " ".join(str(e) for e in form.errors.get("message", [])) or _("Write a message.")
    else:
        try:
            seq = get_client().sessions.send_input(chat_id, form.cleaned_data["message"])
        except TriggerError as exc:
            error = describe(exc)
        else:
            if wants_json:
                return JsonResponse({"seq": seq})
            return redirect("dashboard:chat")
    if wants_json:
        return JsonResponse({"error": error}, status=400)
    messages.error(request, error)
    return redirect("dashboard:chat")


@login_required
@require_POST
def chat_end(request: HttpRequest) -> HttpResponse:
    """Close the conversation for good (``sessions.close``) and forget it."""
    chat_id = request.session.pop(CHAT_KEY, None)
    if chat_id:
        try:
            get_client().sessions.close(chat_id, reason="ended from the chat page")
        except TriggerError as exc:
            messages.error(request, describe(exc))
    return redirect("dashboard:chat")


@login_required
def chat_events(request: HttpRequest) -> StreamingHttpResponse | HttpResponse:
    """The agent's answer to the last message as server-sent events (``stream_session``,
    until its turn completes), after ``?after=<sequence number>``. Only the conversation in
    the user's own Django session is relayed."""
    chat_id = request.session.get(CHAT_KEY)
    if not chat_id:
        raise Http404(_("No conversation."))
    raw_after = request.GET.get("after", "")
    after = int(raw_after) if raw_after.isascii() and raw_after.isdigit() else None
    return stream_session(request, chat_id, after=after, until_turn_complete=True)
