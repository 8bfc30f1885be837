"""`mso-flow`: run the service and operate it (database, users, BPMN validation)."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from mso_flow import background
from mso_flow.api.app import quiet_engine_logs
from mso_flow.domain import Role
from mso_flow.services.accounts import logins as accounts
from mso_flow.services.accounts import users
from mso_flow.services.definitions import deployment as definitions
from mso_flow.services.platform import anchoring, key_locations
from mso_flow.services.platform.context import Services
from mso_flow.services.platform.failures import Conflict, ServiceError
from mso_flow.services.platform.working_days import CalendarFileError
from mso_flow.services.privacy import keyring
from mso_flow.services.privacy import officer as privacy
from mso_flow.settings import Settings, get_settings
from mso_flow.store import grants as roles
from mso_flow.store import migrate
from mso_flow.store.db import Database
from mso_flow.telemetry import logs, metrics

log = logging.getLogger("mso_flow")


def _services(settings: Settings) -> Services:
    return Services.from_settings(settings)


def prepare(settings: Settings) -> Services:
    """Check the keys (created once, before worker processes start), upgrade the database, make the bootstrap
    admin exist, and deploy the changed files of `bpmn/`."""
    key_locations.check(settings)
    services = _services(settings)
    upgrade_schema(settings)
    if settings.admin_token:
        users.ensure_user(services, "admin", [Role.ADMIN], settings.admin_token)
    if settings.admin_password:
        accounts.ensure_password(services, "admin", [Role.ADMIN], settings.admin_password, secrets.token_urlsafe(32))
    else:
        one_time = accounts.first_start_password(services, "admin")
        if one_time:
            port = os.environ.get("MSO_FLOW_LISTEN_PORT", "8000")
            print(
                f"\n  เข้าใช้เว็บครั้งแรก (web app, first login): http://127.0.0.1:{port}"
                f"/app/login\n  ชื่อผู้ใช้ (username): admin\n  รหัสผ่านใช้ครั้งเดียว (one-time password): {one_time}\n"
                "  (shown once; choose your own at the first login, or set MSO_FLOW_ADMIN_PASSWORD)\n",
                file=sys.stderr,
                flush=True,
            )
    if settings.deploy_on_start and settings.bpmn_dir.is_dir():
        try:
            deployed = definitions.deploy_directory(services, settings.bpmn_dir)
        except Conflict:  # another replica deployed the same files at the same moment
            deployed = definitions.deploy_directory(services, settings.bpmn_dir)
        created = [d.definition.id for d in deployed if d.created]
        log.info("deployed %d new definition versions from %s", len(created), settings.bpmn_dir)
    return services


def upgrade_schema(settings: Settings) -> None:
    """Migrate as the schema's owner (`migration_database_url`, else the service's URL), then grant the service
    role its rights if it is a different role."""
    owner = Database(settings.migration_database_url or settings.database_url, pool_size=1)
    try:
        migrate.upgrade(owner.engine, settings.migrations_dir)
        if settings.service_database_role:
            roles.grant_service_role(owner.engine, settings.service_database_role)
    finally:
        owner.dispose()


def _serve(args: argparse.Namespace) -> int:
    os.environ["MSO_FLOW_LISTEN_PORT"] = str(args.port)  # webhooks never call the service itself
    os.environ[logs.LEVEL_ENV] = args.log_level  # for the workers' app factory
    get_settings.cache_clear()
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
    except key_locations.KeyLocationUnusable as err:
        log.error("%s", err)
        return 2
    own_directory = None
    starts_worker = settings.background and not args.no_worker
    if args.workers > 1 or starts_worker or metrics.multiprocess_dir():
        # workers (and the background process) are separate processes: each writes its metrics to this directory
        # and a scrape sums them
        directory = metrics.multiprocess_dir() or tempfile.mkdtemp(prefix="mso-flow-metrics-")
        own_directory = None if metrics.multiprocess_dir() else directory
        metrics.prepare_multiprocess_dir(directory)
        metrics.use_multiprocess_dir(directory)  # one worker serves in this process: its metrics go there too
    supervisor = None
    if starts_worker:
        supervisor = background.Supervisor(args.log_level)  # after the metrics directory: the child writes there too
        supervisor.start()
    os.environ["MSO_FLOW_BACKGROUND"] = "false"  # the web workers serve requests only
    get_settings.cache_clear()
    try:
        _run_uvicorn(args, settings)
    finally:
        if supervisor:
            supervisor.stop()
        if own_directory:
            shutil.rmtree(own_directory, ignore_errors=True)
    return 0


def _worker(args: argparse.Namespace) -> int:
    os.environ[logs.LEVEL_ENV] = args.log_level
    settings = get_settings()
    logs.configure(settings.log_format, args.log_level)
    quiet_engine_logs()
    try:
        key_locations.check(settings)
    except key_locations.KeyLocationUnusable as err:
        log.error("%s", err)
        return 2
    return background.run(settings, args.parent)


WORKER_STARTUP_SECONDS = 60


def _run_uvicorn(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    uvicorn.run(
        "mso_flow.api.app:create_default_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=logs.config(settings.log_format, args.log_level),
        access_log=False,  # the service logs each request itself (mso_flow.access), with its id and user
        proxy_headers=False,  # forwarded headers are believed from MSO_FLOW_TRUSTED_PROXIES only (api/app.py)
        # A worker answers the supervisor's pings only once it has imported the app; on a loaded machine that
        # takes longer than uvicorn's 5 s, and the supervisor would kill and respawn it forever.
        timeout_worker_healthcheck=WORKER_STARTUP_SECONDS,
    )


def _problem_line(problem: dict) -> str:
    return (
        f"{problem.get('file', '-')}:{problem.get('line') or 0}: {problem.get('element_id') or '-'}: "
        f"{problem.get('message')}"
    )


def _db(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.db_command == "upgrade":
        upgrade_schema(settings)
        print("database is at the latest revision")
    else:
        migrate.revision(settings.database_url, settings.migrations_dir, args.message)
    return 0


def _users(args: argparse.Namespace) -> int:
    """User administration as the operator `cli:<login>`; every change lands in the admin audit chain."""
    services = _services(get_settings())
    operator = users.cli_caller()
    command = args.users_command
    try:
        if command == "create":
            password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
            # hashed (and checked) before the user exists: a refused password creates nobody
            password_hash = accounts.hash_password(password) if password is not None else None
            token = users.create_user_cli(services, args.username, args.role, args.force, password_hash, args.email)
            print(token)
        elif command == "list":
            items, _ = users.list_users(services, operator, 0, 10_000)
            for user in items:
                state = "active" if user.active else "inactive"
                token = "token" if user.has_token else "no-token"
                print(f"{user.username}\t{state}\t{token}\t{', '.join(user.roles)}")
        elif command == "roles":
            for role in users.known_roles(services, operator):
                where = "built-in" if role.built_in else ", ".join(sorted({s.process_key for s in role.sources}))
                print(f"{role.role}\t{where}")
        elif command == "set-roles":
            users.update_user(services, operator, args.username, roles=args.role, force=args.force)
        elif command == "set-email":
            users.update_user(services, operator, args.username, email=users.EmailChange(args.address))
        elif command in ("activate", "deactivate"):
            users.update_user(services, operator, args.username, active=command == "activate")
        elif command == "set-password":
            password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
            one_time = accounts.reset_password(services, operator, args.username, password)
            if one_time:
                print(one_time)
        elif command == "rotate-token":
            print(users.rotate_token(services, operator, args.username))
        elif command == "revoke-token":
            users.revoke_token(services, operator, args.username)
    except ServiceError as err:
        print(err.message, file=sys.stderr)
        return 1
    finally:
        services.db.dispose()
    return 0


def _audit(args: argparse.Namespace) -> int:
    services = _services(get_settings())
    signed = anchoring.sign_unsigned_heads(services)
    print(f"signed {signed} audit heads with key {anchoring.signer(services.settings).key_id}")
    return 0


def _personal_data(args: argparse.Namespace) -> int:
    services = _services(get_settings())
    if args.personal_data_command == "rotate-master-key":
        done = privacy.rotate_master_key(services)
        print(f"rewrapped {done} data keys under master key {keyring.keyring(services.settings).current_id}")
    else:
        print(f"erased the personal data of {privacy.erase_expired(services, limit=10_000)} instances past retention")
    return 0


def _validate(args: argparse.Namespace) -> int:
    """Print the verdict on BPMN and DMN files (directories: every `.bpmn` and `.dmn` under them), one finding a
    line with its severity; fail on an error, or with `--strict` on a warning too."""
    files = []
    for raw in args.files:
        path = Path(raw)
        found = [p for pattern in definitions.FILE_PATTERNS for p in sorted(path.rglob(pattern))]
        for file in found if path.is_dir() else [path]:
            try:
                files.append((str(file), file.read_bytes()))
            except OSError as err:
                print(f"{file}:0: -: error: {err.strerror}")
                return 1
    problems = definitions.problems_of(files)
    for problem in problems:
        print(problem)
    errors = sum(1 for p in problems if p.is_error)
    warnings = len(problems) - errors
    print(f"{len(files)} file(s): {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors or (args.strict and warnings) else 0


def main(argv: list[str] | None = None) -> int:
    logs.configure("json" if os.environ.get("MSO_FLOW_LOG_FORMAT", "").lower() == "json" else "text")
    quiet_engine_logs()
    parser = argparse.ArgumentParser(prog="mso-flow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="upgrade the database, deploy bpmn/, serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes sharing the database")
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--no-worker", action="store_true", help="start no background process: `mso-flow worker` runs elsewhere"
    )
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="run the background work: timers, webhooks, notifications, retention")
    worker.add_argument("--log-level", default="info")
    worker.add_argument("--parent", type=int, help=argparse.SUPPRESS)  # set by `serve`: stop when it is gone
    worker.set_defaults(run=_worker)

    db = commands.add_parser("db", help="database migrations")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply every migration")
    revision = db_commands.add_parser("revision", help="autogenerate a migration from the models")
    revision.add_argument("-m", "--message", required=True)
    db.set_defaults(run=_db)

    user_cmd = commands.add_parser("users", help="manage users (audited in the admin chain)")
    user_commands = user_cmd.add_subparsers(dest="users_command", required=True)
    create = user_commands.add_parser("create", help="create a user and print its token once")
    create.add_argument("username")
    create.add_argument("--role", action="append", required=True, help="a role (repeat for several)")
    create.add_argument("--force", action="store_true", help="accept roles that are not known roles")
    create.add_argument(
        "--password-stdin", action="store_true", help="read a web-app password (10+ characters) from stdin"
    )
    create.add_argument("--email", help="the address notifications are mailed to")
    user_commands.add_parser("list", help="username, active, token or not, roles (tab-separated)")
    user_commands.add_parser("roles", help="the known roles and the processes they come from")
    set_roles = user_commands.add_parser("set-roles", help="replace a user's roles")
    set_roles.add_argument("username")
    set_roles.add_argument("--role", action="append", required=True, help="a role (repeat for several)")
    set_roles.add_argument("--force", action="store_true", help="accept roles that are not known roles")
    set_email = user_commands.add_parser("set-email", help="set (or, without an address, remove) a user's e-mail")
    set_email.add_argument("username")
    set_email.add_argument("address", nargs="?", default=None)
    set_password = user_commands.add_parser(
        "set-password",
        help="set a user's web-app password, or print a one-time one; they choose their own at their next login",
    )
    set_password.add_argument("username")
    set_password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    for name, text in (
        ("deactivate", "refuse the user's token from now on"),
        ("activate", "accept the user's token again"),
        ("rotate-token", "print a new token once; the old one stops working"),
        ("revoke-token", "the user's token stops working (rotate-token issues a new one)"),
    ):
        user_commands.add_parser(name, help=text).add_argument("username")
    user_cmd.set_defaults(run=_users)

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser("sign-unsigned", help="sign the heads that predate anchoring (once, after upgrading)")
    audit.set_defaults(run=_audit)

    personal = commands.add_parser("personal-data", help="master keys and retention of personal data")
    personal_commands = personal.add_subparsers(dest="personal_data_command", required=True)
    personal_commands.add_parser("rotate-master-key", help="rewrap every data key under the current (first) master key")
    personal_commands.add_parser("erase-expired", help="erase the personal data of instances past retention now")
    personal.set_defaults(run=_personal_data)

    validate = commands.add_parser("validate", help="check BPMN and DMN files as a deployment would")
    validate.add_argument("files", nargs="+")
    validate.add_argument("--strict", action="store_true", help="fail on warnings too (CI checks bpmn/ so)")
    validate.set_defaults(run=_validate)

    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
