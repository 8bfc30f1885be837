"""`mso-flow users …`: the operator's user administration, on the same rules and audit chain as the API. The
commands run in this process (tests/cli.py); tests/test_cli.py runs the installed `mso-flow users` itself."""

from __future__ import annotations

from mso_flow.services.accounts import users
from tests.cli import run_cli

CLERK = "เจ้าหน้าที่งานสารบรรณ"
HEAD = "หัวหน้าฝ่ายสารบรรณ"


def test_users_commands_manage_roles_activity_and_tokens(services, saraban):
    env = {
        "MSO_FLOW_DATABASE_URL": services.settings.database_url,
        "MSO_FLOW_AUDIT_SIGNING_KEY_FILE": str(services.settings.audit_signing_key_file),
        "USER": "operator1",
        "LOGNAME": "operator1",
    }

    def run(*args: str):
        return run_cli("users", *args, env=env)

    roles = run("roles")
    assert roles.returncode == 0
    assert f"{CLERK}\t{saraban}" in roles.stdout.splitlines() and "admin\tbuilt-in" in roles.stdout.splitlines()
    refused = run("create", "somchai", "--role", "เจ้าหน้าที่สารบรรณ")
    assert refused.returncode == 1 and CLERK in refused.stderr
    token = run("create", "somchai", "--role", CLERK).stdout.strip()
    assert users.authenticate(services, token).roles == {CLERK}
    assert run("set-roles", "somchai", "--role", CLERK, "--role", HEAD).returncode == 0
    assert users.authenticate(services, token).roles == {CLERK, HEAD}
    assert run("deactivate", "somchai").returncode == 0
    assert users.authenticate(services, token) is None
    assert run("list").stdout.splitlines() == [f"somchai\tinactive\ttoken\t{CLERK}, {HEAD}"]
    assert run("activate", "somchai").returncode == 0
    new = run("rotate-token", "somchai").stdout.strip()
    assert users.authenticate(services, token) is None and users.authenticate(services, new) is not None
    assert run("revoke-token", "somchai").returncode == 0
    assert users.authenticate(services, new) is None
    # the privileged roles are the command line's alone, and known: no --force (issue 24, items 4 and 5)
    dpo = run("create", "dpo", "--role", "privacy_officer").stdout.strip()
    assert users.authenticate(services, dpo).roles == {"privacy_officer"}
    assert run("set-roles", "dpo", "--role", "privacy_officer", "--role", "auditor").returncode == 0
    missing = run("deactivate", "nobody")
    assert missing.returncode == 1 and "nobody" in missing.stderr
    trail, _ = users.admin_audit(services, users.cli_caller(), 0, 100)
    assert [(e.actor, e.type) for e in trail] == [
        ("cli:operator1", "user_created"),
        ("cli:operator1", "user_roles_changed"),
        ("cli:operator1", "user_deactivated"),
        ("cli:operator1", "user_activated"),
        ("cli:operator1", "user_token_rotated"),
        ("cli:operator1", "user_token_revoked"),
        ("cli:operator1", "user_created"),
        ("cli:operator1", "user_roles_changed"),
    ]
    assert trail[-1].data["after"] == ["privacy_officer", "auditor"]
    assert users.verify_admin_audit(services, users.cli_caller()).ok  # signed with the service's key
