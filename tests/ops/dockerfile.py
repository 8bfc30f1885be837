"""What the tests need of the `Dockerfile`, read with dockerfile-parse: per stage its ENV, USER, WORKDIR, the
COPY lines from the build context, the users' home folders and the folders its RUN lines give away, and CMD."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from dockerfile_parse import DockerfileParser

from tests.conftest import ROOT


@dataclass
class Stage:
    """What a test needs of one stage of the Dockerfile."""

    env: dict[str, str] = field(default_factory=dict)
    user: str = "root"
    workdir: str = "/"
    copies: list[tuple[list[str], str]] = field(default_factory=list)  # (sources in the repository, destination)
    homes: dict[str, str] = field(default_factory=dict)  # user -> home folder (useradd --home-dir)
    owned: dict[str, str] = field(default_factory=dict)  # folder -> owner (RUN … chown)
    modes: dict[str, int] = field(default_factory=dict)  # folder -> mode (RUN … chmod)
    command: list[str] = field(default_factory=list)


def read_dockerfile() -> list[Stage]:
    parser = DockerfileParser(str(ROOT / "Dockerfile"))
    stages: list[Stage] = []
    for entry in parser.structure:
        instruction, value = entry["instruction"], entry["value"]
        if instruction == "FROM":
            stages.append(Stage())
            continue
        if not stages:
            continue
        stage = stages[-1]
        if instruction == "USER":
            stage.user = value
        elif instruction == "WORKDIR":
            stage.workdir = str(Path(stage.workdir, value))
        elif instruction == "COPY" and not value.startswith("--from="):
            *sources, destination = value.split()
            stage.copies.append((sources, str(Path(stage.workdir, destination))))
        elif instruction == "RUN":
            stage.homes.update((user, home) for home, user in re.findall(r"--home-dir (\S+) (\S+)", value))
            stage.owned.update((path, owner) for owner, path in re.findall(r"chown (\S+) (\S+)", value))
            stage.modes.update((path, int(mode, 8)) for mode, path in re.findall(r"chmod ([0-7]+) (\S+)", value))
        elif instruction == "CMD":
            stage.command = json.loads(value)
    stages[-1].env = dict(parser.envs)  # the final stage's ENV
    return stages
