"""`mso-flow` run in the test's own process, for tests that run many commands.

`run_cli` calls `mso_flow.cli.main` with the command's environment, working directory and standard input, and
answers like `subprocess.run(..., capture_output=True, text=True)`: the same parsing, commands, output and exit code
as the installed command, without a Python start and the service's imports (about 1.5 s of CPU) per call. The
settings are read afresh for each call, as a new process would read them, and the logging the command configures
is undone after it. Each command family keeps a test that runs the installed command itself (tests/test_cli.py,
the `--password-stdin` test of tests/web/test_password_reset.py).
"""

from __future__ import annotations

import contextlib
import io
import logging
import subprocess
from pathlib import Path

import pytest

from mso_flow.cli import main
from mso_flow.settings import get_settings
from mso_flow.telemetry import logs


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: str = ""
) -> subprocess.CompletedProcess:
    """`mso-flow ARGS` with `env` added to the environment, in `cwd`, reading `stdin`."""
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logs.config()["loggers"])]
    saved = [(logger, logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        if cwd is not None:
            patch.chdir(cwd)
        patch.setattr("sys.stdin", io.StringIO(stdin))
        get_settings.cache_clear()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(args))
        finally:
            get_settings.cache_clear()
            for logger, handlers, level, propagate in saved:
                logger.handlers[:] = handlers
                logger.setLevel(level)
                logger.propagate = propagate
    return subprocess.CompletedProcess(["mso-flow", *args], code, out.getvalue(), err.getvalue())
