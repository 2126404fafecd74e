"""Community scorecards (CARE / World Bank): cycles compared on one 0-100 scale.

A cycle (``scorecard_cycle``) records its own scale (0-100%, 1-10, 1-5: the
toolkit leaves it to each cycle), the focus groups' scores per indicator, the
provider's self-evaluation and the action plan; follow-ups
(``scorecard_followup``) change the actions' status later. What is computed
(``../shared/programmes.md`` section 6):

- ``normalise``: ``(s - min) / (max - min) * 100``, so cycles on different
  scales compare;
- per indicator, the community score is the mean of the focus groups' scores
  (each group's also kept, so women's and men's views stay visible), the
  provider's score, and the gap = community - provider (normalised);
- a cycle's overall score is the mean of its indicators' community scores;
- trend = this cycle - the previous cycle, per indicator and facility;
- action-plan completion = done / agreed actions, each action at its latest
  status (the follow-up with the latest date, else the plan's);
- input tracking (``scorecard_input_tracking``): each input's actual as a
  share of its entitlement, and how many inputs meet their entitlement.

Cycles of a facility are matched by ``facility_key``: the id of the facility's
register document (``<area>:fac:<key>``, the forms' optional ``facility``
answer) when the submission names one, else the type and the typed name with
case and spacing ignored (every cycle made before the register). ``assign``
then moves such name-only values onto the registered facility of the same
type and name, so a soum's old cycles and its new ones stay one facility.
Indicators are the community's own words, matched by name the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

CYCLE_FORM = "scorecard_cycle"
FOLLOWUP_FORM = "scorecard_followup"
INPUTS_FORM = "scorecard_input_tracking"
METHOD = {"name": "community-scorecard", "version": 1,
          "rules": "normalised (s - min) / (max - min) * 100; community = mean of focus groups"}
CYCLE_COLUMNS = ("facility_key", "cycle_no", "meeting_date", "scale_min", "scale_max", "overall",
                 "overall_provider", "actions_agreed", "actions_done")
FOLLOWUP_COLUMNS = ("facility_key", "cycle_no", "followup_date")
INPUTS_COLUMNS = ("facility_key", "cycle_no", "tracking_date", "inputs_met", "inputs_tracked")
DONE, DROPPED = "done", "dropped"
OPEN = ("planned", "in_progress")


def plain(text: Any) -> str:
    """Case and spacing ignored: how names typed on different days are matched."""
    return " ".join(str(text or "").split()).casefold()


def facility_key(facility_type: Any, name: Any) -> str:
    """The key of a facility known by its typed name only: type and name, case and spacing ignored."""
    return f"{facility_type}~{plain(name)}"


def key_of(data: Mapping[str, Any]) -> str:
    """A submission's facility: the register id it names, else its type and typed name."""
    linked = data.get("facility")
    if isinstance(linked, str) and linked.strip():
        return linked.strip()
    return facility_key(data.get("facility_type"), data.get("facility_name"))


def assign(values: Iterable[Mapping[str, Any]], register: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Derived values with each name-only ``facility_key`` moved to the registered facility of that
    type and name (``register``: ``{id: {"name", "facility_type"}}``), when there is exactly one.

    Values that name a register id keep it, whatever name was typed with it; a name that two
    register entries share stays name-only rather than be given to either.
    """
    by_name: dict[str, list[str]] = {}
    for rid, entry in register.items():
        by_name.setdefault(facility_key(entry.get("facility_type"), entry.get("name")), []).append(rid)
    out = []
    for v in values:
        found = by_name.get(str(v.get("facility_key")))
        out.append({**v, "facility_key": found[0]} if found and len(found) == 1 else dict(v))
    return out


def normalise(score: float, low: float, high: float) -> float:
    """A score on the cycle's scale as 0-100; ValueError for an empty or inverted scale."""
    if high <= low:
        raise ValueError(f"a scale needs its highest score above its lowest ({low}..{high})")
    if not low <= score <= high:
        raise ValueError(f"score {score} is outside the scale {low}..{high}")
    return (score - low) / (high - low) * 100


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def summarise_cycle(data: Mapping[str, Any]) -> dict[str, Any]:
    """``derived`` of one scorecard_cycle: normalised scores per indicator, overall, the plan."""
    low, high = data.get("scale_min"), data.get("scale_max")
    if not isinstance(low, int) or not isinstance(high, int):
        raise ValueError("a scorecard cycle states its scale (scale_min, scale_max)")
    by_indicator: dict[str, dict[str, Any]] = {}
    for row in data.get("community_scores") or ():
        key = plain(row.get("indicator"))
        entry = by_indicator.setdefault(key, {"indicator": " ".join(str(row["indicator"]).split()),
                                              "groups": {}, "provider": None})
        entry["groups"].setdefault(row.get("group_type") or "other", []).append(
            normalise(row["score"], low, high))
    for row in data.get("provider_scores") or ():
        key = plain(row.get("p_indicator"))
        entry = by_indicator.setdefault(key, {"indicator": " ".join(str(row["p_indicator"]).split()),
                                              "groups": {}, "provider": None})
        entry["provider"] = normalise(row["p_score"], low, high)
    indicators, exact_community, exact_provider = [], [], []
    for key, entry in by_indicator.items():
        # Each group's mean first, then the mean of the groups: a group of ten rows weighs as one.
        groups = {g: _mean(v) for g, v in entry["groups"].items()}
        community = _mean([v for v in groups.values() if v is not None])
        provider = entry["provider"]
        if community is not None:
            exact_community.append(community)
        if provider is not None:
            exact_provider.append(provider)
        indicators.append({
            "key": key, "indicator": entry["indicator"], "community": _r(community),
            "groups": {g: _r(v) for g, v in sorted(groups.items())}, "provider": _r(provider),
            "gap": _r(community - provider) if community is not None and provider is not None else None})
    # From the unrounded indicator scores: rounding is for showing only.
    overall, overall_provider = _mean(exact_community), _mean(exact_provider)
    actions = [{"action_no": a["action_no"], "action": a.get("action"), "responsible": a.get("responsible"),
                "deadline": a.get("deadline"), "status": a.get("status")}
               for a in data.get("actions") or ()]
    return {
        "facility_key": key_of(data), "facility": data.get("facility") or None,
        "facility_name": " ".join(str(data.get("facility_name") or "").split()),
        "facility_type": data.get("facility_type"), "cycle_no": data.get("cycle_no"),
        "meeting_date": data.get("meeting_date"), "scale_min": low, "scale_max": high,
        "scale_labels": data.get("scale_labels"),
        "indicators": indicators, "overall": _r(overall), "overall_provider": _r(overall_provider),
        "participants": {"women": data.get("participants_women"), "men": data.get("participants_men")},
        "actions": actions, "actions_agreed": len(actions),
        "actions_done": sum(1 for a in actions if a["status"] == DONE),
    }


def summarise_followup(data: Mapping[str, Any]) -> dict[str, Any]:
    """``derived`` of one scorecard_followup: which cycle it follows and the statuses it sets."""
    if not data.get("followup_date"):
        raise ValueError("a follow-up has its date")
    return {"facility_key": key_of(data), "facility": data.get("facility") or None,
            "cycle_no": data.get("cycle_no"), "followup_date": data.get("followup_date"),
            "updates": [{"action_no": u["action_no"], "status": u["status"], "note": u.get("note")}
                        for u in data.get("updates") or ()]}


def action_statuses(cycle: Mapping[str, Any], followups: Iterable[Mapping[str, Any]],
                    today: date) -> list[dict[str, Any]]:
    """The cycle's actions at their latest status, with ``status_date`` and ``overdue``.

    Follow-ups of the same facility and cycle apply in date order; an action
    is overdue when its deadline has passed and it is neither done nor dropped.
    """
    actions = {a["action_no"]: {**a, "status_date": cycle.get("meeting_date"), "note": None}
               for a in cycle.get("actions") or ()}
    mine = [f for f in followups
            if f.get("facility_key") == cycle.get("facility_key") and f.get("cycle_no") == cycle.get("cycle_no")]
    for f in sorted(mine, key=lambda f: str(f.get("followup_date"))):
        for u in f.get("updates") or ():
            if u.get("action_no") in actions:
                actions[u["action_no"]].update(status=u["status"], status_date=f["followup_date"],
                                               note=u.get("note"))
    out = []
    for a in sorted(actions.values(), key=lambda a: a["action_no"]):
        overdue = a["status"] in OPEN and bool(a.get("deadline")) and a["deadline"] < today.isoformat()
        out.append({**a, "overdue": overdue})
    return out


def completion(actions: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Done / agreed actions (dropped ones were agreed too), and how many are overdue."""
    done = sum(1 for a in actions if a.get("status") == DONE)
    return {"agreed": len(actions), "done": done, "overdue": sum(1 for a in actions if a.get("overdue")),
            "pct": round(100 * done / len(actions), 1) if actions else None}


def compare(cycles: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A facility's cycles side by side: per indicator its community score in each cycle.

    ``{"cycles": [cycle_no...], "rows": [{"indicator", "scores": {cycle_no: score},
    "trend": latest - previous (None unless both have it)}], "overall": {cycle_no: score},
    "overall_trend"}``. Cycles sorted by number; a repeated number keeps the later meeting.
    """
    by_no: dict[int, Mapping[str, Any]] = {}
    for c in sorted(cycles, key=lambda c: (c.get("cycle_no") or 0, str(c.get("meeting_date")))):
        by_no[c.get("cycle_no") or 0] = c
    numbers = sorted(by_no)
    rows: dict[str, dict[str, Any]] = {}
    for no in numbers:
        for ind in by_no[no].get("indicators") or ():
            row = rows.setdefault(ind["key"], {"indicator": ind["indicator"], "scores": {}, "provider": {}})
            row["scores"][no] = ind.get("community")
            row["provider"][no] = ind.get("provider")
    last, prev = (numbers[-1], numbers[-2]) if len(numbers) >= 2 else (None, None)
    for row in rows.values():
        a, b = row["scores"].get(last), row["scores"].get(prev)
        row["trend"] = _r(a - b) if a is not None and b is not None else None
    overall = {no: by_no[no].get("overall") for no in numbers}
    oa, ob = overall.get(last), overall.get(prev)
    return {"cycles": numbers, "rows": list(rows.values()), "overall": overall,
            "overall_trend": _r(oa - ob) if oa is not None and ob is not None else None}


def soum_trend(comparisons: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A soum's facilities together: the mean of their latest overall scores, and the mean trend.

    The trend is over the facilities that have a cycle before their latest
    (each facility's latest - previous, then the mean), so a facility scored
    once does not pull the soum's trend either way.
    """
    latest, trends = [], []
    for c in comparisons:
        numbers = c.get("cycles") or []
        if numbers and c["overall"].get(numbers[-1]) is not None:
            latest.append(c["overall"][numbers[-1]])
        if c.get("overall_trend") is not None:
            trends.append(c["overall_trend"])
    return {"facilities": len(latest), "latest_mean": _r(_mean(latest)), "compared": len(trends),
            "trend_mean": _r(_mean(trends))}


def summarise_inputs(data: Mapping[str, Any]) -> dict[str, Any]:
    """``derived`` of one scorecard_input_tracking: actual against entitlement per input.

    ``pct`` = actual / entitlement x 100 (None for an entitlement of 0); an
    input is met when actual >= entitlement.
    """
    if not data.get("tracking_date"):
        raise ValueError("an input tracking has its date")
    inputs = []
    for row in data.get("inputs") or ():
        entitled, actual = row["entitlement"], row["actual"]
        inputs.append({"input": " ".join(str(row["input"]).split()), "entitlement": entitled, "actual": actual,
                       "pct": _r(actual / entitled * 100) if entitled else None, "met": actual >= entitled,
                       "remark": row.get("remark")})
    return {"facility_key": key_of(data), "facility": data.get("facility") or None,
            "cycle_no": data.get("cycle_no"), "tracking_date": data["tracking_date"], "inputs": inputs,
            "inputs_met": sum(1 for i in inputs if i["met"]), "inputs_tracked": len(inputs)}
