"""The layers' import contracts (pyproject.toml `[tool.importlinter]`, issue 28): the faces import neither the store
nor the engine, the engine nothing of services, store or settings, the store only the domain. `lint-imports` runs
here so the README's test command (and CI) checks them."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    names = [c["name"] for c in contracts["contracts"]]
    assert "faces import neither store nor engine" in names
    assert "store imports only the domain" in names
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"Contracts: {len(names)} kept, 0 broken." in result.stdout


def test_the_faces_contract_ignores_no_import() -> None:
    """No exception for ORM rows handed to the faces (issue 28 item 2): the services answer them frozen views."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    [faces] = [c for c in contracts["contracts"] if c["name"] == "faces import neither store nor engine"]
    assert not faces.get("ignore_imports")
