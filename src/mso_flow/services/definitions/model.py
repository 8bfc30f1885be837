"""What the faces read of a deployed process: its frozen description (a process, its user tasks, their form
fields), the engine's `engine.model` types offered through the service layer, so no face imports the engine."""

from __future__ import annotations

from mso_flow.engine.model import FormField, ProcessDef, UserTaskDef

__all__ = ["FormField", "ProcessDef", "UserTaskDef"]
