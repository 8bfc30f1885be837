"""`mso-flow`: run the service and operate it (database, users, BPMN validation)."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from pathlib import Path

from mso_flow.api.app import quiet_engine_logs
from mso_flow.services import accounts, definitions, users
from mso_flow.services.calendar import CalendarFileError
from mso_flow.services.context import Services
from mso_flow.services.errors import Conflict, ServiceError
from mso_flow.settings import Settings, get_settings
from mso_flow.store import migrate
from mso_flow.store.db import Database

log = logging.getLogger("mso_flow")


def _services(settings: Settings) -> Services:
    return Services.from_settings(settings)


def prepare(settings: Settings) -> Services:
    """Upgrade the database, make the bootstrap admin exist, and deploy the changed files of `bpmn/`."""
    services = _services(settings)
    migrate.upgrade(services.db.engine, settings.migrations_dir)
    if settings.admin_token:
        users.ensure_user(services, "admin", ["admin"], settings.admin_token)
    if settings.admin_password:
        accounts.ensure_password(services, "admin", ["admin"], settings.admin_password, secrets.token_urlsafe(32))
    if settings.deploy_on_start and settings.bpmn_dir.is_dir():
        try:
            deployed = definitions.deploy_directory(services, settings.bpmn_dir)
        except Conflict:  # another replica deployed the same files at the same moment
            deployed = definitions.deploy_directory(services, settings.bpmn_dir)
        created = [d.definition.id for d in deployed if d.created]
        log.info("deployed %d new definition versions from %s", len(created), settings.bpmn_dir)
    return services


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    try:
        prepare(settings).db.dispose()
    except ServiceError as err:
        for problem in err.errors or [{"message": err.message}]:
            print(_problem_line(problem), file=sys.stderr)
        return 2
    except CalendarFileError as err:
        print(f"MSO_FLOW_HOLIDAYS_FILE: {err}", file=sys.stderr)
        return 2
    uvicorn.run(
        "mso_flow.api.app:create_default_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        proxy_headers=True,
    )
    return 0


def _problem_line(problem: dict) -> str:
    return (
        f"{problem.get('file', '-')}:{problem.get('line') or 0}: {problem.get('element_id') or '-'}: "
        f"{problem.get('message')}"
    )


def _db(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.db_command == "upgrade":
        database = Database(settings.database_url)
        migrate.upgrade(database.engine, settings.migrations_dir)
        database.dispose()
        print("database is at the latest revision")
    else:
        migrate.revision(settings.database_url, settings.migrations_dir, args.message)
    return 0


def _users(args: argparse.Namespace) -> int:
    services = _services(get_settings())
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    try:
        if password is not None:
            accounts.check_password(password)  # before the user exists: a refused password creates nobody
        token = users.create_user_cli(services, args.username, args.role)
        if password is not None:
            accounts.set_password(services, args.username, password)
    except ServiceError as err:
        print(err.message, file=sys.stderr)
        return 1
    print(token)
    return 0


def _validate(args: argparse.Namespace) -> int:
    files = []
    for raw in args.files:
        path = Path(raw)
        for file in sorted(path.rglob("*.bpmn")) if path.is_dir() else [path]:
            try:
                files.append((str(file), file.read_bytes()))
            except OSError as err:
                print(f"{file}:0: -: {err.strerror}")
                return 1
    problems = definitions.problems_of(files)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{len(files)} file(s) valid", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_engine_logs()
    parser = argparse.ArgumentParser(prog="mso-flow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="upgrade the database, deploy bpmn/, serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes sharing the database")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(run=_serve)

    db = commands.add_parser("db", help="database migrations")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply every migration")
    revision = db_commands.add_parser("revision", help="autogenerate a migration from the models")
    revision.add_argument("-m", "--message", required=True)
    db.set_defaults(run=_db)

    user_cmd = commands.add_parser("users", help="manage users")
    user_commands = user_cmd.add_subparsers(dest="users_command", required=True)
    create = user_commands.add_parser("create", help="create a user and print its token once")
    create.add_argument("username")
    create.add_argument("--role", action="append", required=True, help="a role (repeat for several)")
    create.add_argument(
        "--password-stdin", action="store_true", help="read a web-app password (10+ characters) from stdin"
    )
    user_cmd.set_defaults(run=_users)

    validate = commands.add_parser("validate", help="check BPMN files as a deployment would")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(run=_validate)

    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
