"""Why the server refused a document, in English and Mongolian.

A refusal reaches the worker's device, possibly weeks later, as the
``forbidden`` answer to a push and as a feedback document; the device shows
it in the worker's language. CouchDB clients read one ``reason`` string, so
that stays English and unchanged, and the per-language texts travel beside it
(``messages``: ``{"en": ..., "mn": ...}``).

A message is a ``Text``: a ``str`` (the English text, so every place that
logs, compares or joins reasons keeps working) that also carries its other
languages. Form answers are checked in each language by the form's own
compiler (``schemas.messages``, with the form author's ``constraint_message``
per language); these are the gate's own messages: access, and forms that
cannot be used.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("en", "mn")

MESSAGES: dict[str, dict[str, str]] = {
    "design_admin_only": {
        "en": "Only admins write design documents.",
        "mn": "Дизайн баримтыг зөвхөн админ бичнэ.",
    },
    "design_scope_only": {
        "en": "Only admins write design documents, into a scope at /db/<scope>.",
        "mn": "Дизайн баримтыг зөвхөн админ /db/<scope> хаягаар бичнэ.",
    },
    "global_admin_only": {
        "en": "Forms and areas are changed by admins only.",
        "mn": "Маягт, нутаг дэвсгэрийг зөвхөн админ өөрчилнө.",
    },
    "bad_id": {
        "en": "Document id {docid!r} must look like <area>:<kind>:<id>, for example "
              "{scope}:sub:01JDQ7Z3K8M2N4P6Q8R0S2T4V6.",
        "mn": "Баримтын дугаар {docid!r} нь <нутаг>:<төрөл>:<дугаар> хэлбэртэй байх ёстой, жишээ нь "
              "{scope}:sub:01JDQ7Z3K8M2N4P6Q8R0S2T4V6.",
    },
    "bad_id_replica": {
        "en": "Document id {docid!r} must look like <area>:<kind>:<id>; this replica writes to {areas}.",
        "mn": "Баримтын дугаар {docid!r} нь <нутаг>:<төрөл>:<дугаар> хэлбэртэй байх ёстой; "
              "энэ хуулбар {areas} нутагт бичнэ.",
    },
    "other_area": {
        "en": "Document {docid!r} belongs to area {area!r}, not {scope!r}.",
        "mn": "{docid!r} баримт {scope!r} биш, {area!r} нутагт хамаарна.",
    },
    "not_assigned": {
        "en": "You are not assigned to area {scope!r}.",
        "mn": "Таныг {scope!r} нутагт хуваарилаагүй байна.",
    },
    "feedback_server_only": {
        "en": "Feedback documents are written by the server only.",
        "mn": "Хариу мэдэгдлийн баримтыг зөвхөн сервер бичнэ.",
    },
    "derived_server_only": {
        "en": "Derived values (such as z-scores) are computed by the server only.",
        "mn": "Тооцоолсон утгыг (z оноо гэх мэт) зөвхөн сервер тооцоолно.",
    },
    "review_coordinators_only": {
        "en": "Only coordinators review submissions.",
        "mn": "Илгээлтийг зөвхөн зохицуулагч хянана.",
    },
    "not_your_submission": {
        "en": "Submission {docid!r} belongs to another user; you cannot change it.",
        "mn": "{docid!r} илгээлт өөр хэрэглэгчийнх тул та өөрчлөх боломжгүй.",
    },
    "author_must_be_you": {
        "en": "A submission's author must be you ({user!r}), not {author!r}.",
        "mn": "Илгээлтийн зохиогч нь {author!r} биш, та ({user!r}) байх ёстой.",
    },
    "unknown_kind": {
        "en": "Unknown document kind {kind!r}; use sub, fam, kg, child, fes or case.",
        "mn": "{kind!r} гэсэн баримтын төрөл байхгүй; sub, fam, kg, child, fes эсвэл case-г ашиглана уу.",
    },
    "submission_type": {
        "en": "A submission's type must be \"submission\".",
        "mn": "Илгээлтийн төрөл (type) нь \"submission\" байх ёстой.",
    },
    "form_missing": {
        "en": "A submission must name its form.",
        "mn": "Илгээлт өөрийн маягтыг заасан байх ёстой.",
    },
    "version_missing": {
        "en": "A submission must name its form version (a whole number).",
        "mn": "Илгээлт маягтынхаа хувилбарыг (бүхэл тоо) заасан байх ёстой.",
    },
    "no_version": {
        "en": "Form {name!r} has no published version {version}.",
        "mn": "{name!r} маягтад нийтлэгдсэн {version}-р хувилбар байхгүй.",
    },
    "retired": {
        "en": "Form {name!r} version {version} was retired on {date}; update the form on the device.",
        "mn": "{name!r} маягтын {version}-р хувилбарыг {date}-нд хэрэглээнээс гаргасан; "
              "төхөөрөмж дээрх маягтаа шинэчилнэ үү.",
    },
    "closed": {
        "en": "Form {name!r} version {version} is closed since {date}: its programme module is switched off "
              "in this deployment, so new submissions are not accepted.",
        "mn": "{name!r} маягтын {version}-р хувилбарыг {date}-наас хаасан: хөтөлбөрийн модулийг нь энэ "
              "системд унтраасан тул шинэ илгээлт хүлээж авахгүй.",
    },
    "unusable": {
        "en": "Form {name!r} v{version} cannot be used: {error}",
        "mn": "{name!r} маягтын v{version} хувилбарыг ашиглах боломжгүй: {error}",
    },
    "attachment_too_large": {
        "en": "The attachment {name!r} of {docid!r} is {size} MB; this server accepts attachments of "
              "at most {most} MB. Take the photo again at a smaller size, then sync.",
        "mn": "{docid!r} баримтын {name!r} хавсралт {size} МБ байна; энэ сервер хавсралтыг ихдээ "
              "{most} МБ хүртэл хүлээн авна. Зургийг жижиг хэмжээгээр дахин авч, синк хийнэ үү.",
    },
    "form_head": {
        "en": "Form {form} v{version}: ",
        "mn": "Маягт {form} v{version}: ",
    },
}


class Text(str):
    """An English message (the ``str`` itself) that carries its texts in every language."""

    texts: dict[str, str]

    def __new__(cls, texts: dict[str, str]) -> Text:
        made = super().__new__(cls, texts["en"])
        made.texts = dict(texts)
        return made

    def __reduce__(self) -> tuple:
        return (Text, (self.texts,))


def text(key: str, **params: Any) -> Text:
    """The message ``key`` with ``params`` filled in, in every language."""
    return Text({lang: template.format(**params) for lang, template in MESSAGES[key].items()})


def texts_of(message: str) -> dict[str, str]:
    """Every language's text of ``message`` (English only for a plain string)."""
    if isinstance(message, Text):
        return dict(message.texts)
    return {"en": str(message)}


def bilingual(problems: list[dict], translated: list[dict] | None) -> list[dict]:
    """``[{"field", "message", "messages"}]``: English problems with each one's texts.

    ``translated`` is the same check run in Mongolian (``lang="mn"``); it reports
    the same problems in the same order, so they pair up by position (a pair
    whose fields differ is left in English rather than guessed at).
    """
    out = []
    for i, problem in enumerate(problems):
        message = problem["message"]
        texts = texts_of(message)
        other = translated[i] if translated is not None and i < len(translated) else None
        if "mn" not in texts and other is not None and other.get("field") == problem.get("field"):
            texts["mn"] = str(other["message"])
        out.append({"field": problem.get("field", ""), "message": str(message), "messages": texts})
    return out
