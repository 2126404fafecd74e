"""Checks of one answer against its question's type and limits.

Each `make_*` function runs once per question when a form is compiled and returns
a small closure specialised to that question (its bounds, its choice set, its
pattern), so that checking a submission does no per-question set-up at all.
A closure records what is wrong through `run.add(path, message_key, **params)`
and returns True when the answer is usable for the question's constraint.

Answer formats (JSON as the device sends it):
- integer: a JSON integer (not 3.5, "3" or true); decimal: any JSON number;
- text: a string;  date: "YYYY-MM-DD";  datetime: ISO 8601 with a time, with an
  offset or "Z" or neither (then read as UTC when compared);
- select_one: a choice name; select_multiple: a list of distinct choice names
  (not the space-separated string of ODK: JSON has lists, exports need no parsing);
- geopoint: {"lat", "lon"[, "alt", "accuracy"]} or ODK's "lat lon [alt [accuracy]]";
- image: the name of an attachment of the submission document (`_attachments`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from schemas.evaluation import date_number

Check = Callable[[Any, Any, str], bool]

DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATETIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2})?)(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_GEO_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_GEO_KEYS = frozenset({"lat", "lon", "alt", "accuracy"})
_SHOWN_CHOICES = 12


def show(number: Any) -> str:
    """A bound as people write it: 5, not 5.0."""
    if type(number) is float and number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return str(number)


def make_text(field: dict) -> Check:
    shortest = field.get("min_length")
    longest = field.get("max_length")
    pattern = re.compile(field["pattern"]) if "pattern" in field else None
    message = field.get("constraint_message")

    def check(value: Any, run: Any, path: str) -> bool:
        if type(value) is not str:
            run.add(path, "text")
            return False
        ok = True
        if shortest is not None and len(value) < shortest:
            ok = run.add(path, "min_length", n=shortest)
        if longest is not None and len(value) > longest:
            ok = run.add(path, "max_length", n=longest)
        if pattern is not None and pattern.fullmatch(value) is None:
            ok = run.add_custom(path, message, "pattern")
        return ok

    return check


def _make_range(field: dict, low_key: str, high_key: str) -> Callable[[Any, Any, str], bool]:
    low, high = field.get("min"), field.get("max")
    shown_low, shown_high = show(low), show(high)

    if low is None and high is None:
        return lambda value, run, path: True

    def in_range(value: Any, run: Any, path: str) -> bool:
        if low is not None and value < low:
            return run.add(path, low_key, min=shown_low)
        if high is not None and value > high:
            return run.add(path, high_key, max=shown_high)
        return True

    return in_range


def make_integer(field: dict) -> Check:
    in_range = _make_range(field, "min", "max")

    def check(value: Any, run: Any, path: str) -> bool:
        if type(value) is not int:
            run.add(path, "integer")
            return False
        return in_range(value, run, path)

    return check


def make_decimal(field: dict) -> Check:
    in_range = _make_range(field, "min", "max")

    def check(value: Any, run: Any, path: str) -> bool:
        kind = type(value)
        if (kind is not float and kind is not int) or (kind is float and not math.isfinite(value)):
            run.add(path, "decimal")
            return False
        return in_range(value, run, path)

    return check


def valid_date(value: Any) -> bool:
    return type(value) is str and len(value) == 10 and _valid_date_text(value)


@functools.lru_cache(maxsize=4096)
def _valid_date_text(text: str) -> bool:
    # Submissions of a week carry a handful of distinct dates: each is parsed once.
    if DATE.fullmatch(text) is None:
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def make_date(field: dict) -> Check:
    # ISO dates compare correctly as strings.
    in_range = _make_range(field, "min_date", "max_date")

    def check(value: Any, run: Any, path: str) -> bool:
        if not valid_date(value):
            run.add(path, "date")
            return False
        return in_range(value, run, path)

    return check


def _iso_datetime(value: Any) -> str | None:
    """`value` as fromisoformat reads it (fraction cut to 6 digits), or None if invalid."""
    if type(value) is not str:
        return None
    match = DATETIME.fullmatch(value)
    if match is None:
        return None
    base, fraction, offset = match.groups()
    # fromisoformat wants at most 6 fraction digits; devices may send 9.
    text = base + (fraction or "")[:7] + (offset or "")
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return None
    return text


def valid_datetime(value: Any) -> bool:
    return _iso_datetime(value) is not None


def make_datetime(field: dict) -> Check:
    low = date_number(field["min"]) if "min" in field else None
    high = date_number(field["max"]) if "max" in field else None

    def check(value: Any, run: Any, path: str) -> bool:
        text = _iso_datetime(value)
        if text is None:
            run.add(path, "datetime")
            return False
        if low is None and high is None:
            return True
        moment = date_number(text)
        if low is not None and moment < low:
            return run.add(path, "min_date", min=field["min"])
        if high is not None and moment > high:
            return run.add(path, "max_date", max=field["max"])
        return True

    return check


def _choice_list(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN_CHOICES])
    return shown + (", ..." if len(names) > _SHOWN_CHOICES else "")


def make_select_one(field: dict, choice_names: list[str]) -> Check:
    allowed = frozenset(choice_names)
    listed = _choice_list(choice_names)

    def check(value: Any, run: Any, path: str) -> bool:
        if type(value) is not str:
            run.add(path, "choice_type")
            return False
        if value not in allowed:
            return run.add(path, "choice", value=value[:100], choices=listed)
        return True

    return check


def make_select_multiple(field: dict, choice_names: list[str]) -> Check:
    allowed = frozenset(choice_names)
    listed = _choice_list(choice_names)

    def check(value: Any, run: Any, path: str) -> bool:
        if type(value) is list:
            try:
                if allowed.issuperset(value) and len(set(value)) == len(value):
                    return True  # listed names only (so all text), none twice: the usual answer
            except TypeError:
                pass  # an item that is a list or an object: said below
        if type(value) is not list or any(type(item) is not str for item in value):
            run.add(path, "choices_type")
            return False
        ok = True
        for item in value:
            if item not in allowed:
                ok = run.add(path, "choice", value=item[:100], choices=listed)
        if ok and len(set(value)) != len(value):
            seen: set[str] = set()
            for item in value:
                if item in seen:
                    return run.add(path, "choice_twice", value=item)
                seen.add(item)
        return ok

    return check


def valid_geopoint(value: Any) -> bool:
    if type(value) is dict:
        if "lat" not in value or "lon" not in value or not value.keys() <= _GEO_KEYS:
            return False
        for number in value.values():
            if type(number) is not int and (type(number) is not float or not math.isfinite(number)):
                return False
        numbers = value
    elif type(value) is str:
        parts = value.split()
        if not 2 <= len(parts) <= 4 or any(_GEO_NUMBER.fullmatch(p) is None for p in parts):
            return False
        numbers = dict(zip(("lat", "lon", "alt", "accuracy"), map(float, parts), strict=False))
    else:
        return False
    return (
        -90 <= numbers["lat"] <= 90
        and -180 <= numbers["lon"] <= 180
        and numbers.get("accuracy", 0) >= 0
    )


def make_geopoint(field: dict) -> Check:
    def check(value: Any, run: Any, path: str) -> bool:
        if not valid_geopoint(value):
            run.add(path, "geopoint")
            return False
        return True

    return check


def make_image(field: dict) -> Check:
    def check(value: Any, run: Any, path: str) -> bool:
        if type(value) is not str:
            run.add(path, "image_type")
            return False
        attachment = run.attachments.get(value)
        if attachment is None:
            return run.add(path, "image_missing", value=value[:200])
        kind = attachment.get("content_type") if type(attachment) is dict else None
        if isinstance(kind, str) and not kind.startswith("image/"):
            return run.add(path, "image_kind", value=value[:200], content_type=kind[:100])
        return True

    return check


def quick_test(field: dict, choice_names: list[str] | None, suffix: str) -> tuple[str, dict[str, Any]] | None:
    """A Python expression over ``v`` that is true only of answers that are there
    (not empty) and that the question's check would pass without a word, with
    the names it reads (each ending in ``suffix``); None for types that need
    more than a comparison or two.

    ``schemas.plan`` writes it into its generated code ahead of the check, so
    the common answer costs neither a call nor the building of its path.
    """
    kind = field["type"]
    if kind == "select_one":
        return f"type(v) is str and v in Q{suffix}", {f"Q{suffix}": frozenset(choice_names or ())}
    if kind == "integer":
        return _bounded("type(v) is int", field, suffix, ("min", "v >=", "L"), ("max", "v <=", "H"))
    if kind == "text":
        test, names = _bounded("type(v) is str and v != ''", field, suffix,
                               ("min_length", "len(v) >=", "A"), ("max_length", "len(v) <=", "B"))
        if "pattern" in field:
            test += f" and P{suffix}.fullmatch(v) is not None"
            names[f"P{suffix}"] = re.compile(field["pattern"])
        return test, names
    return None


def _bounded(test: str, field: dict, suffix: str,
             *limits: tuple[str, str, str]) -> tuple[str, dict[str, Any]]:
    """``test`` and each limit the field sets, as ``(setting, comparison, name)``."""
    names: dict[str, Any] = {}
    for setting, comparison, name in limits:
        if field.get(setting) is not None:
            test += f" and {comparison} {name}{suffix}"
            names[f"{name}{suffix}"] = field[setting]
    return test, names


def is_empty(value: Any) -> bool:
    """No answer: missing, null, "", [] or a group/repeat holding only those.

    Iterative, so that a hostile, deeply nested answer cannot exhaust the stack.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or item == "":
            continue
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        else:
            return False
    return True
