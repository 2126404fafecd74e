"""Where each question lives, and which questions an expression may read.

Question names are unique in the whole form (as XLSForm requires for `${name}`),
so a reference names exactly one question.  A question inside a repeat has one
answer per entry: another question in the same entry, or in an inner repeat,
reads the answer of its own entry; anything outside the repeat cannot say which
entry it means and may only use `count(${repeat})`.

At run time the validator keeps a stack of "frames": the submission's data, then
the current entry of each repeat it is inside.  A reference compiles to "frame
number d, then these keys through groups", which costs a list index and a dict
lookup or two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemas.evaluation import Evaluator, Resolver
from schemas.expressions import ExpressionError


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    type: str
    path: str  # in the definition, e.g. "fields[3].fields[0]"
    repeats: tuple[str, ...]  # enclosing repeats, outermost first
    containers: tuple[str, ...]  # enclosing groups and repeats, outermost first
    keys: tuple[str, ...]  # from the innermost enclosing repeat entry (or the data) to the answer
    definition: dict = field(compare=False, repr=False)


def index_fields(
    field_list: Any,
) -> tuple[dict[str, FieldInfo], list[dict[str, str]]]:
    """Map each name to where it lives; also report names used twice.

    Reads raw, unvalidated definitions too: anything malformed is skipped here
    because the definition schema reports it.
    """
    index: dict[str, FieldInfo] = {}
    problems: list[dict[str, str]] = []
    _walk(field_list, "fields", (), (), (), index, problems)
    return index, problems


def _walk(
    items: Any,
    path: str,
    repeats: tuple[str, ...],
    containers: tuple[str, ...],
    keys: tuple[str, ...],
    index: dict[str, FieldInfo],
    problems: list[dict[str, str]],
) -> None:
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        name, kind, where = item["name"], item.get("type"), f"{path}[{i}]"
        if name in index:
            problems.append(
                {
                    "path": f"{where}.name",
                    "message": f"The name '{name}' is already used at {index[name].path}; "
                    "names must be unique in the whole form so that ${"
                    + name
                    + "} is unambiguous.",
                }
            )
        else:
            index[name] = FieldInfo(
                name, str(kind), where, repeats, containers, keys + (name,), item
            )
        if kind == "group":
            _walk(
                item.get("fields"),
                f"{where}.fields",
                repeats,
                containers + (name,),
                keys + (name,),
                index,
                problems,
            )
        elif kind == "repeat":
            _walk(
                item.get("fields"),
                f"{where}.fields",
                repeats + (name,),
                containers + (name,),
                (),
                index,
                problems,
            )


def frame_reader(depth: int, keys: tuple[str, ...]) -> Evaluator:
    """A closure reading the raw answer at `keys` below frame number `depth`."""
    if len(keys) == 1:
        (key,) = keys

        def read_one(env: Any) -> Any:
            return env.frames[depth].get(key)

        read_one.frame_key = (depth, key)  # type: ignore[attr-defined] - written out by expression_source
        return read_one

    def read_nested(env: Any) -> Any:
        node = env.frames[depth]
        for key in keys:
            if type(node) is not dict:
                return None
            node = node.get(key)
        return node

    return read_nested


class ScopeResolver(Resolver):
    """Resolves `${name}` as seen from a question inside the given repeats."""

    def __init__(
        self,
        index: dict[str, FieldInfo],
        repeats: tuple[str, ...],
        current: Callable[[Any], Any] | None = None,
    ) -> None:
        self.index = index
        self.repeats = repeats
        self.current_reader = current

    def _visible(self, name: str, pos: int) -> FieldInfo:
        info = self.index.get(name)
        if info is None:
            raise ExpressionError(f"${{{name}}} is not a question of this form", pos)
        if self.repeats[: len(info.repeats)] != info.repeats:
            raise ExpressionError(
                f"${{{name}}} is inside repeat '{info.repeats[-1]}' and has one answer per entry; "
                f"from outside that repeat use count(${{{info.repeats[-1]}}})",
                pos,
            )
        return info

    def value(self, name: str, pos: int) -> Evaluator:
        info = self._visible(name, pos)
        if info.type == "repeat":
            raise ExpressionError(f"${{{name}}} is a repeat; use count(${{{name}}})", pos)
        if info.type == "group":
            raise ExpressionError(f"${{{name}}} is a group; refer to a question inside it", pos)
        if info.type == "note":
            raise ExpressionError(f"${{{name}}} is a note and has no answer", pos)
        return frame_reader(len(info.repeats), info.keys)

    def repeat(self, name: str, pos: int) -> Evaluator:
        info = self._visible(name, pos)
        if info.type != "repeat":
            raise ExpressionError(f"count() takes a repeat, and ${{{name}}} is a {info.type}", pos)
        return frame_reader(len(info.repeats), info.keys)

    def current(self, pos: int) -> Evaluator:
        if self.current_reader is None:
            return super().current(pos)
        return self.current_reader


def read_current(env: Any) -> Any:
    """`.` in a constraint: the answer being checked, set by the validator."""
    return env.current


read_current.reads_current = True  # type: ignore[attr-defined] - written out by expression_source
