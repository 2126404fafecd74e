"""A refused form definition as a 400 that names each problem in plain words.

``POST /api/forms`` answers in the shape of every other ``/api`` refusal
(``fields``: each wrong member and what is wrong with it), and adds
``problems``: each with its path and the message in English and Mongolian
(``schemas.problem_words``), as the admin pages show them.
"""

from __future__ import annotations

from schemas import FormDefinitionError
from schemas.problem_words import both_languages
from sync.errors import BadRequest

BODY = "body"  # a problem with the definition as a whole (it is not an object)


def refused(exc: FormDefinitionError) -> BadRequest:
    problems = both_languages(exc.problems)
    fields: dict[str, str] = {}
    for p in problems:
        key = p["path"] or BODY
        fields[key] = f"{fields[key]} {p['message']}" if key in fields else p["message"]
    listed = "; ".join(f"{path}: {words.rstrip('.')}" for path, words in fields.items())
    count = len(problems)
    reason = f"The form definition has {count} problem{'s' if count != 1 else ''}: {listed}"
    return BadRequest(reason, extra={"fields": fields, "problems": problems})
