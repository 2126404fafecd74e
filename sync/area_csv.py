"""Reading an area CSV (``code,name_en,name_mn,parent,level,holds_data``) and every problem in it.

An admin who imports a file with twenty mistakes should see all twenty, each
with its row and column, in their language, not the first one and then the
next after another try. Nothing here writes: ``AreaRegistry.import_csv``
stores the rows only when this found no problem.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from sync.gate.messages import Text

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
LEVELS = ("country", "aimag", "soum", "bag", "city", "district", "khoroo")
COLUMNS = ("code", "name_en", "name_mn", "parent", "level", "holds_data")
FLAGS = {"": False, "0": False, "false": False, "no": False, "1": True, "true": True, "yes": True}
RESERVED = "global"

MESSAGES: dict[str, dict[str, str]] = {
    "columns": {"en": "The file needs at least the columns code and name_en (the first row names the columns).",
                "mn": "Файлд дор хаяж code, name_en баганууд байх ёстой (эхний мөрөнд баганын нэрс)."},
    "bad_code": {"en": "{code!r} is not an area code: lowercase Latin letters, digits and '-'.",
                 "mn": "{code!r} нь нутгийн код биш: латин жижиг үсэг, тоо, '-' тэмдэгт."},
    "reserved": {"en": "The code 'global' is reserved.", "mn": "'global' кодыг ашиглах боломжгүй."},
    "twice": {"en": "Area {code!r} is already in row {first}.", "mn": "{code!r} нутаг {first}-р мөрөнд аль хэдийн байна."},
    "no_name": {"en": "The English name is missing.", "mn": "Англи нэр алга."},
    "level": {"en": "{level!r} is not a level; use one of {levels}.",
              "mn": "{level!r} түвшин биш; эдгээрээс сонгоно уу: {levels}."},
    "flag": {"en": "{flag!r}: write true or false.", "mn": "{flag!r}: true эсвэл false гэж бичнэ үү."},
    "parent": {"en": "Parent {parent!r} is neither in the file nor an existing area.",
               "mn": "Дээд нутаг {parent!r} файлд ч, бүртгэлд ч алга."},
    "cycle": {"en": "Area {code!r} would be inside itself (its parent links form a cycle).",
              "mn": "{code!r} нутаг өөрийнхөө дотор орох болно (дээд нутгийн холбоос тойрог үүсгэж байна)."},
    "empty": {"en": "The file has no areas.", "mn": "Файлд нутаг алга."},
}


def message(key: str, **params: Any) -> Text:
    return Text({lang: template.format(**params) for lang, template in MESSAGES[key].items()})


@dataclass(frozen=True)
class Problem:
    row: int  # the file's line number (the header is row 1); 0: the whole file
    column: str | None
    message: Text

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        return f"{where}{', column ' + self.column if self.column else ''}: {self.message}"

    def to_json(self) -> dict:
        return {"row": self.row, "column": self.column, "message": str(self.message),
                "messages": dict(self.message.texts)}


def read(text: str, existing_parents: dict[str, str | None]) -> tuple[list[dict], list[Problem]]:
    """The rows of ``text`` and every problem in them; ``existing_parents`` is the stored tree."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = [f.strip() for f in reader.fieldnames or []]
    if not {"code", "name_en"} <= set(fields):
        return [], [Problem(1, None, message("columns"))]
    reader.fieldnames = fields
    rows: list[dict] = []
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    for lineno, raw in enumerate(reader, start=2):
        def cell(name: str, raw: dict = raw) -> str:
            return (raw.get(name) or "").strip()

        code = cell("code")
        if code == RESERVED:
            problems.append(Problem(lineno, "code", message("reserved")))
        elif not CODE_RE.match(code):
            problems.append(Problem(lineno, "code", message("bad_code", code=code)))
        elif code in first_row:
            problems.append(Problem(lineno, "code", message("twice", code=code, first=first_row[code])))
        else:
            first_row[code] = lineno
        if not cell("name_en"):
            problems.append(Problem(lineno, "name_en", message("no_name")))
        level = cell("level") or None
        if level is not None and level not in LEVELS:
            problems.append(Problem(lineno, "level", message("level", level=level, levels=", ".join(LEVELS))))
        flag = cell("holds_data").lower()
        if flag not in FLAGS:
            problems.append(Problem(lineno, "holds_data", message("flag", flag=cell("holds_data"))))
        rows.append({"row": lineno, "code": code, "name_en": cell("name_en"), "name_mn": cell("name_mn") or None,
                     "parent": cell("parent") or None, "level": level, "holds_data": FLAGS.get(flag, False)})
    if not rows and not problems:
        problems.append(Problem(0, None, message("empty")))
    # The tree as it will be once the file is in: the file's parent links replace the store's.
    parents = dict(existing_parents)
    parents.update({r["code"]: r["parent"] for r in rows if r["code"] in first_row})
    for r in rows:
        if r["code"] not in first_row or first_row[r["code"]] != r["row"]:
            continue
        if r["parent"] and r["parent"] not in parents:
            problems.append(Problem(r["row"], "parent", message("parent", parent=r["parent"])))
            continue
        chain, code = {r["code"]}, r["parent"]
        while code is not None:
            if code in chain:
                problems.append(Problem(r["row"], "parent", message("cycle", code=r["code"])))
                break
            chain.add(code)
            code = parents.get(code)
    problems.sort(key=lambda p: (p.row, COLUMNS.index(p.column) if p.column in COLUMNS else -1))
    return rows, problems


def depth_order(rows: list[dict], existing_parents: dict[str, str | None]) -> list[dict]:
    """Shallowest first in the tree to be, so that every row finds its parent already stored."""
    parents = dict(existing_parents)
    parents.update({r["code"]: r["parent"] for r in rows})

    def depth(code: str | None) -> int:
        n = 0
        while code is not None and n <= len(parents):
            code, n = parents.get(code), n + 1
        return n

    return sorted(rows, key=lambda r: depth(r["code"]))
