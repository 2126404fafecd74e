"""A form definition's problems in plain words, in English and Mongolian, with where they are.

The checks (``schemas.definition``, ``schemas.consistency``, expressions,
``schemas.xlsform``) write their messages in English, and marshmallow's own
("Not a valid mapping type.") read like code. Admins in Mongolia fix forms in
Mongolian: this module rewrites each message into plain English and
translates it, pattern by pattern, so the checks stay one place and keep one
language. A message no pattern knows is shown in English (``known`` says
whether one did: a test makes every message the checks produce known).

``where`` splits a problem's path into what an admin looks for: a
spreadsheet's sheet, row and column (XLSForm), or a JSON path.
"""

from __future__ import annotations

import re
from typing import Any

# marshmallow's and the schemas' generic messages, as plain words.
_PLAIN = {
    "Missing data for required field.": "This is required and missing.",
    "Not a valid string.": "Must be text.",
    "Not a valid integer.": "Must be a whole number.",
    "Not a valid number.": "Must be a number.",
    "Not a valid mapping type.": "Must be an object of keys and values (in JSON: { ... }).",
    "Invalid input type.": "Must be an object of keys and values (in JSON: { ... }).",
    "Not a valid list.": "Must be a list (in JSON: [ ... ]).",
    "Unknown field.": "Unknown key; check its spelling (see docs/forms.md).",
    "Must be equal to form.": "Must be \"form\".",
    "Field may not be null.": "Must not be null.",
}

_COL = r" \(col (?P<col>\d+)\)"
_Q = r"'(?P<{}>[^']*)'"

# (English pattern, Mongolian template). Named groups are put back into the template;
# ``{inner}`` groups are themselves translated.
_MN: list[tuple[str, str]] = [
    # -- plain words above, and marshmallow's remaining defaults
    (r"This is required and missing\.", "Заавал байх ёстой боловч алга байна."),
    (r"Must be text\.", "Текст байх ёстой."),
    (r"Must be a whole number\.", "Бүхэл тоо байх ёстой."),
    (r"Must be a number\.", "Тоо байх ёстой."),
    (r"Must be an object of keys and values \(in JSON: \{ \.\.\. \}\)\.",
     "Түлхүүр ба утгуудын объект байх ёстой (JSON-д: {{ ... }})."),
    (r"Must be a list \(in JSON: \[ \.\.\. \]\)\.", "Жагсаалт байх ёстой (JSON-д: [ ... ])."),
    (r"Unknown key; check its spelling \(see docs/forms\.md\)\.",
     "Үл мэдэгдэх түлхүүр; бичлэгийг шалгана уу (docs/forms.md-г үзнэ үү)."),
    (r"Must be \"form\"\.", "\"form\" байх ёстой."),
    (r"Must not be null\.", "null байж болохгүй."),
    (r"Must be one of: (?P<choices>.*)\.", "Дараахын нэг байх ёстой: {choices}."),
    (r"Length must be between (?P<a>\d+) and (?P<b>\d+)\.", "Урт нь {a}-аас {b} тэмдэгт байх ёстой."),
    (r"Shorter than minimum length (?P<n>\d+)\.", "Хамгийн багадаа {n} тэмдэгт байх ёстой."),
    (r"Longer than maximum length (?P<n>\d+)\.", "Хамгийн ихдээ {n} тэмдэгт байх ёстой."),
    (r"Must be greater than or equal to (?P<a>\S+) and less than or equal to (?P<b>\S+)\.",
     "{a}-аас {b} хүртэл байх ёстой."),
    (r"Must be true or false\.", "true эсвэл false байх ёстой."),
    (r"The file is not valid JSON \(line (?P<line>\d+), column (?P<col>\d+)\)\.",
     "Файл зөв JSON биш ({line}-р мөр, {col}-р багана)."),
    (r"A form definition is a JSON object\.", "Маягтын тодорхойлолт нь JSON объект байна."),
    # -- schemas.definition
    (r"'(?P<input>.*)' is not a language code such as en or mn\.",
     "'{input}' нь en, mn зэрэг хэлний код биш байна."),
    (r"Give the (?P<what>title|label|hint|choice label|constraint message) in at least one language\.",
     "{what} дор хаяж нэг хэлээр өгнө үү."),
    (r"A choice name is 1 to 100 characters without spaces\.",
     "Сонголтын нэр нь хоосон зайгүй 1-100 тэмдэгт байна."),
    (r"A name starts with a letter or _ and has up to 64 letters, digits, _ or -\.",
     "Нэр нь үсэг эсвэл _-ээр эхэлж, 64 хүртэл үсэг, цифр, _ эсвэл - агуулна."),
    (r"Unknown type '(?P<input>.*)'; use one of: (?P<choices>.*)\.",
     "'{input}' гэсэн төрөл байхгүй; дараахын нэгийг хэрэглэнэ үү: {choices}."),
    (r"Not a valid choice list name\.", "Сонголтын жагсаалтын нэр буруу байна."),
    (r"A (?P<kind>\w+) field cannot have '(?P<key>[^']*)'\.",
     "{kind} төрлийн талбарт '{key}' байж болохгүй."),
    (r"A label is required, in every language of the form\.",
     "Шошго заавал байх ёстой, маягтын бүх хэлээр."),
    (r"A (?P<kind>group|repeat) needs at least one field inside it\.",
     "{kind} дотроо дор хаяж нэг талбартай байх ёстой."),
    (r"A select needs a list_name naming one of the form's choice lists\.",
     "Сонголттой асуултад маягтын сонголтын жагсаалтын нэгийг заасан list_name хэрэгтэй."),
    (r"Not a valid regular expression: (?P<err>.*)\.", "Зөв регуляр илэрхийлэл биш: {err}."),
    (r"There is no constraint or pattern for this message to explain\.",
     "Энэ мэдэгдлийн тайлбарлах constraint эсвэл pattern алга."),
    (r"Must be a date as YYYY-MM-DD\.", "ЖЖЖЖ-СС-ӨӨ хэлбэрийн огноо байх ёстой."),
    (r"Must be an ISO 8601 date-time such as (?P<ex>\S+)\.",
     "{ex} гэх мэт ISO 8601 огноо-цаг байх ёстой."),
    (r"min \((?P<a>.*)\) is greater than max \((?P<b>.*)\)\.", "min ({a}) нь max ({b})-аас их байна."),
    (r"(?P<low>\w+) \((?P<a>.*)\) is greater than (?P<high>\w+) \((?P<b>.*)\)\.",
     "{low} ({a}) нь {high} ({b})-аас их байна."),
    (r"Unknown key; photos takes max_side and quality\.",
     "Үл мэдэгдэх түлхүүр; photos нь max_side, quality хоёрыг авна."),
    (r"The longest side is (?P<a>\d+) to (?P<b>\d+) pixels\.", "Урт тал нь {a}-аас {b} пиксел байна."),
    (r"JPEG quality is (?P<a>[\d.]+) to (?P<b>[\d.]+)\.", "JPEG чанар {a}-аас {b} байна."),
    (r"A form id is 1 to 64 of a-z, 0-9, _ and -\.",
     "Маягтын дугаар нь a-z, 0-9, _ ба - тэмдэгтээс 1-64 байна."),
    (r"Versions are whole numbers from 1\.", "Хувилбар нь 1-ээс эхлэх бүхэл тоо."),
    (r"A choice list has 1 to (?P<n>\d+) choices\.", "Сонголтын жагсаалт 1-ээс {n} сонголттой."),
    (r"A form needs at least one field\.", "Маягт дор хаяж нэг талбартай байх ёстой."),
    (r"A retired form needs retired_at\.", "Зогсоосон маягтад retired_at хэрэгтэй."),
    (r"retired_at is only for a retired form\.", "retired_at нь зөвхөн зогсоосон маягтад байна."),
    (r"A closed form needs closed_at\.", "Хаасан маягтад closed_at хэрэгтэй."),
    (r"closed_at is only for a closed form\.", "closed_at нь зөвхөн хаасан маягтад байна."),
    (r"grace_days counts from retired_at, which is missing\.",
     "grace_days нь retired_at-аас тоологдоно, гэтэл retired_at алга."),
    (r"Must be an ISO 8601 date or date-time, e\.g\. (?P<ex>\S+)\.",
     "ISO 8601 огноо эсвэл огноо-цаг байх ёстой, жишээ нь {ex}."),
    (r"Not a real date or time\.", "Байж болох огноо эсвэл цаг биш."),
    (r"Groups and repeats nest at most (?P<n>\d+) deep\.",
     "Бүлэг, давталт хамгийн ихдээ {n} түвшин давхарлана."),
    (r"A form has at most (?P<n>\d+) fields\.", "Маягт хамгийн ихдээ {n} талбартай."),
    # -- schemas.consistency and schemas.scope
    (r"The choice '(?P<name>.*)' is already in list '(?P<list>.*)'\.",
     "'{name}' сонголт '{list}' жагсаалтад аль хэдийн байна."),
    (r"There is no choice list '(?P<list>.*)' in the form's choices\.",
     "Маягтын сонголтуудад '{list}' жагсаалт байхгүй."),
    (r"Missing the (?P<missing>.*) text; the form's title has these languages: (?P<langs>.*)\.",
     "{missing} хэлээрх текст алга; маягтын гарчиг эдгээр хэлтэй: {langs}."),
    (r"Language\(s\) (?P<extra>.*) are not in the form's title \((?P<langs>.*)\); "
     r"add them to the title or remove them here\.",
     "{extra} хэл маягтын гарчигт ({langs}) алга; гарчигт нэмэх эсвэл эндээс хасна уу."),
    (r"The name '(?P<name>.*)' is already used at (?P<at>\S+); names must be unique in the whole form "
     r"so that \$\{(?P=name)\} is unambiguous\.",
     "'{name}' нэрийг {at}-д аль хэдийн хэрэглэсэн; ${{{name}}} нэг утгатай байхын тулд нэр бүх маягтад "
     "давтагдашгүй байна."),
    (r"(?P<key>relevant|constraint): (?P<inner>.*)" + _COL, "{key}: {inner} ({col}-р тэмдэгт)"),
    (r"relevant: whether '(?P<name>.*)' is shown cannot depend on its own answers \((?P<refs>.*)\); "
     r"use a constraint instead",
     "relevant: '{name}' харагдах эсэх нь өөрийн хариултаас ({refs}) хамаарч болохгүй; "
     "оронд нь constraint хэрэглэнэ үү"),
    # -- expressions (inside "relevant: ... (col n)")
    (r"an expression must be a string", "илэрхийлэл текст байх ёстой"),
    (r"expression is (?P<n>\d+) characters long; the limit is (?P<max>\d+)",
     "илэрхийлэл {n} тэмдэгт урт; дээд хязгаар {max}"),
    (r"unterminated string: no closing (?P<c>.)", "текст хаагдаагүй: хаах {c} алга"),
    (r"number literal is (?P<n>\d+) characters long; the limit is (?P<max>\d+)",
     "тоо {n} тэмдэгт урт; дээд хязгаар {max}"),
    (r"'\.\.': parent paths are not supported, write \$\{name\}",
     "'..': эцэг замыг дэмждэггүй, ${{name}} гэж бичнэ үү"),
    (r"'(?P<hint>[^']*)' is not allowed: (?P<inner>.*)", "'{hint}' хэрэглэж болохгүй: {inner}"),
    (r"use = to compare", "харьцуулахдаа = хэрэглэнэ"),
    (r"use and", "and хэрэглэнэ"),
    (r"use or", "or хэрэглэнэ"),
    (r"use != or not\(\.\.\.\)", "!= эсвэл not(...) хэрэглэнэ"),
    (r"use div to divide; paths such as /data/x are not supported, write \$\{x\}",
     "хуваахдаа div хэрэглэнэ; /data/x гэх мэт замыг дэмждэггүй, ${{x}} гэж бичнэ үү"),
    (r"predicates and paths are not supported", "предикат, замыг дэмждэггүй"),
    (r"attributes are not supported", "атрибутыг дэмждэггүй"),
    (r"node-set unions are not supported", "зангилааны олонлогийн нэгдлийг дэмждэггүй"),
    (r"unexpected character (?P<c>'.*?'|\".*?\"): (?P<inner>.*)", "гэнэтийн тэмдэгт {c}: {inner}"),
    (r"unexpected character (?P<c>.*)", "гэнэтийн тэмдэгт {c}"),
    (r"'\$' must start a reference such as \$\{age\}", "'$' нь ${{age}} гэх мэт лавлагааг эхлүүлнэ"),
    (r"unterminated reference: no closing '\}'", "лавлагаа хаагдаагүй: хаах '}}' алга"),
    (r"'(?P<name>.*)' is not a question name", "'{name}' нь асуултын нэр биш"),
    (r"the expression is empty", "илэрхийлэл хоосон байна"),
    (r"nested too deeply to (?P<what>read|compile) here", "хэт гүн давхарласан"),
    (r"nested more than (?P<n>\d+) levels deep", "{n}-аас олон түвшин давхарласан"),
    (r"expected '(?P<sym>.*)' but found (?P<found>.*)", "'{sym}' байх ёстой газар {found} байна"),
    (r"unexpected (?P<found>.*)", "гэнэтийн {found}"),
    (r"unknown name '(?P<name>.*)': refer to a question as \$\{(?P=name)\}",
     "'{name}' гэсэн нэр байхгүй: асуултыг ${{{name}}} гэж заана уу"),
    (r"expected a value but found (?P<found>.*)", "утга байх ёстой газар {found} байна"),
    (r"\$\{(?P<name>[^}]*)\} is not a question of this form", "${{{name}}} энэ маягтын асуулт биш"),
    (r"\$\{(?P<name>[^}]*)\} is inside repeat '(?P<rep>[^']*)' and has one answer per entry; "
     r"from outside that repeat use count\(\$\{(?P=rep)\}\)",
     "${{{name}}} нь '{rep}' давталт дотор байгаа тул бичлэг бүрт нэг хариулттай; "
     "давталтын гаднаас count(${{{rep}}}) хэрэглэнэ үү"),
    (r"\$\{(?P<name>[^}]*)\} is a repeat; use count\(\$\{(?P=name)\}\)",
     "${{{name}}} нь давталт; count(${{{name}}}) хэрэглэнэ үү"),
    (r"\$\{(?P<name>[^}]*)\} is a group; refer to a question inside it",
     "${{{name}}} нь бүлэг; доторх асуултыг заана уу"),
    (r"\$\{(?P<name>[^}]*)\} is a note and has no answer", "${{{name}}} нь тэмдэглэл, хариултгүй"),
    (r"count\(\) takes a repeat, and \$\{(?P<name>[^}]*)\} is a (?P<kind>\w+)",
     "count() давталт авна, харин ${{{name}}} нь {kind}"),
    (r"count\(\) takes a repeat, as in count\(\$\{children\}\)",
     "count() давталт авна, жишээ нь count(${{children}})"),
    (r"unknown question \$\{(?P<name>[^}]*)\}", "${{{name}}} гэсэн асуулт байхгүй"),
    (r"unknown repeat \$\{(?P<name>[^}]*)\}", "${{{name}}} гэсэн давталт байхгүй"),
    (r"'\.' \(this answer\) can only be used in a constraint",
     "'.' (энэ хариулт)-ыг зөвхөн constraint-д хэрэглэнэ"),
    (r"unknown function (?P<fn>\S+)\(\); known functions: (?P<known>.*)",
     "{fn}() гэсэн функц байхгүй; мэдэгдэх функцүүд: {known}"),
    (r"(?P<fn>\S+)\(\) takes (?P<wanted>.*) arguments?, not (?P<n>\d+)",
     "{fn}() {wanted} аргумент авна, {n} биш"),
    (r"regex\(\) needs its pattern as a 'quoted string'",
     "regex()-ийн загварыг 'хашилттай текст' хэлбэрээр өгнө"),
    (r"regex\(\) pattern is not valid: (?P<err>.*)", "regex()-ийн загвар буруу: {err}"),
    (r"end of expression", "илэрхийллийн төгсгөл"),
    (r"string '(?P<s>.*)'", "'{s}' текст"),
    # -- schemas.xlsform
    (r"Cannot read the XLSForm: (?P<err>.*)", "XLSForm-ыг уншиж чадсангүй: {err}"),
    (r"The (?P<sheet>\w+) sheet is not supported by fieldsync\.",
     "{sheet} хуудсыг fieldsync дэмждэггүй."),
    (r"Cannot tell the language code of '(?P<name>.*)'; write it as 'Name \(code\)', e\.g\. "
     r"'Mongolian \(mn\)'\.",
     "'{name}'-ийн хэлний кодыг тодорхойлж чадсангүй; 'Нэр (код)' хэлбэрээр бичнэ үү, жишээ нь "
     "'Mongolian (mn)'."),
    (r"The version must be a whole number from 1 \(found '(?P<found>.*)'\); "
     r"fieldsync counts versions 1, 2, 3\.\.\.",
     "Хувилбар 1-ээс эхлэх бүхэл тоо байх ёстой ('{found}' байна); fieldsync хувилбарыг 1, 2, 3... "
     "гэж тоолно."),
    (r"sensitive must be yes or no, not '(?P<v>.*)'\.", "sensitive нь yes эсвэл no байна, '{v}' биш."),
    (r"The setting '(?P<col>.*)' is not supported by fieldsync\.",
     "'{col}' тохиргоог fieldsync дэмждэггүй."),
    (r"The title has no (?P<missing>.*) translation; add a column such as form_title::Mongolian \(mn\)\.",
     "Гарчиг {missing} орчуулгагүй; form_title::Mongolian (mn) гэх мэт багана нэмнэ үү."),
    (r"'(?P<name>.*)': or_other is not supported; add an 'other' choice and a text question with "
     r"relevant selected\(\$\{(?P=name)\}, 'other'\)\.",
     "'{name}': or_other-ийг дэмждэггүй; 'other' сонголт болон relevant нь "
     "selected(${{{name}}}, 'other') бүхий текст асуулт нэмнэ үү."),
    (r"'(?P<name>.*)' has type '(?P<type>.*)': (?P<inner>.*)\.", "'{name}' нь '{type}' төрөлтэй: {inner}."),
    (r"calculated values are not recomputed on the server", "тооцоолсон утгыг сервер дахин тооцдоггүй"),
    (r"hidden values are not supported", "нуусан утгыг дэмждэггүй"),
    (r"rank questions are not supported", "эрэмбэлэх асуултыг дэмждэггүй"),
    (r"(?P<what>audio|video|file) attachments are not supported \(only image\)",
     "{what} хавсралтыг дэмждэггүй (зөвхөн зураг)"),
    (r"use an integer or decimal question with min and max",
     "min, max бүхий integer эсвэл decimal асуулт хэрэглэнэ үү"),
    (r"use a select_one with a single choice", "ганц сонголттой select_one хэрэглэнэ үү"),
    (r"device metadata is not collected as answers; fieldsync records the author and created_at of every "
     r"submission",
     "төхөөрөмжийн мета өгөгдлийг хариулт болгон цуглуулдаггүй; fieldsync илгээлт бүрийн зохиогч, "
     "created_at-ийг бичдэг"),
    (r"this type is not supported", "энэ төрлийг дэмждэггүй"),
    (r"'(?P<name>.*)' takes its choices from a file \((?P<file>.*)\); only choices on the choices sheet "
     r"are supported\.",
     "'{name}' сонголтоо файлаас ({file}) авдаг; зөвхөн choices хуудсан дээрх сонголтыг дэмжинэ."),
    (r"'(?P<name>.*)': parameters are not supported \((?P<p>.*)\)\.",
     "'{name}': parameters-ийг дэмждэггүй ({p})."),
    (r"'(?P<name>.*)': the (?P<key>.*) column is not supported by fieldsync\.",
     "'{name}': {key} баганыг fieldsync дэмждэггүй."),
    (r"required must be yes or no; a condition \('(?P<v>.*)'\) is not supported, use relevant instead\.",
     "required нь yes эсвэл no байна; нөхцөл ('{v}')-ийг дэмждэггүй, оронд нь relevant хэрэглэнэ үү."),
    (r"'(?P<name>.*)': (?P<col>.*) is not supported by fieldsync\.",
     "'{name}': {col}-ийг fieldsync дэмждэггүй."),
    (r"'(?P<name>.*)': only a fixed number of entries is supported, not '(?P<v>.*)'\.",
     "'{name}': зөвхөн тогтмол тооны бичлэгийг дэмжинэ, '{v}' биш."),
    (r"Choice '(?P<name>.*)': the (?P<key>.*) column is not supported by fieldsync\.",
     "'{name}' сонголт: {key} баганыг fieldsync дэмждэггүй."),
]
_COMPILED = [(re.compile(pattern), template) for pattern, template in _MN]
_NESTED = {"inner"}
_WHAT_MN = {"title": "Гарчгийг", "label": "Шошгыг", "hint": "Зөвлөмжийг", "choice label": "Сонголтын шошгыг",
            "constraint message": "Дүрмийн мэдэгдлийг"}


def plain(message: str) -> str:
    """The English message with marshmallow's generic wording replaced by plain words."""
    return _PLAIN.get(message, message)


def translate(message: str, lang: str) -> str:
    """``message`` (English, as the checks write it) in ``lang``; English when no pattern knows it."""
    english = plain(message)
    if lang == "en":
        return english
    found = _mongolian(english)
    return found if found is not None else english


def known(message: str) -> bool:
    """Whether ``message`` has a Mongolian translation (every part of it)."""
    return _mongolian(plain(message)) is not None


def _mongolian(message: str) -> str | None:
    for pattern, template in _COMPILED:
        match = pattern.fullmatch(message)
        if match is None:
            continue
        parts: dict[str, Any] = {}
        for name, value in match.groupdict().items():
            if name in _NESTED:
                value = _mongolian(value)
                if value is None:
                    return None
            elif name == "what" and value in _WHAT_MN:
                value = _WHAT_MN[value]
            elif name == "found":
                value = _mongolian(value) or value
            parts[name] = value
        return template.format(**parts)
    return None


_XLS_WHERE = re.compile(r"(?P<sheet>survey|choices|settings)(?: row (?P<row>\d+))?(?:, column (?P<column>.+))?")


def where(path: str) -> dict[str, Any]:
    """Where a problem is: ``{"sheet", "row", "column"}`` in a spreadsheet, else ``{"path"}``."""
    match = _XLS_WHERE.fullmatch(path or "")
    if match:
        row = match.group("row")
        return {"sheet": match.group("sheet"), "row": int(row) if row else None, "column": match.group("column")}
    if path in ("xlsform", "external_choices", "entities", "osm"):
        return {"sheet": None if path == "xlsform" else path, "row": None, "column": None}
    listed = re.fullmatch(r"choices list (?P<list>.+)", path or "")
    if listed:
        return {"sheet": "choices", "row": None, "column": "list_name"}
    return {"path": path}


def explain(problems: list[dict[str, str]], lang: str) -> list[dict[str, Any]]:
    """Each problem with its place (``where``) and its message in ``lang`` (and in English)."""
    return [{**where(p.get("path", "")), "message": translate(p["message"], lang),
             "english": plain(p["message"])} for p in problems]


def both_languages(problems: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Problems as an API answers them: path, plain English, and the texts per language."""
    return [{"path": p.get("path", ""), "message": plain(p["message"]),
             "messages": {lang: translate(p["message"], lang) for lang in ("en", "mn")}} for p in problems]
