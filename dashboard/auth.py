"""Sign-in and access for the app: Streamlit's own `st.login` / `st.user`, the access file.

`gate()` runs first on every rerun, before the navigation: with sign-in off (the local
demo, `sign_in = false` in data/access.toml) everyone is the open local admin and the
footer says so; with it on, nothing renders before sign-in, and a signed-in person the
access file does not name sees one message and a sign-out button (deny by default).
What a person may see is decided in the core (`steward.access.scoped`), not here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from steward import access
from steward.access import Access, Policy


@st.cache_resource(show_spinner=False)
def _policy(path: str, mtime_ns: int) -> Policy:
    return access.load(path)


def policy() -> Policy:
    """The access file in force, reloaded when it changes (the embedded default without one)."""
    target = access.path_in_force()
    if not target.exists():
        return access.load()
    return _policy(str(target), target.stat().st_mtime_ns)


def _provider() -> str | None:
    """The [auth] provider to use: the only named one (e.g. [auth.microsoft]), else the default."""
    section: Any = st.secrets.get("auth", {}) if _has_secrets() else {}
    named = [k for k, v in dict(section).items() if hasattr(v, "keys")]
    return named[0] if len(named) == 1 else None


def _has_secrets() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def _identity() -> dict[str, Any]:
    raw = st.user.to_dict() if hasattr(st.user, "to_dict") else dict(st.user)
    return {k: v for k, v in raw.items() if k != "tokens"}


def gate() -> Access:
    """Who is looking, or stop the script: sign-in screen, or the deny message."""
    rules = policy()
    if not rules.sign_in:
        return access.OPEN
    if not st.user.get("is_logged_in"):
        st.title("Pipeline Steward")
        st.subheader("Sign in to see the pipeline")
        if not _has_secrets():
            st.error(
                "Sign-in is on (`sign_in = true` in the access file) but no identity provider "
                "is configured: add an `[auth]` section to `.streamlit/secrets.toml` "
                "(see the README, 'Sign-in and access')."
            )
            st.stop()
        provider = _provider()
        st.button(
            "Sign in",
            key="auth_sign_in",
            type="primary",
            on_click=st.login,
            args=(provider,) if provider else (),
        )
        st.stop()
    who = rules.resolve(_identity())
    if who.denied:
        st.title("Pipeline Steward")
        st.error(
            f"You are signed in as **{who.who}**, but the access file does not grant you any "
            "data. Ask your RevOps admin to add you to `data/access.toml`."
        )
        st.button("Sign out", key="auth_sign_out", on_click=st.logout)
        st.stop()
    return who


def sidebar_badge(who: Access) -> None:
    """Who is signed in and what they see, with a sign-out button (sign-in on only)."""
    if who == access.OPEN:
        return
    st.sidebar.caption(f"Signed in as **{who.who}** · {who.role} · {who.scope.label}")
    st.sidebar.button("Sign out", key="auth_sign_out_sidebar", on_click=st.logout)


def footer_note(who: Access) -> str:
    """The footer's access line: open mode says so plainly."""
    if who == access.OPEN:
        where = Path(access.path_in_force()).name
        return f"open access: no sign-in (sign_in = false in {where}); everyone sees every deal"
    return f"signed in as {who.who} ({who.role}) · scope: {who.scope.label}"


def current() -> Access:
    """The access resolved by the entrypoint for this run."""
    who: Access | None = st.session_state.get("_access")
    return who if who is not None else access.OPEN


def audit(action: str, target: str, detail: str = "") -> None:
    """Record an admin action or an export in the store's audit table."""
    from dashboard import data

    data.release()
    audit_later(action, target, detail)()


def audit_later(action: str, target: str, detail: str = "") -> Callable[[], None]:
    """`audit`, to be called outside the run (a file Streamlit makes when Download is
    clicked, in its own thread): who it is and which store are read now, in the run."""
    from dashboard import data

    db, who = data.db_path(), current()
    return lambda: access.record(db, who, action, target, detail)
