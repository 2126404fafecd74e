"""fieldsync's form definition language and submission validation.

Public API:

- `load_definition(definition) -> dict`: check a form definition, return it normalized;
- `FormDefinitionError`: raised with `.problems` (every `{"path", "message"}`);
- `compile_form(definition) -> SubmissionValidator`: cached per form version;
  `validator.validate(data, attachments=None, lang="en")` lists what is wrong;
- `read_xlsform(path) -> dict`: an XLSForm spreadsheet as a form definition;
- `bundled_forms() -> list[dict]`: the example forms shipped with fieldsync.
"""

from schemas.compiler import SubmissionValidator, compile_form
from schemas.definition import load_definition, submission_deadline
from schemas.errors import FormDefinitionError
from schemas.examples import bundled_forms
from schemas.expressions import ExpressionError
from schemas.xlsform import read_xlsform

__all__ = [
    "ExpressionError",
    "FormDefinitionError",
    "SubmissionValidator",
    "bundled_forms",
    "compile_form",
    "load_definition",
    "read_xlsform",
    "submission_deadline",
]
