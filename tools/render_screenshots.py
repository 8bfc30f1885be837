"""Render the PNG screenshots of docs/images/ from the service's own SVG diagrams.

    pip install -e '.[docs]' && python tools/render_screenshots.py

Deploys bpmn/ into a throw-away SQLite database, renders the สารบรรณ process as designed, and drives one 1300
hotline case (started by the hotline's message, screened, recorded, referred) to render its instance diagram
with completed steps, the active step and step counts. Thai labels need a Thai font (Debian: fonts-thai-tlwg).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cairosvg

from mso_flow.engine.model import FormField
from mso_flow.services import definitions, diagrams, instances, messages, tasks, users
from mso_flow.services.context import SYSTEM, Services
from mso_flow.settings import Settings
from mso_flow.store import migrate

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"
CHOICES = {"urgency": "normal", "channel": "phone", "region": "central"}


def _value(field: FormField) -> object:
    if field.id in CHOICES and any(value == CHOICES[field.id] for value, _ in field.enum):
        return CHOICES[field.id]
    first = field.enum[0][0] if field.enum else ""
    return {"boolean": True, "long": 1, "date": "2026-11-25", "enum": first}.get(field.type, "ทดสอบ")


def _advance(services: Services, instance_id: str, steps: int) -> None:
    """Complete the first open task `steps` times, filling its form with plausible values."""
    for _ in range(steps):
        view = instances.get(services, SYSTEM, instance_id)
        task = view.active_tasks[0]
        model = services.definition(view.instance.definition_id).model.user_task(task.element_id)
        variables = {f.id: _value(f) for f in (model.form if model else ())}
        tasks.complete(services, SYSTEM, task.id, variables)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/shots.db", admin_token=None)
        services = Services.from_settings(settings)
        migrate.upgrade(services.db.engine, settings.migrations_dir)
        definitions.deploy_directory(services, settings.bpmn_dir)
        users.create_user(services, SYSTEM, "hotline", ["integrator"])
        OUT.mkdir(parents=True, exist_ok=True)
        saraban = diagrams.definition_svg(services, "central_saraban", None)
        cairosvg.svg2png(bytestring=saraban, write_to=str(OUT / "central_saraban.png"), scale=1.5)
        case = messages.send(services, SYSTEM, "hotline_intake", "1300-2569-000123", None, {"problem": "ขอความช่วยเหลือ"})
        _advance(services, case.instance_id, 3)
        hotline = diagrams.instance_svg(services, SYSTEM, case.instance_id)
        cairosvg.svg2png(bytestring=hotline, write_to=str(OUT / "inspection_hotline_1300_instance.png"), scale=1.5)
        services.db.dispose()
    print(f"wrote {OUT / 'central_saraban.png'} and {OUT / 'inspection_hotline_1300_instance.png'}")


if __name__ == "__main__":
    main()
