"""Turns a loaded form definition into one checking function for its submissions.

Every answer check becomes a closure that already holds its bounds, choice
set and pattern; each group, repeat entry and the submission itself gets one
generated function with its questions' skip logic, `required` and constraint
written out in it.  Checking a submission is then a walk over the answers with
no lookups in the definition, which is what lets one core check tens of
thousands of submissions a second (see bench/bench_validation.py).

Rules, as ODK applies them:
- a question whose `relevant` is false (or inside a group or repeat whose
  `relevant` is false) is not asked: it must be empty and is not required;
- an empty answer (missing, null, "", []) only fails `required`; type, limits and
  `constraint` are checked on answers that are there;
- a key that names no question of the form version is refused, so that answers
  never silently disappear from exports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas import answers
from schemas.evaluation import compile_condition
from schemas.messages import pick_text
from schemas.scope import FieldInfo, ScopeResolver, index_fields, read_current

Node = Callable[[Any, Any, str], None]

_MAKERS = {
    "text": answers.make_text,
    "integer": answers.make_integer,
    "decimal": answers.make_decimal,
    "date": answers.make_date,
    "datetime": answers.make_datetime,
    "geopoint": answers.make_geopoint,
    "image": answers.make_image,
}


class Run:
    """The state of checking one submission: where we are and what is wrong."""

    __slots__ = ("frames", "current", "attachments", "text", "lang", "problems", "memo")

    def __init__(self, data: dict, attachments: dict, text: dict[str, str], lang: str) -> None:
        self.frames = [data]
        self.memo: dict[int, bool] = {}  # skip rules already evaluated in the innermost frame
        self.current: Any = None
        self.attachments = attachments
        self.text = text
        self.lang = lang
        self.problems: dict[str, list[str]] = {}

    def add(self, path: str, key: str, **params: Any) -> bool:
        message = self.text[key].format(**params) if params else self.text[key]
        self.problems.setdefault(path, []).append(message)
        return False

    def add_custom(self, path: str, texts: dict[str, str] | None, fallback: str) -> bool:
        """Report with the form author's message when there is one."""
        message = pick_text(texts, self.lang) or self.text[fallback]
        self.problems.setdefault(path, []).append(message)
        return False


def build_checker(definition: dict) -> Callable[[Run], None]:
    """The function that checks `run.frames[0]` (the data) against `definition`."""
    index, _ = index_fields(definition["fields"])
    choices = {name: [c["name"] for c in items] for name, items in definition["choices"].items()}
    root = _container(definition["fields"], index, choices, {})

    def check(run: Run) -> None:
        root(run.frames[0], run, "")

    return check


class _Question:
    """A question, for its container to inline (see ``_container``)."""

    __slots__ = ("field", "relevant", "check_value", "constraint", "choices")

    def __init__(self, field: dict, relevant: Any, check_value: answers.Check,
                 constraint: Callable[[Any], bool] | None, choices: list[str] | None) -> None:
        self.field = field
        self.relevant = relevant
        self.check_value = check_value
        self.constraint = constraint
        self.choices = choices


def _container(
    fields: list[dict], index: dict[str, FieldInfo], choices: dict[str, list[str]], shared: dict
) -> Node:
    """Checks the answers of a group, a repeat entry or the whole submission.

    The check is generated as one Python function with every question of the
    container written out in it, rather than a loop calling a closure per
    question: the loop and the calls were half the cost of checking a typical
    submission. A select_one, integer or text answer is first tested right
    there (``answers.quick_test``), before asking whether it is empty; only an
    answer that fails the test calls its check, which says what is wrong. A
    skip rule is read from the frame's memo once per container and kept in a
    local, since most questions of a form share a few rules.
    Groups, repeats and notes stay closures, called from the generated code.
    """
    parts = [(f["name"], _node(f, index, choices, shared)) for f in fields]
    env: dict[str, Any] = {"KNOWN": frozenset(name for name, _ in parts), "is_empty": answers.is_empty,
                           "EMPTY": (None, "", [])}
    lines = [
        "def check(answers_, run, prefix):",
        "    if not KNOWN.issuperset(answers_):",
        "        for key in answers_:",
        "            if key not in KNOWN:",
        "                run.add(prefix + str(key), 'unknown', name=str(key)[:100])",
        "    memo = run.memo",
    ]
    read_rules: set[int] = set()
    for i, (name, part) in enumerate(parts):
        key = repr(name)
        if not isinstance(part, _Question):
            env[f"N{i}"] = part
            lines.append(f"    N{i}(answers_.get({key}), run, prefix)")
            continue
        env[f"C{i}"] = part.check_value
        lines.append(f"    v = answers_.get({key})")
        branch = "if"
        if part.relevant is not None:
            token = part.relevant.token
            if token not in read_rules:
                read_rules.add(token)
                env[f"R{token}"] = part.relevant.condition
                lines += [f"    r{token} = memo.get({token})",
                          f"    if r{token} is None:",
                          f"        r{token} = memo[{token}] = R{token}(run)"]
            lines += [f"    if not r{token}:",
                      "        if not is_empty(v):",
                      f"            run.add(prefix + {key}, 'not_relevant')"]
            branch = "elif"
        constrained = []
        if part.constraint is not None:
            env[f"K{i}"], env[f"M{i}"] = part.constraint, part.field.get("constraint_message")
            constrained = ["        run.current = v",
                           f"        if not K{i}(run):",
                           f"            run.add_custom(prefix + {key}, M{i}, 'constraint')"]
        quick = answers.quick_test(part.field, part.choices, str(i))
        if quick is not None:
            # The usual answer, present and valid, passes this one test and no other.
            env.update(quick[1])
            lines += [f"    {branch} {quick[0]}:", *(constrained or ["        pass"])]
            branch = "elif"
        lines += [f"    {branch} v in EMPTY:",
                  f"        run.add(prefix + {key}, 'required')" if part.field.get("required") else "        pass"]
        check = f"C{i}(v, run, prefix + {key})"
        lines += [f"    elif {check}:", *constrained] if constrained else ["    else:", f"        {check}"]
    # Only names made here and repr() of the form's field names reach the source.
    exec(compile("\n".join(lines), "<form container>", "exec"), env)
    return env["check"]


def _node(field: dict, index: dict[str, FieldInfo], choices: dict[str, list[str]],
          shared: dict) -> Node | _Question:
    info = index[field["name"]]
    relevant = None
    if "relevant" in field:
        relevant = _shared_condition(field["relevant"], index, info.repeats, shared)
    kind = field["type"]
    if kind == "group":
        return _group(field, relevant, _container(field["fields"], index, choices, shared))
    if kind == "repeat":
        return _repeat(field, relevant, _container(field["fields"], index, choices, shared))
    if kind == "note":
        return _note(field["name"], relevant)
    names = None
    if kind in ("select_one", "select_multiple"):
        make = answers.make_select_one if kind == "select_one" else answers.make_select_multiple
        names = choices[field["list_name"]]
        check_value = make(field, names)
    else:
        check_value = _MAKERS[kind](field)
    constraint = None
    if "constraint" in field:
        constraint = compile_condition(
            field["constraint"], ScopeResolver(index, info.repeats, read_current)
        )
    return _Question(field, relevant, check_value, constraint, names)


def _shared_condition(text: str, index: dict[str, FieldInfo], repeats: Any,
                      shared: dict) -> Callable[[Run], bool]:
    """One compiled skip rule per text and repeat scope, evaluated once per frame.

    Forms repeat the same skip logic on many questions (most questions of a
    household visit ask "${consent} = 'yes'"); ``shared`` belongs to one form's
    build, so forms never share conditions.
    """
    key = (text, repeats)
    found = shared.get(key)
    if found is not None:
        return found
    condition = compile_condition(text, ScopeResolver(index, repeats))
    token = len(shared) + 1

    def relevant(run: Run) -> bool:
        # The innermost frame (the data, or one repeat entry) fixes every value a
        # skip rule can read; each frame gets a memo of its own (see _repeat).
        memo = run.memo
        value = memo.get(token)
        if value is None:
            value = memo[token] = condition(run)
        return value

    relevant.token = token  # type: ignore[attr-defined] - read by _container's generated code
    relevant.condition = condition  # type: ignore[attr-defined]
    shared[key] = relevant
    return relevant


def _note(name: str, relevant: Callable[[Any], bool] | None) -> Node:
    def check(value: Any, run: Run, prefix: str) -> None:
        if not answers.is_empty(value):
            shown = relevant is None or relevant(run)
            run.add(prefix + name, "note" if shown else "not_relevant")

    return check


def _group(field: dict, relevant: Callable[[Any], bool] | None, inner: Node) -> Node:
    name = field["name"]

    def check(value: Any, run: Run, prefix: str) -> None:
        if relevant is not None and not relevant(run):
            if not answers.is_empty(value):
                run.add(prefix + name, "not_relevant")
            return
        if value is None:
            value = {}
        elif type(value) is not dict:
            run.add(prefix + name, "group")
            return
        inner(value, run, prefix + name + ".")

    return check


def _repeat(field: dict, relevant: Callable[[Any], bool] | None, inner: Node) -> Node:
    name = field["name"]
    fewest = field.get("min_count")
    most = field.get("max_count")

    def check(value: Any, run: Run, prefix: str) -> None:
        path = prefix + name
        if relevant is not None and not relevant(run):
            if not answers.is_empty(value):
                run.add(path, "not_relevant")
            return
        if value is None:
            value = []
        elif type(value) is not list:
            run.add(path, "repeat")
            return
        if fewest is not None and len(value) < fewest:
            run.add(path, "min_count", n=fewest)
        if most is not None and len(value) > most:
            run.add(path, "max_count", n=most)
        frames = run.frames
        outer_memo = run.memo
        for i, entry in enumerate(value):
            if type(entry) is not dict:
                run.add(f"{path}[{i}]", "entry")
                continue
            frames.append(entry)
            run.memo = {}
            inner(entry, run, f"{path}[{i}].")
            frames.pop()
        run.memo = outer_memo

    return check
