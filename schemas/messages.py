"""What a field worker reads when a submission is refused, in English and Mongolian.

The refusal reaches the worker's device as a feedback document, possibly weeks
after they filled the form; each message says what to change in words, not in
terms of JSON or regular expressions.
"""

from __future__ import annotations

LANGUAGES = ("en", "mn")

CATALOG: dict[str, dict[str, str]] = {
    "en": {
        "data": "The submission's data must be an object of answers.",
        "unknown": "This version of the form has no question '{name}'; remove the answer or use the right form version.",
        "required": "This question is required.",
        "not_relevant": "This question does not apply to this case (its skip condition is not met), so it must be left empty.",
        "text": "Enter text.",
        "integer": "Enter a whole number, such as 12.",
        "decimal": "Enter a number, such as 12.5.",
        "min": "Must be at least {min}.",
        "max": "Must be at most {max}.",
        "min_date": "Must be on or after {min}.",
        "max_date": "Must be on or before {max}.",
        "min_length": "Must be at least {n} characters long.",
        "max_length": "Must be at most {n} characters long.",
        "pattern": "Does not have the expected format.",
        "choice": "'{value}' is not one of the choices; choose one of: {choices}.",
        "choice_type": "Choose one option from the list.",
        "choices_type": "Choose options from the list (a list of choice names).",
        "choice_twice": "'{value}' is chosen more than once.",
        "date": "Enter a date as YYYY-MM-DD, such as 2026-11-01.",
        "datetime": "Enter a date and time, such as 2026-11-01T14:30:00+08:00.",
        "geopoint": "Record the location again: it needs a latitude between -90 and 90 and a longitude between -180 and 180.",
        "image_type": "Take or attach a photo.",
        "image_missing": "The photo '{value}' did not arrive with the submission; attach it again and sync.",
        "image_kind": "The attachment '{value}' is not a photo ({content_type}).",
        "note": "This is a note; it takes no answer.",
        "group": "The answers of this section must be grouped together (an object).",
        "repeat": "The entries of this section must be a list.",
        "entry": "Each entry of this section must be a group of answers (an object).",
        "min_count": "Add more entries: at least {n} are needed.",
        "max_count": "Too many entries: at most {n} are allowed.",
        "constraint": "This answer breaks a rule of the form.",
    },
    "mn": {
        "data": "Илгээлтийн өгөгдөл нь хариултуудын объект байх ёстой.",
        "unknown": "Маягтын энэ хувилбарт '{name}' гэсэн асуулт байхгүй; хариултыг хасах эсвэл маягтын зөв хувилбарыг ашиглана уу.",
        "required": "Энэ асуултад заавал хариулна.",
        "not_relevant": "Энэ асуулт энэ тохиолдолд хамаарахгүй (алгасах нөхцөл биелээгүй) тул хоосон үлдээнэ үү.",
        "text": "Текст оруулна уу.",
        "integer": "Бүхэл тоо оруулна уу, жишээ нь 12.",
        "decimal": "Тоо оруулна уу, жишээ нь 12.5.",
        "min": "Хамгийн багадаа {min} байх ёстой.",
        "max": "Хамгийн ихдээ {max} байх ёстой.",
        "min_date": "{min}-ээс өмнөх огноо байж болохгүй.",
        "max_date": "{max}-ээс хойшхи огноо байж болохгүй.",
        "min_length": "Хамгийн багадаа {n} тэмдэгт байх ёстой.",
        "max_length": "Хамгийн ихдээ {n} тэмдэгт байх ёстой.",
        "pattern": "Хариултын хэлбэр буруу байна.",
        "choice": "'{value}' гэсэн сонголт байхгүй; дараахаас сонгоно уу: {choices}.",
        "choice_type": "Жагсаалтаас нэг сонголт хийнэ үү.",
        "choices_type": "Жагсаалтаас сонголт хийнэ үү (сонголтын нэрсийн жагсаалт).",
        "choice_twice": "'{value}' нэгээс олон удаа сонгогдсон байна.",
        "date": "Огноог ЖЖЖЖ-СС-ӨӨ хэлбэрээр оруулна уу, жишээ нь 2026-11-01.",
        "datetime": "Огноо, цагийг оруулна уу, жишээ нь 2026-11-01T14:30:00+08:00.",
        "geopoint": "Байршлыг дахин тэмдэглэнэ үү: өргөрөг -90-ээс 90, уртраг -180-аас 180-ийн хооронд байх ёстой.",
        "image_type": "Зураг авах эсвэл хавсаргана уу.",
        "image_missing": "'{value}' зураг илгээлттэй хамт ирээгүй; дахин хавсаргаад синк хийнэ үү.",
        "image_kind": "'{value}' хавсралт зураг биш байна ({content_type}).",
        "note": "Энэ бол тэмдэглэл; хариулт шаардахгүй.",
        "group": "Энэ хэсгийн хариултууд нэг бүлэг (объект) байх ёстой.",
        "repeat": "Энэ хэсгийн бичлэгүүд жагсаалт байх ёстой.",
        "entry": "Энэ хэсгийн бичлэг бүр хариултуудын бүлэг (объект) байх ёстой.",
        "min_count": "Хамгийн багадаа {n} бичлэг нэмнэ үү.",
        "max_count": "Бичлэг хэт олон байна: хамгийн ихдээ {n} байж болно.",
        "constraint": "Энэ хариулт маягтын дүрэмд нийцэхгүй байна.",
    },
}


def catalog(lang: str) -> dict[str, str]:
    """The messages of `lang`, falling back to English for other languages."""
    return CATALOG.get(lang, CATALOG["en"])


def pick_text(texts: dict[str, str] | None, lang: str) -> str | None:
    """The text of a per-language map in `lang`, else English, else any."""
    if not texts:
        return None
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()))
