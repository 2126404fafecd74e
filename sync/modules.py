"""Programme modules switched on and off per deployment: an admin's document in ``global``.

The programme modules (growth monitoring, LQAS, the family card, WASH, child
protection cases, community scorecards) are bundled forms and code that every
deployment has; a deployment that does not run a programme switches its
module off. The setting is ``global:settings:modules`` (``on``: module name ->
true/false; a module it does not name is on, so a fresh deployment, and a
module added by a later release, starts with everything on, as before the
switch existed). Saved like the other admin settings: it names the revision
it edited (a save in between is a conflict) and goes into the audit trail
(``module.switched``, with the modules before and after).

What "off" means, module by module (``MODULES``): the web pages and menu
entries of the module are hidden (``server/web/modules_gate.py``), and its
bundled forms are *closed* (``FormRegistry.close``): not offered to devices
for new submissions, refused by the gate when started after the switch-off,
their submissions kept, shown and exported. Switching it on again publishes
them again; nothing else changed meanwhile. The example forms that came before
the programme modules (``child_growth``, ``household_visit``,
``health_scorecard``, ``ger_kindergarten_visit``) belong to no module; the fifth,
``child_protection_referral``, opens cases and belongs to that module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync import records
from sync.audit import Audit
from sync.clock import now_iso
from sync.errors import BadRequest, Conflict
from sync.forms import FormRegistry
from sync.scopes import GLOBAL
from sync.stores.base import Store

DOC_ID = "global:settings:modules"


@dataclass(frozen=True)
class Module:
    name: str
    label: dict[str, str]  # {"en", "mn"}, what the admin page and the pages of a switched-off module say
    forms: tuple[str, ...]


MODULES: tuple[Module, ...] = (
    Module("growth", {"en": "Growth monitoring", "mn": "Өсөлт хөгжлийн хяналт"}, ("growth_visit",)),
    Module("lqas", {"en": "LQAS surveys", "mn": "LQAS судалгаа"}, ("lqas_interview",)),
    Module("families", {"en": "Family card (FES)", "mn": "Гэр бүлийн карт (ГБЧО)"},
           ("family_assessment", "awareness_session", "community_project")),
    Module("wash", {"en": "WASH in kindergartens", "mn": "Цэцэрлэгийн ус, ариун цэвэр"},
           ("kindergarten_wash_visit",)),
    Module("cases", {"en": "Child protection cases", "mn": "Хүүхэд хамгааллын тохиолдол"},
           ("child_protection_referral",)),
    Module("scorecards", {"en": "Community scorecards", "mn": "Иргэдийн үнэлгээний карт"},
           ("scorecard_cycle", "scorecard_followup", "scorecard_input_tracking")),
)
BY_NAME = {m.name: m for m in MODULES}
FORM_MODULE = {form: m.name for m in MODULES for form in m.forms}


class ModuleSwitch:
    """Reads and saves which modules are on, and keeps the modules' forms open or closed to match."""

    def __init__(self, store: Store, forms: FormRegistry, audit: Audit | None = None) -> None:
        self.store = store
        self.forms = forms
        self.audit = audit or Audit(store)

    def get(self) -> dict[str, Any]:
        """The stored document, or ``{}`` (everything on) before an admin has saved one."""
        return records.read(self.store.ensure(GLOBAL), DOC_ID) or {}

    def states(self, doc: dict[str, Any] | None = None) -> dict[str, bool]:
        """Every module's state: on unless the setting says false."""
        stored = (self.get() if doc is None else doc).get("on")
        stored = stored if isinstance(stored, dict) else {}
        return {m.name: stored.get(m.name) is not False for m in MODULES}

    def off(self) -> set[str]:
        return {name for name, on in self.states().items() if not on}

    def save(self, on: dict[str, bool], *, actor: str, rev: str | None) -> str:
        """Store the switches (every module named, true or false), then close or reopen the forms."""
        unknown = sorted(set(on) - set(BY_NAME))
        if unknown:
            raise BadRequest(f"{', '.join(unknown)} is not a programme module.")
        if any(not isinstance(v, bool) for v in on.values()) or set(on) != set(BY_NAME):
            raise BadRequest("Every programme module is switched on or off.")
        current = self.get()
        if (current.get("_rev") or None) != (rev or None):
            raise Conflict("The modules were switched by someone else in the meantime.")
        before = self.states(current)
        doc = {"_id": DOC_ID, "type": "settings", "name": "modules",
               "on": {m.name: on[m.name] for m in MODULES}, "changed_by": actor, "changed_at": now_iso()}
        if rev:
            doc["_rev"] = rev
        result = self.store.ensure(GLOBAL).bulk_docs([doc], new_edits=True)[0]
        if "error" in result:
            raise Conflict("The modules were switched by someone else in the meantime.")
        self.audit.record(actor=actor, action="module.switched", scope=GLOBAL, doc_id=DOC_ID,
                          before=before, after=doc["on"])
        self.apply(actor=actor)
        return result["rev"]

    def apply(self, *, actor: str) -> list[dict]:
        """Close the forms of the modules that are off, reopen those of the modules that are on.

        Idempotent (what already matches is left alone), so it also mends a save whose form
        changes were cut short. Each version closed or reopened is an audit entry
        (``form.closed``, ``form.reopened``)."""
        changed = []
        for name, is_on in self.states().items():
            for form in BY_NAME[name].forms:
                for doc in (self.forms.reopen(form) if is_on else self.forms.close(form)):
                    self.audit.record(actor=actor, action="form.reopened" if is_on else "form.closed",
                                      scope=GLOBAL, doc_id=doc["_id"], form=doc["form"], version=doc["version"],
                                      module=name)
                    changed.append(doc)
        return changed

    def switch_all_on(self, *, actor: str) -> None:
        """Every module on (``fieldsync demo``): writes only when one is off."""
        if all(self.states().values()):
            return
        self.save({m.name: True for m in MODULES}, actor=actor, rev=self.get().get("_rev"))
