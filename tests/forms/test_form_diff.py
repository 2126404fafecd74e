"""What changed between two versions of a form (schemas.diff): by field name, wherever the field is."""

from __future__ import annotations

from schemas.diff import compare

L = {"en": "A", "mn": "А"}


def version(fields: list[dict], choices: dict | None = None, **head) -> dict:
    return {"form": "f", "version": 1, "title": {"en": "F", "mn": "Ф"}, "choices": choices or {}, "fields": fields,
            **head}


def test_added_removed_changed_moved_and_choices():
    yes_no = {"yn": [{"name": "yes", "label": L}, {"name": "no", "label": L}]}
    old = version([
        {"name": "a", "type": "integer", "label": L, "min": 0},
        {"name": "gone", "type": "text", "label": L},
        {"name": "g", "type": "group", "label": L, "fields": [{"name": "inner", "type": "text", "label": L}]},
        {"name": "pick", "type": "select_one", "label": L, "list_name": "yn"},
        {"name": "same", "type": "date", "label": L},
    ], yes_no)
    new = version([
        {"name": "a", "type": "integer", "label": {"en": "A2", "mn": "А"}, "min": 1, "relevant": "${same} != ''"},
        {"name": "g", "type": "group", "label": L, "fields": [{"name": "fresh", "type": "note", "label": L}]},
        {"name": "inner", "type": "text", "label": L},
        {"name": "pick", "type": "select_one", "label": L, "list_name": "yn"},
        {"name": "same", "type": "date", "label": L},
    ], {"yn": [*yes_no["yn"], {"name": "maybe", "label": L}]}, sensitive=True)
    diff = compare(old, new)
    assert [(c.name, c.change) for c in diff.fields] == [
        ("a", "changed"), ("fresh", "added"), ("inner", "changed"), ("pick", "changed"), ("gone", "removed")]
    a = diff.changed[0]
    assert a.keys == ["label", "relevant", "min"]
    assert a.before == {"label": L, "relevant": None, "min": 0}
    assert a.after == {"label": {"en": "A2", "mn": "А"}, "relevant": "${same} != ''", "min": 1}
    inner = diff.changed[1]
    assert inner.keys == ["place"] and inner.place == "" and inner.before == {} and inner.after == {}
    assert diff.added[0].place == "g" and diff.added[0].after == {"type": "note", "label": L}
    pick = diff.changed[2]
    assert pick.keys == ["choices"] and pick.before == {"choices": ["yes", "no"]}
    assert pick.after == {"choices": ["yes", "no", "maybe"]}
    assert diff.removed[0].before == {"type": "text", "label": L}
    assert diff.form_keys == ["sensitive"]


def test_the_same_version_has_no_changes():
    definition = version([{"name": "a", "type": "integer", "label": L}])
    diff = compare(definition, dict(definition))
    assert diff.fields == [] and diff.form_keys == []
