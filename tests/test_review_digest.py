"""The digest and the review CLI on the small demo store.

The digest is built once (charts through Chromium, the pack PDF through LibreOffice),
parsed back with the `email` package (parts, inline images by Content-ID, the PDF
attachment) and sent to an SMTP server on loopback started here (aiosmtpd).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from browser_helpers import CHROMIUM, free_port, latest_query, small_store, snapshot_dates
from system_tools import require

from steward import definitions, store
from steward.cli import main
from steward.errors import StewardError
from steward.review import digest, load

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_store(tmp_path_factory.mktemp("digest") / "steward.duckdb")


@pytest.fixture(scope="module")
def eml(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(
        Path(CHROMIUM).exists() and shutil.which("soffice") is not None,
        "needs Debian chromium and LibreOffice (make system-deps)",
    )
    out = tmp_path_factory.mktemp("eml") / "digest.eml"
    assert main(["--db", str(demo_db), "digest", "-o", str(out), "--to", "cro@example.com"]) == 0
    return out


def parsed(path: Path) -> EmailMessage:
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_the_eml_has_text_html_inline_charts_and_the_pack(eml: Path, demo_db: Path) -> None:
    msg = parsed(eml)
    assert msg["To"] == "cro@example.com"
    assert msg["Subject"].startswith("Pipeline Steward weekly review: FY")
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    d = definitions.load()
    with store.reader(demo_db) as con:
        from steward.review import build_agenda

        agenda = build_agenda(con, latest_query(demo_db, d), d)
    for item in agenda.items:  # the agenda, word for word, in both bodies
        assert item.evidence.text in text
    assert "Last week's decisions" in text and "What changed" in text
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 3
    for img in images:
        cid = img["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html  # each chart is referenced inline by its Content-ID
        assert img.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    (pdf,) = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename().startswith("board_pack_FY") and pdf.get_content()[:5] == b"%PDF-"


class Inbox:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append(
            {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": envelope.content}
        )
        return "250 Message accepted for delivery"


@pytest.fixture()
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox, port = Inbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield port, inbox
    finally:
        server.stop()


def test_the_digest_arrives_at_a_local_smtp_server(
    eml: Path, smtp: tuple[int, Inbox], tmp_path: Path
) -> None:
    port, inbox = smtp
    settings = tmp_path / "digest.toml"
    settings.write_text(
        f'[digest]\nhost = "127.0.0.1"\nport = {port}\ntls = "none"\n'
        'sender = "steward@example.com"\nrecipients = ["cmo@example.com", "cro@example.com"]\n'
    )
    msg = parsed(eml)
    digest.send(msg, digest.load_settings(settings))  # SMTP replies after DATA is handled
    (got,) = inbox.received
    assert got["from"] == "steward@example.com"
    assert got["to"] == ["cmo@example.com", "cro@example.com"]
    arrived = message_from_bytes(got["data"], policy=policy.default)
    assert arrived["Subject"] == msg["Subject"]
    types = [p.get_content_type() for p in arrived.walk()]
    assert types.count("image/png") == 3 and types.count("application/pdf") == 1
    sent_pdf = next(p for p in msg.iter_attachments()).get_content()  # type: ignore[union-attr]
    got_pdf = next(p for p in arrived.iter_attachments()).get_content()  # type: ignore[union-attr]
    assert got_pdf == sent_pdf


def test_settings_never_take_a_password_from_the_file(tmp_path: Path) -> None:
    p = tmp_path / "digest.toml"
    p.write_text(
        '[digest]\nhost = "h"\nsender = "s@x"\nrecipients = ["r@x"]\npassword = "hunter2"\n'
    )
    with pytest.raises(StewardError, match="password is not read from a file"):
        digest.load_settings(p)
    p.write_text('[digest]\nhost = "h"\nsender = "s@x"\nrecipients = ["r@x"]\ntls = "maybe"\n')
    with pytest.raises(StewardError, match="tls = 'maybe'"):
        digest.load_settings(p)


def test_cli_agenda_decide_and_decisions(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, db)
    with store.reader(db) as con:
        dates = snapshot_dates(con)
    week1, week2 = dates[-2].isoformat(), dates[-1].isoformat()
    assert main(["--db", str(db), "agenda", "--as-of", week1, "--format", "json"]) == 0
    agenda = json.loads(capsys.readouterr().out)
    key = agenda["items"][0]["key"]
    args = ["--db", str(db), "decide", key, "--as-of", week1, "--what", "Act", "--who", "CRO"]
    assert main([*args, "--due", week2]) == 0
    assert main([*args, "--due", week1]) == 1  # due date not after the snapshot: refused
    assert "due_date" in capsys.readouterr().err
    with store.reader(db) as con:
        (d,) = load(con)
    assert (d.item_key, d.as_of.isoformat(), d.owner) == (key, week1, "CRO")
    assert main(["--db", str(db), "decisions", "--as-of", week2, "--format", "json"]) == 0
    (f,) = json.loads(capsys.readouterr().out)["followed"]
    assert f["status"] in ("done", "overdue", "slipping") and f["as_of"] == week2
    assert main(["--db", str(db), "agenda", "--as-of", week2]) == 0
    md = capsys.readouterr().out
    assert "## Last week's decisions" in md and "Act (CRO" in md
