"""The main menu of the coordinators' and admins' pages: a few groups, each a <details> disclosure.

A flat list had grown past a dozen links and wrapped onto three lines on a laptop in
Mongolian. Grouped as ODK Central, KoboToolbox and the Community Health Toolkit keep
their top menus: the areas (where a coordinator starts, and where submissions are read),
what waits for the coordinator's decision (Review), the programmes' pages, the data
leaving or reaching the server (Data), and the admins' set-up pages (Admin). The audit
log sits under Data, not Admin, because coordinators read it too (their areas' entries).

The menu is built here, not in the template, so which group holds the current page is
decided once, by endpoint: the admin pages of WASH and of the family card share their
blueprint with programme pages, and must light up Admin, not Programmes.
A new page adds its entry to ``MENU``; a programme module's entry names its module, and is
left out while an admin has the module switched off (``sync.modules``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import request, url_for
from flask_babel import lazy_gettext

from sync.accounts.users import User


@dataclass(frozen=True)
class Entry:
    label: object  # a lazy message, translated when the page is rendered
    endpoint: str
    # Further pages that belong to this entry: whole blueprints ("web.cases") or endpoints.
    owns: tuple[str, ...] = ()
    admin: bool = False
    module: str | None = None  # a programme module (sync.modules): the entry is left out while it is off


@dataclass(frozen=True)
class Group:
    key: str
    label: object
    entries: tuple[Entry, ...] = field(default_factory=tuple)


AREAS = Entry(lazy_gettext("Areas"), "web.home.index", owns=("web.submissions",))
MENU: tuple[Group, ...] = (
    Group("review", lazy_gettext("Review"), (
        Entry(lazy_gettext("Conflicts"), "web.conflicts.listing", owns=("web.conflicts",)),
        Entry(lazy_gettext("Quarantine"), "web.quarantine.listing", owns=("web.quarantine",)),
    )),
    Group("programmes", lazy_gettext("Programmes"), (
        Entry(lazy_gettext("Reports"), "web.reports.page", owns=("web.reports",)),
        Entry(lazy_gettext("WASH"), "web.wash.report", owns=("web.wash",), module="wash"),
        Entry(lazy_gettext("Scorecards"), "web.scorecards.report", owns=("web.scorecards",), module="scorecards"),
        Entry(lazy_gettext("Cases"), "web.cases.listing", owns=("web.cases",), module="cases"),
        Entry(lazy_gettext("Families"), "web.families.index", owns=("web.families",), module="families"),
    )),
    Group("data", lazy_gettext("Data"), (
        Entry(lazy_gettext("Exports"), "web.exports.page", owns=("web.exports",)),
        Entry(lazy_gettext("Who has synced"), "web.monitor.status", owns=("web.monitor",)),
        Entry(lazy_gettext("Audit log"), "web.audit_log.listing", owns=("web.audit_log",)),
        Entry(lazy_gettext("API reference"), "web.api_docs.page", owns=("web.api_docs",)),
    )),
    Group("admin", lazy_gettext("Admin"), (
        Entry(lazy_gettext("Forms"), "web.admin_forms.listing", owns=("web.admin_forms",), admin=True),
        Entry(lazy_gettext("Users"), "web.admin_users.listing", owns=("web.admin_users",), admin=True),
        Entry(lazy_gettext("Area tree"), "web.admin_areas.listing", owns=("web.admin_areas",), admin=True),
        Entry(lazy_gettext("LQAS set-up"), "web.lqas_admin.setup", owns=("web.lqas_admin", "web.lqas_rules"),
              admin=True, module="lqas"),
        Entry(lazy_gettext("Family card areas"), "web.families.areas_page", owns=("web.families.areas_save",), admin=True,
              module="families"),
        Entry(lazy_gettext("Family assessment indicators"), "web.families.indicators_page",
              owns=("web.families.indicators_save",), admin=True, module="families"),
        Entry(lazy_gettext("WASH norms"), "web.wash.norms", owns=("web.wash.norms_save",), admin=True, module="wash"),
        Entry(lazy_gettext("Modules"), "web.admin_modules.page_view", owns=("web.admin_modules",), admin=True),
    )),
)


@dataclass
class Link:
    label: object
    href: str
    current: str | None  # "page" on the entry's own page, "true" on another page it owns, else None


@dataclass
class ShownGroup:
    key: str
    label: object
    links: list[Link]

    @property
    def current(self) -> bool:
        return any(link.current for link in self.links)


def _owner(endpoint: str | None, blueprint: str | None) -> Entry | None:
    """The entry the current page belongs to: an endpoint named by an entry wins over a blueprint."""
    if not endpoint:
        return None
    entries = [AREAS, *(e for g in MENU for e in g.entries)]
    for e in entries:
        if endpoint == e.endpoint or endpoint in e.owns:
            return e
    for e in entries:
        if blueprint and blueprint in e.owns:
            return e
    return None


def _link(entry: Entry, owner: Entry | None, endpoint: str | None) -> Link:
    current = None
    if entry is owner:
        current = "page" if endpoint == entry.endpoint and not request.view_args else "true"
    return Link(entry.label, url_for(entry.endpoint), current)


def main_menu(user: User | None) -> tuple[Link | None, list[ShownGroup]]:
    """The Areas link and the groups this user may open (empty groups left out), current marked."""
    if user is None or user.role not in ("coordinator", "admin"):
        return None, []
    from .modules_gate import off  # noqa: PLC0415 - it reads services(), which imports the pages

    endpoint, blueprint = request.endpoint, request.blueprint
    owner = _owner(endpoint, blueprint)
    switched_off = off()
    groups = []
    for group in MENU:
        links = [_link(e, owner, endpoint) for e in group.entries
                 if (user.is_admin or not e.admin) and e.module not in switched_off]
        if links:
            groups.append(ShownGroup(group.key, group.label, links))
    return _link(AREAS, owner, endpoint), groups
