"""The Docker image, laid out without a Docker daemon, starts: the final stage of the `Dockerfile` (its ENV, USER,
WORKDIR, COPY lines, the folders its RUN lines give the user, the user's home) is laid out in a temporary root
owned by root, the project is installed (not editable, as the build stage does) into a root-owned Python prefix in
it, and `mso-flow serve` runs as an unprivileged user (`nobody`) with the image's environment, its paths mapped
into the temporary root. It migrates, serves /health, starts a protected case and reads it back, writing only to
the image's volumes. Without a usable key location it refuses to start, with one line naming the setting."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.live import free_port, stop, wait_until_healthy
from tests.ops.dockerfile import Stage, read_dockerfile
from tests.ops.protected_case import hotline_case

pytestmark = pytest.mark.slow
BASE_IMAGE_ENV = {"LANG": "C.UTF-8"}  # what python:3.11-slim sets besides PATH
KEY_SETTINGS = ("MSO_FLOW_MASTER_KEY_FILE", "MSO_FLOW_AUDIT_SIGNING_KEY_FILE")


@dataclass
class Layout:
    """The final stage laid out under `root`, run by the unprivileged `uid`."""

    stage: Stage
    root: Path
    uid: int
    gid: int

    def host(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def mapped(self, value: str) -> str:
        """`value` (an ENV value) with the image's folders replaced by their place under the root."""
        folders = sorted({self.stage.workdir, self.home, *self.stage.owned}, key=len, reverse=True)
        pattern = "|".join(re.escape(folder) for folder in folders)
        return re.sub(rf"(?<![\w.-])({pattern})(?=/|$)", lambda match: str(self.host(match[1])), value)

    @property
    def home(self) -> str:
        return self.stage.homes.get(self.stage.user, "/")

    def env(self, **extra: str) -> dict[str, str]:
        image_env = {name: self.mapped(value) for name, value in self.stage.env.items()}
        return {
            "PATH": f"{self.host('/usr/local/bin')}:/usr/bin:/bin",
            "HOME": str(self.host(self.home)),
            **BASE_IMAGE_ENV,
            **image_env,
            **extra,
        }

    def run(self, command: list[str], env: dict[str, str], **kwargs) -> subprocess.Popen:
        """`command` (the image's CMD) as the image's user, in its working directory."""
        executable = self.host("/usr/local/bin") / command[0]
        return subprocess.Popen(
            [str(executable), *command[1:]],
            env=env,
            cwd=self.host(self.stage.workdir),
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            **kwargs,
        )

    def files(self, path: str) -> set[str]:
        return {str(p.relative_to(self.host(path))) for p in self.host(path).rglob("*")}


def _python_for(uid: int, gid: int) -> str:
    """A Python of this version that the unprivileged user may run (a venv's base may sit in root's home)."""
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (os.path.realpath(sys.executable), shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")):
        try:
            if candidate and subprocess.run([candidate, "-c", "pass"], user=uid, group=gid).returncode == 0:
                return candidate
        except PermissionError:
            continue
    pytest.skip(f"no {name} that an unprivileged user may run")


def _link_tree(source: Path, target: Path) -> None:
    """`source` copied as hard links where the file system allows (a copy otherwise); the project itself is left
    out: it is installed as the build stage does."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    ignore = shutil.ignore_patterns("__editable__*", "mso_flow*", "__pycache__")
    shutil.copytree(source, target, copy_function=link, ignore=ignore, dirs_exist_ok=True)


def _install(build: Stage, layout: Layout, python: str, scratch: Path) -> None:
    """The build stage (its COPY sources, `pip install .`) into the root's /usr/local, a venv owned by root whose
    dependencies are this environment's, linked in."""
    prefix = layout.host("/usr/local")
    subprocess.run([python, "-m", "venv", "--without-pip", str(prefix)], check=True)
    site_packages = next(prefix.glob("lib/python3*/site-packages"))
    _link_tree(Path(sysconfig.get_paths()["purelib"]), site_packages)
    source = scratch / "build"
    source.mkdir()
    for sources, _ in build.copies:
        for name in sources:
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
            else:
                shutil.copy2(ROOT / name, source / name)
    install = [str(prefix / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*install, "--no-index", str(source)], check=True, cwd=scratch)


@pytest.fixture(scope="module")
def layout() -> Iterator[Layout]:
    if os.geteuid() != 0:
        pytest.skip("lays the image out as root and drops to an unprivileged user (CI runs as root)")
    stages = read_dockerfile()
    build, final = stages[0], stages[-1]
    nobody = pwd.getpwnam("nobody")
    scratch = Path(tempfile.mkdtemp(prefix="mso-flow-image-"))
    try:
        scratch.chmod(0o755)
        layout = Layout(final, scratch / "root", nobody.pw_uid, nobody.pw_gid)
        for path in (final.workdir, layout.home):
            layout.host(path).mkdir(parents=True, exist_ok=True)
        for sources, destination in final.copies:
            for name in sources:
                shutil.copytree(ROOT / name, layout.host(destination))
        for path in final.owned:
            folder = layout.host(path)
            folder.mkdir(parents=True)
            os.chown(folder, layout.uid, layout.gid)
            folder.chmod(final.modes.get(path, 0o755))
        _install(build, layout, _python_for(layout.uid, layout.gid), scratch)
        yield layout
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _command(layout: Layout, port: int) -> list[str]:
    command = list(layout.stage.command)
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    return command


def test_the_dockerfile_runs_as_an_unprivileged_user_in_a_home_it_cannot_write():
    final = read_dockerfile()[-1]
    assert final.user not in ("root", "0")
    assert final.homes[final.user] == final.workdir and final.workdir not in final.owned
    assert set(final.owned.values()) == {final.user}  # the folders given away are the user's (the volumes)
    keys = {Path(final.env[name]).parent for name in KEY_SETTINGS}
    database = Path(final.env["MSO_FLOW_DATABASE_URL"].removeprefix("sqlite:///"))
    assert len(keys) == 1 and keys != {database.parent}, "the keys live apart from the database"
    assert {str(folder) for folder in keys} | {str(database.parent)} <= set(final.owned)


def test_the_image_migrates_serves_and_keeps_a_protected_case(layout: Layout, tmp_path):
    before = layout.files(layout.stage.workdir)
    port, token = free_port(), "image-admin-token"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = layout.run(
            _command(layout, port), layout.env(MSO_FLOW_ADMIN_TOKEN=token), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, log)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as admin:
            hotline_case(admin)
    finally:
        stop(process)
    assert layout.files(layout.stage.workdir) == before, "the service wrote into its home or working folder"
    for name in KEY_SETTINGS:
        key = Path(layout.env()[name])
        assert key.stat().st_uid == layout.uid and key.stat().st_mode & 0o777 == 0o600
    database = Path(layout.env()["MSO_FLOW_DATABASE_URL"].removeprefix("sqlite:///"))
    assert database.stat().st_uid == layout.uid


@pytest.mark.parametrize("setting", KEY_SETTINGS)
def test_without_a_usable_key_location_start_up_refuses_with_one_line(layout: Layout, setting: str):
    """The image without its key setting: the default (the user's ~/.config) lies in the root-owned home."""
    env = layout.env(MSO_FLOW_ADMIN_TOKEN="unused")
    del env[setting]
    process = layout.run(_command(layout, free_port()), env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output = process.communicate(timeout=60)[0].decode()
    finally:
        process.kill()  # nothing to do once it has exited
    assert process.returncode == 2, output
    errors = [line for line in output.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and setting in errors[0] and "Permission denied" in errors[0], output
    assert "Traceback" not in output
