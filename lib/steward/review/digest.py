"""The Monday digest: the week's e-mail, built from the same numbers as the screen.

Headline and what changed (the narrative), the agenda, open decisions with their
follow-through, three charts inline (PNG through steward.export.render, the board pack's
renderer, referenced by Content-ID) and the board pack PDF attached. Written as an .eml
file, or sent through SMTP with the [digest] settings of a small TOML file:

    [digest]
    host = "smtp.example.com"
    port = 587
    tls = "starttls"            # starttls | ssl | none
    sender = "steward@example.com"
    recipients = ["cmo@example.com", "cro@example.com"]
    username = "steward"        # optional
    password_env = "STEWARD_SMTP_PASSWORD"   # the password is read from this variable

A password is never read from the file (that file tends to end up in git).
Per-recipient access scopes wait for the access issue: today every recipient gets the
same digest.
"""

from __future__ import annotations

import html
import os
import smtplib
import ssl
import tomllib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import duckdb

from steward.definitions import Definitions
from steward.errors import StewardError
from steward.metrics.core import Query
from steward.narrative.model import day
from steward.review.agenda import Agenda, build_agenda

CHARTS = (
    ("coverage", "Coverage by segment, this and next quarter"),
    ("waterfall", "How qualified pipeline moved this week"),
    ("funnel", "Where the open pipeline sits, by stage"),
)
TLS_MODES = ("starttls", "ssl", "none")
_KEYS = {"host", "port", "tls", "sender", "recipients", "username", "password_env"}


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    tls: str
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password_env: str = "STEWARD_SMTP_PASSWORD"


def load_settings(path: Path) -> Settings:
    """[digest] settings from a TOML file; StewardError naming the file and key otherwise."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise StewardError(f"{path}: cannot read digest settings ({exc})") from exc
    d = raw.get("digest")
    if not isinstance(d, dict):
        raise StewardError(f"{path}: no [digest] table")
    if "password" in d:
        raise StewardError(
            f"{path}: [digest] password is not read from a file",
            ["Put it in an environment variable and name it with password_env."],
        )
    unknown = sorted(set(d) - _KEYS)
    if unknown:
        raise StewardError(f"{path}: [digest] unknown key(s): {', '.join(unknown)}")
    for key in ("host", "sender", "recipients"):
        if not d.get(key):
            raise StewardError(f"{path}: [digest] {key} is missing")
    tls = str(d.get("tls", "starttls"))
    if tls not in TLS_MODES:
        raise StewardError(f"{path}: [digest] tls = {tls!r}; one of {', '.join(TLS_MODES)}")
    recipients = d["recipients"]
    recipients = [recipients] if isinstance(recipients, str) else list(recipients)
    return Settings(
        host=str(d["host"]),
        port=int(d.get("port", 465 if tls == "ssl" else 587)),
        tls=tls,
        sender=str(d["sender"]),
        recipients=tuple(str(r) for r in recipients),
        username=str(d["username"]) if d.get("username") else None,
        password_env=str(d.get("password_env", "STEWARD_SMTP_PASSWORD")),
    )


def text_body(story: object, agenda: Agenda) -> str:
    """The plain-text part: headline, what changed, the agenda with last week's decisions."""
    lines = [agenda.title, "", getattr(story, "headline", ""), "", "What changed"]
    lines += [f"- {s.text}" for s in story.section("changes")]  # type: ignore[attr-defined]
    lines += ["", agenda.to_markdown().split("\n", 2)[2].strip()]
    return "\n".join(lines) + "\n"


def html_body(story: object, agenda: Agenda, cids: dict[str, str]) -> str:
    e = html.escape
    parts = [
        '<html><body style="font-family: Arial, sans-serif; color: #1f2933; max-width: 760px">',
        f"<h2>{e(agenda.title)}</h2>",
        f"<p><b>{e(getattr(story, 'headline', ''))}</b></p>",
        "<h3>What changed</h3><ul>",
    ]
    parts += [f"<li>{e(s.text)}</li>" for s in story.section("changes")]  # type: ignore[attr-defined]
    parts.append("</ul><h3>Last week's decisions</h3>")
    if agenda.decisions:
        parts.append("<ul>")
        for d in agenda.decisions:
            parts.append(
                f"<li><b>{e(d.status.upper())}</b> · {e(d.decision.what)} "
                f"({e(d.decision.owner)}, due {e(day(d.decision.due_date))}): {e(d.summary)}</li>"
            )
        parts.append("</ul>")
    else:
        parts.append("<p>No open decisions.</p>")
    parts.append("<h3>This week's bottlenecks</h3><ol>")
    parts += [
        f"<li><b>{e(i.title)}</b>: {e(i.evidence.text)} <i>Owner: {e(i.owner_role)}.</i></li>"
        for i in agenda.items
    ]
    parts.append("</ol>" if agenda.items else "</ol><p>No agenda rule fired this week.</p>")
    for key, caption in CHARTS:
        if key in cids:
            parts.append(
                f'<h3>{e(caption)}</h3><img src="cid:{cids[key][1:-1]}" alt="{e(caption)}" '
                'width="720">'
            )
    parts.append('<p style="color:#6b7280">The board pack is attached as a PDF.</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def build(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    *,
    sender: str,
    recipients: tuple[str, ...] | list[str],
) -> EmailMessage:
    """The digest as an e-mail message (charts need Chromium, the PDF LibreOffice)."""
    from steward.export import pptx, render

    agenda = build_agenda(con, q, defs)
    data = pptx.gather(con, q, defs)
    figs = pptx.figures(data)
    keys = [k for k, _ in CHARTS if k in figs]
    pngs = render.render_pngs([render.Image(figs[k], 1200, 560, 1.5) for k in keys])
    pdf = pptx.board_pack_pdf(pptx.build_pack(data))
    cids = {k: make_msgid(idstring=k, domain="steward.local") for k in keys}

    msg = EmailMessage()
    msg["Subject"] = f"Pipeline Steward weekly review: {q.period} as of {day(q.as_of)}"
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg.set_content(text_body(data.story, agenda))
    msg.add_alternative(html_body(data.story, agenda, cids), subtype="html")
    html_part = msg.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    for key, png in zip(keys, pngs, strict=True):
        html_part.add_related(png, "image", "png", cid=cids[key], filename=f"{key}.png")
    msg.add_attachment(
        pdf,
        maintype="application",
        subtype="pdf",
        filename=f"board_pack_{q.period}_{q.as_of.isoformat()}.pdf",
    )
    return msg


def write_eml(msg: EmailMessage, path: Path) -> int:
    """Write the message as an .eml file (atomically); returns the bytes written."""
    data = bytes(msg)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return len(data)


def send(msg: EmailMessage, settings: Settings, timeout_s: float = 60.0) -> None:
    """Send through SMTP; the password (if any) comes from $password_env only."""
    password = os.environ.get(settings.password_env) if settings.username else None
    if settings.username and not password:
        raise StewardError(
            f"SMTP user {settings.username!r} needs a password in ${settings.password_env}"
        )
    try:
        smtp: smtplib.SMTP
        if settings.tls == "ssl":
            ctx = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout_s, context=ctx)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=timeout_s)
        with smtp:
            if settings.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.username and password:
                smtp.login(settings.username, password)
            smtp.send_message(msg, settings.sender, list(settings.recipients))
    except (OSError, smtplib.SMTPException) as exc:
        raise StewardError(
            f"sending the digest through {settings.host}:{settings.port} failed: {exc}"
        ) from exc
