"""The one error type for a form definition that cannot be used.

Admins fix definitions in a spreadsheet or a JSON editor, so a refusal lists every
problem at once, each with the path of the thing to fix, instead of stopping at
the first one and making them upload again and again.
"""

from __future__ import annotations


class FormDefinitionError(ValueError):
    """A form definition was refused; `problems` says everything that is wrong.

    Each problem is `{"path": "fields[3].choices", "message": "..."}`; the path
    uses `.` for keys and `[i]` (0-based) for list positions.
    """

    def __init__(self, problems: list[dict[str, str]]) -> None:
        self.problems = problems
        lines = [f"{p['path'] or '(form)'}: {p['message']}" for p in problems]
        super().__init__(f"{len(problems)} problem(s) in form definition:\n" + "\n".join(lines))
