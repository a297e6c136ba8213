"""Who sees what: the governed access file, roles and row scopes.

`data/access.toml` (or `$STEWARD_ACCESS`) says whether sign-in is required and, for
each grant, who it is for (e-mail addresses, or a claim of the identity token such as
`groups` or `hd`), their role (`admin` may import, replace, delete and read the audit;
`viewer` reads) and their row scope (`region = ["EMEA"]`: the rows they may see).

Deny by default: a signed-in person no grant names gets `Access.denied`, whose scope
matches no row. The first grant that matches wins, in file order, so a specific grant
above a broad one reads the way a firewall does.

The scope is applied in the core: `scoped(query, access)` restricts the query's
filters (`Filters.restricted`), and every metric, drill, narrative and export binds
the filters, so no surface needs to remember it. Without a file, the embedded default
is the local demo's: no sign-in, everyone an admin with every row.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steward.errors import StewardError
from steward.metrics.core import DIMENSIONS, Query, RowScope

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "access.toml"
ROLES = ("admin", "viewer")
_TOP_KEYS = {"version", "sign_in", "grants"}
_GRANT_KEYS = {"name", "emails", "claims", "role", "scope", "label"}
# A scope that matches no row: what a person no grant names is given.
NOTHING = RowScope("no access", (("segment", ()),))


class AccessError(StewardError):
    """The access file is invalid (or a user has no grant where one is required)."""


@dataclass(frozen=True)
class Grant:
    """One entry of the access file: who it is for, their role and their rows."""

    name: str
    role: str
    scope: RowScope
    emails: tuple[str, ...] = ()
    claims: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def matches(self, identity: Mapping[str, Any]) -> bool:
        """True when the identity's e-mail is listed or one of its claims has a listed value."""
        email = str(identity.get("email") or "").strip().casefold()
        if email and email in self.emails:
            return True
        for claim, wanted in self.claims:
            have = identity.get(claim)
            values = have if isinstance(have, list | tuple) else [have]
            if any(str(v).strip().casefold() in wanted for v in values if v is not None):
                return True
        return False


@dataclass(frozen=True)
class Access:
    """What one person may do and see, resolved once per session or command."""

    who: str
    role: str
    scope: RowScope
    grant: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def denied(self) -> bool:
        return self.role == "none"


@dataclass(frozen=True)
class Policy:
    """The whole access file: whether sign-in is on, and the grants in order."""

    sign_in: bool = False
    grants: tuple[Grant, ...] = ()
    version: str = "embedded default"
    source_path: str = ""

    def resolve(self, identity: Mapping[str, Any]) -> Access:
        """The first matching grant's access; deny (no rows, no role) when none matches."""
        who = str(identity.get("email") or identity.get("name") or identity.get("sub") or "")
        for grant in self.grants:
            if grant.matches(identity):
                return Access(who, grant.role, grant.scope, grant.name)
        return Access(who or "unknown", "none", NOTHING)

    def user(self, name: str) -> Access:
        """`steward --as USER`: the grant for an e-mail address or a grant's name."""
        for grant in self.grants:
            if grant.name.casefold() == name.strip().casefold():
                return Access(name, grant.role, grant.scope, grant.name)
        return self.resolve({"email": name})


# The local demo without an access file: open, every row, admin (the footer says so).
OPEN = Access("local", "admin", RowScope(), "open (no sign-in)")


def scoped(query: Query, access: Access) -> Query:
    """The query as `access` may see it: its filters restricted by the person's scope."""
    if access.scope.is_all:
        return query
    return query.with_(filters=query.filters.restricted(access.scope))


# --- loading and validation -------------------------------------------------------------


def path_in_force(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("STEWARD_ACCESS") or DEFAULT_PATH)


def load(path: str | Path | None = None) -> Policy:
    """Read and validate the access file; the embedded open default when there is none."""
    target = path_in_force(path)
    if not target.exists():
        if path or os.environ.get("STEWARD_ACCESS"):
            raise AccessError(f"{target}: access file not found")
        return Policy()
    try:
        raw = tomllib.loads(target.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AccessError(f"{target}: not valid TOML", [str(exc)]) from None
    return parse(raw, str(target))


def parse(raw: Mapping[str, Any], where: str = "access.toml") -> Policy:
    """Validate a parsed access file; every problem is listed with where it is."""
    problems: list[str] = []
    for key in sorted(set(raw) - _TOP_KEYS):
        problems.append(f"unknown key {key!r} (allowed: {', '.join(sorted(_TOP_KEYS))})")
    sign_in = raw.get("sign_in", False)
    if not isinstance(sign_in, bool):
        problems.append(f"sign_in = {sign_in!r}: must be true or false")
    entries = raw.get("grants", [])
    if not isinstance(entries, list):
        problems.append("grants: must be an array of tables ([[grants]])")
        entries = []
    grants = []
    for i, entry in enumerate(entries, start=1):
        grant = _grant(entry, f"grants[{i}]", problems)
        if grant is not None:
            grants.append(grant)
    names = [g.name.casefold() for g in grants]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"grant name {name!r} is used twice")
    if problems:
        raise AccessError(f"{where}: invalid access file ({len(problems)} problems)", problems)
    return Policy(bool(sign_in), tuple(grants), str(raw.get("version", "")), where)


def _strings(value: Any, what: str, problems: list[str]) -> tuple[str, ...]:
    vals = [value] if isinstance(value, str) else value
    if not isinstance(vals, list) or not vals or not all(isinstance(v, str) and v for v in vals):
        problems.append(f"{what} = {value!r}: must be a non-empty string or list of strings")
        return ()
    return tuple(vals)


def _grant(entry: Any, where: str, problems: list[str]) -> Grant | None:
    if not isinstance(entry, dict):
        problems.append(f"{where}: must be a table")
        return None
    name = str(entry.get("name") or "")
    at = f"{where} ({name})" if name else where
    for key in sorted(set(entry) - _GRANT_KEYS):
        problems.append(f"{at}: unknown key {key!r} (allowed: {', '.join(sorted(_GRANT_KEYS))})")
    if not name:
        problems.append(f"{where}: name is required")
    role = entry.get("role")
    if role not in ROLES:
        problems.append(f"{at}: role = {role!r}: must be one of {', '.join(ROLES)}")
    raw_emails = entry.get("emails")
    listed = _strings(raw_emails, f"{at}: emails", problems) if raw_emails is not None else ()
    emails = tuple(e.strip().casefold() for e in listed)
    for email in emails:
        if "@" not in email:
            problems.append(f"{at}: emails: {email!r} is not an e-mail address")
    claims: list[tuple[str, tuple[str, ...]]] = []
    raw_claims = entry.get("claims", {})
    if not isinstance(raw_claims, dict):
        problems.append(f"{at}: claims = {raw_claims!r}: must be a table like {{ groups = 'x' }}")
        raw_claims = {}
    for claim, value in raw_claims.items():
        vals = _strings(value, f"{at}: claims.{claim}", problems)
        claims.append((str(claim), tuple(v.strip().casefold() for v in vals)))
    if not emails and not claims:
        problems.append(f"{at}: names nobody (give emails or claims)")
    raw_scope = entry.get("scope", {})
    rules: dict[str, tuple[str, ...]] = {}
    if not isinstance(raw_scope, dict):
        problems.append(f"{at}: scope = {raw_scope!r}: must be a table like {{ region = 'EMEA' }}")
        raw_scope = {}
    for dim, value in raw_scope.items():
        if dim not in DIMENSIONS:
            problems.append(
                f"{at}: scope.{dim}: unknown dimension (allowed: {', '.join(DIMENSIONS)})"
            )
            continue
        rules[dim] = _strings(value, f"{at}: scope.{dim}", problems)
    label = entry.get("label", "")
    if not isinstance(label, str):
        problems.append(f"{at}: label = {label!r}: must be a string")
        label = ""
    scope = RowScope.of(label, **rules) if rules else RowScope(label or "All deals")
    return Grant(name, str(role), scope, emails, tuple(claims))


# --- the command line and the audit ----------------------------------------------------


def for_cli(user: str | None, path: str | Path | None = None) -> Access:
    """Who a command runs as: the local admin by default, `--as USER` that user's grant.

    A scheduled per-recipient report names the recipient; a name the access file does not
    grant is refused (deny by default) rather than producing an empty report.
    """
    if not user:
        return Access(f"cli:{getpass.getuser()}", "admin", RowScope(), "local command line")
    policy = load(path)
    found = policy.user(user)
    if found.denied:
        raise AccessError(
            f"--as {user}: the access file grants them nothing (deny by default)",
            [f"Add a [[grants]] entry naming {user} to {policy.source_path or path_in_force()}."],
        )
    return found


def require_admin(who: Access, action: str) -> None:
    """Refuse an admin action (import, replace, delete) to anyone else."""
    if not who.is_admin:
        raise AccessError(
            f"{who.who} may not {action}: only admins import, replace or delete snapshots",
            [f"Their role is {who.role!r} (grant {who.grant or 'none'})."],
        )


def record(db: str | Path | None, who: Access, action: str, target: str, detail: str = "") -> None:
    """Write one audit row (its own short transaction) after the action succeeded."""
    from steward import store

    with store.writer(db) as con:
        store.audit(con, who.who, action, target, who.scope.label, detail)
