"""The data of a case as its page shows it: each variable under the Thai label of the form field that asks for it
(in any user task's form of the instance's version; a variable no form names keeps its id as its label), its value
as staff read it (`thai.value_words`: yes/no, an enum value's Thai name, Thai dates), in the order the process asks
for them, then the rest by id. Masked and erased values are marked as such, never shown."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mso_flow.api.web.thai import value_words
from mso_flow.services.definitions.model import ProcessDef


@dataclass(frozen=True)
class CaseDatum:
    id: str
    label: str
    text: str
    shown: Literal["value", "masked", "erased"] = "value"


@dataclass(frozen=True)
class _Asked:
    label: str
    kind: str
    names: dict[str, str]


def _asked(model: ProcessDef) -> dict[str, _Asked]:
    """Variable id → its label, type and enum names, from the first form field of that id in the process's order
    (enum names merged over every form that asks for it)."""
    asked: dict[str, _Asked] = {}
    for task in model.user_tasks:
        for field in task.form:
            found = asked.setdefault(field.id, _Asked(field.label or field.id, field.type, {}))
            for value, name in field.enum:
                found.names.setdefault(value, name)
    return asked


def case_data(
    model: ProcessDef, variables: Mapping[str, Any], masked: Collection[str] = (), erased: bool = False
) -> list[CaseDatum]:
    """The case's variables as rows to read."""
    asked = _asked(model)
    order = {variable: index for index, variable in enumerate(asked)}
    rows = []
    for variable in sorted(variables, key=lambda v: (order.get(v, len(order)), v)):
        value, field = variables[variable], asked.get(variable)
        label = field.label if field else variable
        if variable in masked:
            rows.append(CaseDatum(variable, label, "", "masked"))
        elif value is None and erased:
            rows.append(CaseDatum(variable, label, "", "erased"))
        else:
            text = value_words(value, field.kind if field else None, field.names if field else None)
            rows.append(CaseDatum(variable, label, text))
    return rows
