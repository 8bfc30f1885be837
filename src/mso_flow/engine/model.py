"""What the engine knows of a deployed process, in plain data the service layer can store and return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mso_flow.domain import Severity


@dataclass(frozen=True)
class Problem:
    """One finding of the verdict on a BPMN or DMN file, located as precisely as the check allows: an error
    refuses the deployment, a warning is shown with the version it deploys."""

    file: str
    line: int | None
    element_id: str | None
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.file}:{self.line or 0}: {self.element_id or '-'}: {self.severity}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "element_id": self.element_id,
            "severity": str(self.severity),
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        return cls(data["file"], data.get("line"), data.get("element_id"), data["message"], Severity(data["severity"]))


def warning(file: str, line: int | None, element_id: str | None, message: str) -> Problem:
    return Problem(file, line, element_id, message, Severity.WARNING)


class BpmnInvalid(Exception):
    """A BPMN document that cannot be deployed; `problems` says why (its errors, and the warnings found before)."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class FormField:
    """A field of a user task's form (`camunda:formData`)."""

    id: str
    label: str
    type: str
    required: bool = False
    enum: tuple[tuple[str, str], ...] = ()
    default: str | None = None
    personal: bool = False  # `camunda:property personal_data=true`: personal data under the PDPA
    sensitive: bool = False  # `camunda:property sensitive=true`: the Act's section 26 data (implies personal)
    accept: tuple[str, ...] = ()  # type "file": `camunda:property accept` (media types, `image/*`, `.pdf`)
    multiple: bool = False  # type "file": `camunda:property multiple=true`: several documents
    multiline: bool = False  # `camunda:property multiline=true`: long free text (orders, opinions, reports)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "type": self.type,
            "required": self.required,
            "enum": [{"id": value, "name": name} for value, name in self.enum],
            "default": self.default,
            "personal": self.personal,
            "sensitive": self.sensitive,
            "accept": list(self.accept),
            "multiple": self.multiple,
            "multiline": self.multiline,
        }


@dataclass(frozen=True)
class UserTaskDef:
    """A user task of a process: who may work it, how long it should take, what it asks for."""

    element_id: str
    name: str
    lane: str | None
    standard_duration: str | None = None
    manual_duration: str | None = None
    documentation: str | None = None
    form: tuple[FormField, ...] = ()
    candidate_groups: tuple[str, ...] = ()
    assignee: str | None = None
    duration_basis: str | None = None  # "working" | "calendar": how days of standard_duration and deadline count
    deadline: str | None = None  # ISO-8601 time limit ("ภายใน X") counted from `deadline_from`
    deadline_from: str | None = None  # "receipt" (the instance's start) | "task" (the task's creation)
    manual_section: str | None = None
    manual_lines: str | None = None  # "first-last" lines of the manual the step is read from
    source: str | None = None  # "inferred" when the manual does not draw the step, else None
    inferred_reason: str | None = None

    EXTRA = (
        "duration_basis",
        "deadline",
        "deadline_from",
        "manual_section",
        "manual_lines",
        "source",
        "inferred_reason",
    )
    candidate_users: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()  # variables a task without a form may write (`camunda:property outputs`)

    def as_dict(self) -> dict[str, Any]:
        return {
            "element_id": self.element_id,
            "name": self.name,
            "lane": self.lane,
            "standard_duration": self.standard_duration,
            "manual_duration": self.manual_duration,
            "documentation": self.documentation,
            "form": [f.as_dict() for f in self.form],
            "candidate_groups": list(self.candidate_groups),
            "assignee": self.assignee,
            **{name: getattr(self, name) for name in self.EXTRA},
            "candidate_users": list(self.candidate_users),
            "outputs": list(self.outputs),
        }


@dataclass(frozen=True)
class ProcessDef:
    """The deployable facts of one executable process of a BPMN document."""

    key: str
    name: str
    documentation: str | None
    properties: dict[str, str]
    lanes: tuple[str, ...]
    user_tasks: tuple[UserTaskDef, ...]
    start_messages: tuple[str, ...] = ()
    lane_roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    start_timers: tuple[tuple[str, str, str], ...] = ()  # (start event id, timeDate|timeCycle|timeDuration, text)
    split_lanes: tuple[str, ...] = ()  # composite lanes the roles file does not name, offered to each part
    starter_groups: tuple[str, ...] = ()  # camunda:candidateStarterGroups
    starter_users: tuple[str, ...] = ()  # camunda:candidateStarterUsers

    @property
    def unit(self) -> str | None:
        return self.properties.get("unit_name") or self.properties.get("unit")

    @property
    def personal_variables(self) -> frozenset[str]:
        """Variables that hold personal data: form fields marked `personal_data` or `sensitive`, and the names the
        process lists in its `personal_data` and `sensitive_data` properties (data that arrives by start or
        message)."""
        fields = {f.id for t in self.user_tasks for f in t.form if f.personal or f.sensitive}
        listed = _names(self.properties.get("personal_data")) | self.sensitive_variables
        return frozenset(fields | listed)

    @property
    def sensitive_variables(self) -> frozenset[str]:
        """The personal variables that are the Act's section 26 data (health, ethnicity, criminal record…)."""
        fields = {f.id for t in self.user_tasks for f in t.form if f.sensitive}
        return frozenset(fields | _names(self.properties.get("sensitive_data")))

    @property
    def secrecy_variable(self) -> str | None:
        """The variable holding the letter's secrecy class (`secrecy_variable` property), if the process has one."""
        return self.properties.get("secrecy_variable") or None

    @property
    def retention_days(self) -> int | None:
        """Days the personal data of an ended instance is kept (`retention_days` property), None: the default."""
        value = self.properties.get("retention_days", "").strip()
        return int(value) if value.isdigit() else None

    @property
    def confidential(self) -> bool:
        """Whether instances of the process hold data kept encrypted: personal data or a secrecy class."""
        return bool(self.personal_variables or self.secrecy_variable)

    def user_task(self, element_id: str) -> UserTaskDef | None:
        return next((t for t in self.user_tasks if t.element_id == element_id), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "documentation": self.documentation,
            "properties": self.properties,
            "lanes": list(self.lanes),
            "user_tasks": [t.as_dict() for t in self.user_tasks],
            "start_messages": list(self.start_messages),
            "lane_roles": {lane: list(roles) for lane, roles in self.lane_roles.items()},
            "start_timers": [list(t) for t in self.start_timers],
            "split_lanes": list(self.split_lanes),
            "starter_groups": list(self.starter_groups),
            "starter_users": list(self.starter_users),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessDef:
        return cls(
            key=data["key"],
            name=data["name"],
            documentation=data.get("documentation"),
            properties=dict(data.get("properties", {})),
            lanes=tuple(data.get("lanes", ())),
            user_tasks=tuple(
                UserTaskDef(
                    element_id=t["element_id"],
                    name=t["name"],
                    lane=t.get("lane"),
                    standard_duration=t.get("standard_duration"),
                    manual_duration=t.get("manual_duration"),
                    documentation=t.get("documentation"),
                    form=tuple(
                        FormField(
                            id=f["id"],
                            label=f["label"],
                            type=f["type"],
                            required=f.get("required", False),
                            enum=tuple((e["id"], e["name"]) for e in f.get("enum", [])),
                            default=f.get("default"),
                            personal=f.get("personal", False),
                            sensitive=f.get("sensitive", False),
                            accept=tuple(f.get("accept", ())),
                            multiple=f.get("multiple", False),
                            multiline=f.get("multiline", False),
                        )
                        for f in t.get("form", [])
                    ),
                    candidate_groups=tuple(t.get("candidate_groups", ())),
                    assignee=t.get("assignee"),
                    **{name: t.get(name) for name in UserTaskDef.EXTRA},
                    candidate_users=tuple(t.get("candidate_users", ())),
                    outputs=tuple(t.get("outputs", ())),
                )
                for t in data.get("user_tasks", [])
            ),
            start_messages=tuple(data.get("start_messages", ())),
            lane_roles={lane: tuple(roles) for lane, roles in data.get("lane_roles", {}).items()},
            start_timers=tuple((t[0], t[1], t[2]) for t in data.get("start_timers", ())),
            split_lanes=tuple(data.get("split_lanes", ())),
            starter_groups=tuple(data.get("starter_groups", ())),
            starter_users=tuple(data.get("starter_users", ())),
        )


def _names(value: str | None) -> set[str]:
    """The names of a property listing variables, separated by commas or spaces."""
    return {name for name in (value or "").replace(",", " ").split() if name}
