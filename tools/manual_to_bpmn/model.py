"""The structured reading of one flowchart of the manual (see docs/manual-extraction/FORMAT.md)."""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mso_flow.engine.parsing import MAX_RETENTION_DAYS

ASCII_ID = r"^[a-z][a-z0-9_]*$"
# Rule 13 of docs/manual-extraction/RULES.md: a text field whose label names one of these is a passage staff write
# (orders, opinions, remarks, proposals, reports, summaries, results, findings, resolutions, accounts of a problem
# or a complaint, lists, a scope), unless the label starts by naming one thing (a name, a number, a score, a unit).
LONG_TEXT_WORDS = (
    "ข้อสั่งการ",
    "ความเห็น",
    "ข้อคิดเห็น",
    "ความคิดเห็น",
    "ข้อสังเกต",
    "ข้อเสนอ",
    "รายงาน",
    "สรุป",
    "ผลการ",
    "ข้อค้นพบ",
    "บทเรียน",
    "มติ",
    "ปัญหา",
    "พฤติกรรม",
    "ข้อโต้แย้ง",
    "ข้อผิดพลาด",
    "สิ่งผิดปกติ",
    "รายละเอียด",
    "ที่ต้องแก้ไข",
    "ประเด็นที่ขาด",
    "ร้องเรียน",
    "รายชื่อ",
    "รายการ",
    "ขอบเขต",
)
ONE_THING = ("ชื่อ", "เลข", "หมายเลข", "คะแนน", "หน่วยงาน")


def is_long_text(field_type: str, label: str) -> bool:
    """Rule 13: the field is long free text (`camunda:property multiline=true`, a textarea in the web app)."""
    return field_type == "string" and any(w in label for w in LONG_TEXT_WORDS) and not label.startswith(ONE_THING)


VARIABLE = r"^[A-Za-z][A-Za-z0-9_]*$"
END = "end"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Strict):
    section: str
    pages: str = ""
    lines: tuple[int, int]
    basis: Literal["flowchart", "steps"]


Reason = Field(default=None, min_length=3, description="set when the manual does not draw it: why it was added")


class Start(_Strict):
    name: str = "เริ่มต้น"
    message: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")
    inferred: str | None = Reason  # e.g. a message start where the manual does not say another system starts it


Basis = Literal["working", "calendar"]


class Lane(_Strict):
    id: str = Field(pattern=ASCII_ID)
    name: str = Field(min_length=1)
    inferred: str | None = Reason


class FormField(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    type: Literal["string", "long", "boolean", "date", "enum", "file"]
    required: bool = False
    values: dict[str, str] | None = None
    accept: list[str] = []  # file: media types (`application/pdf`, `image/*`): `camunda:property accept`
    multiple: bool = False  # file: several documents: `camunda:property multiple=true`
    inferred: str | None = Reason  # file (rule 12): the manual implies the document rather than names its file
    personal: bool = False  # personal data under the PDPA: `camunda:property personal_data=true`
    sensitive: bool = False  # the Act's section 26 data (implies personal): `camunda:property sensitive=true`
    marking_reason: str | None = Field(
        default=None, min_length=3, description="why the field is marked personal (the manual marks none)"
    )

    @field_validator("id")
    @classmethod
    def _not_keyword(cls, value: str) -> str:
        if keyword.iskeyword(value):
            raise ValueError(f"form field id {value!r} is a Python keyword")
        return value

    @model_validator(mode="after")
    def _enum_values(self) -> FormField:
        if (self.type == "enum") != bool(self.values):
            raise ValueError(f"field {self.id}: enum fields (and only they) need `values`")
        if self.marking_reason and not (self.personal or self.sensitive):
            raise ValueError(f"field {self.id}: `marking_reason` without `personal` or `sensitive`")
        if self.type != "file" and (self.accept or self.multiple or self.inferred):
            raise ValueError(f"field {self.id}: `accept`, `multiple` and `inferred` are for file fields (rule 12)")
        return self


class Branch(_Strict):
    name: str = Field(min_length=1)
    condition: str | None = None
    default: bool = False
    to: str
    inferred: str | None = Reason

    @model_validator(mode="after")
    def _condition_or_default(self) -> Branch:
        if bool(self.condition) == self.default:
            raise ValueError(f"branch {self.name!r}: give either a condition or `default: true`")
        return self


class Decision(_Strict):
    name: str = Field(min_length=1)
    branches: list[Branch] = Field(min_length=2)
    inferred: str | None = Reason

    @model_validator(mode="after")
    def _one_default(self) -> Decision:
        if sum(b.default for b in self.branches) > 1:
            raise ValueError(f"decision {self.name!r}: at most one default branch")
        return self


class Deadline(_Strict):
    """A time limit the manual states ("ภายใน X"). Counted from the step's start it is a boundary timer that alerts
    a supervisor; counted from the receipt of the case it is a due date from the instance's start (no timer)."""

    duration: str = Field(pattern=r"^P")
    text: str
    counted_from: Literal["task", "receipt"] = "task"
    basis: Basis = "calendar"
    escalate_lane: str | None = None
    escalation: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _escalation(self) -> Deadline:
        if (self.counted_from == "task") != bool(self.escalate_lane and self.escalation):
            raise ValueError("a deadline from the task escalates (escalate_lane, escalation), one from receipt not")
        return self


class Step(_Strict):
    id: str = Field(pattern=ASCII_ID)
    no: str = ""
    name: str = Field(min_length=1)
    lane: str
    duration: str | None = Field(default=None, pattern=r"^P")
    duration_text: str = ""
    duration_basis: Basis | None = None
    lines: tuple[int, int] | None = None  # the manual's lines of the step, when located
    inferred: str | None = Reason
    detail: str = ""
    form: list[FormField] = []
    next: str | None = None
    decision: Decision | None = None
    deadline: Deadline | None = None


class End(_Strict):
    id: str = Field(pattern=ASCII_ID)
    name: str = "สิ้นสุด"


class ProcessReading(_Strict):
    """One flowchart of the manual as read by an engineer: the input of the BPMN builder."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{2,63}$")
    unit: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    unit_name: str
    name: str
    category: str = ""
    owner: str = ""
    kpi: str = ""
    source: Source
    readings: list[str] = []
    start: Start = Start()
    lanes: list[Lane] = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)
    ends: list[End] = [End(id=END)]
    # Personal data and secrecy (docs/manual-extraction/RULES.md, rule 10); say why in `readings`.
    personal_data: list[Annotated[str, Field(pattern=VARIABLE)]] = []  # variables a start or message brings
    sensitive_data: list[Annotated[str, Field(pattern=VARIABLE)]] = []  # the same, section 26 data
    retention_days: int | None = Field(
        default=None, strict=True, gt=0, le=MAX_RETENTION_DAYS
    )  # None: the service's setting
    secrecy_variable: str | None = Field(default=None, pattern=VARIABLE)  # an enum field: the secrecy class

    @model_validator(mode="after")
    def _references(self) -> ProcessReading:
        lane_ids = [lane.id for lane in self.lanes]
        step_ids = [step.id for step in self.steps]
        end_ids = [end.id for end in self.ends]
        for kind, ids in (("lane", lane_ids), ("step", step_ids), ("end", end_ids)):
            duplicates = {i for i in ids if ids.count(i) > 1}
            if duplicates:
                raise ValueError(f"duplicate {kind} ids: {sorted(duplicates)}")
        if set(step_ids) & set(end_ids):
            raise ValueError(f"ids used for both a step and an end: {sorted(set(step_ids) & set(end_ids))}")
        targets = set(step_ids) | set(end_ids) | {END}
        for step in self.steps:
            if step.lane not in lane_ids:
                raise ValueError(f"step {step.id}: unknown lane {step.lane!r}")
            if step.next is not None and step.next not in targets:
                raise ValueError(f"step {step.id}: unknown next {step.next!r}")
            if step.next is not None and step.decision is not None:
                raise ValueError(f"step {step.id}: give `next` or `decision`, not both")
            for branch in step.decision.branches if step.decision else []:
                if branch.to not in targets:
                    raise ValueError(f"step {step.id}: branch {branch.name!r} goes to unknown {branch.to!r}")
            if step.deadline and step.deadline.escalate_lane and step.deadline.escalate_lane not in lane_ids:
                raise ValueError(f"step {step.id}: unknown escalate_lane {step.deadline.escalate_lane!r}")
        enums = {f.id for step in self.steps for f in step.form if f.type == "enum"}
        if self.secrecy_variable is not None and self.secrecy_variable not in enums:
            raise ValueError(f"secrecy_variable {self.secrecy_variable!r} is not an enum form field of a step")
        return self

    def end_id(self, target: str) -> str:
        """The end event a `next`/`to` of "end" means: the first declared end."""
        return self.ends[0].id if target == END else target

    def successors(self, index: int) -> list[tuple[str, Branch | None]]:
        """Where control goes after step `index`: (target id, branch or None for a plain flow)."""
        step = self.steps[index]
        if step.decision is not None:
            return [(self.end_id(b.to), b) for b in step.decision.branches]
        if step.next is not None:
            return [(self.end_id(step.next), None)]
        if index + 1 < len(self.steps):
            return [(self.steps[index + 1].id, None)]
        return [(self.ends[0].id, None)]


class _Yaml12BoolLoader(yaml.SafeLoader):
    """YAML with only true/false as booleans, so keys such as `no` (a step number) and `yes` stay text."""


_Yaml12BoolLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12BoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_reading(path: Path) -> ProcessReading:
    """Read and validate one extraction file."""
    with path.open(encoding="utf-8") as handle:
        return ProcessReading.model_validate(yaml.load(handle, Loader=_Yaml12BoolLoader))
