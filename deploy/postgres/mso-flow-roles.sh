#!/bin/sh
# MSO Flow's two PostgreSQL roles (README: "PostgreSQL: an owner role and a service role"), for compose.yaml: the
# postgres image runs this once, as its superuser POSTGRES_USER, when it initialises an empty data directory.
# The owner role gets the database POSTGRES_DB (it runs the migrations, `mso-flow db upgrade`); the service role
# only logs in: that upgrade grants it the service's rights (src/mso_flow/store/grants.py), never ownership.
set -e
: "${POSTGRES_OWNER_ROLE:?}" "${POSTGRES_OWNER_PASSWORD:?}" "${POSTGRES_SERVICE_ROLE:?}" "${POSTGRES_SERVICE_PASSWORD:?}"
psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set database="$POSTGRES_DB" \
  --set owner="$POSTGRES_OWNER_ROLE" --set owner_password="$POSTGRES_OWNER_PASSWORD" \
  --set service="$POSTGRES_SERVICE_ROLE" --set service_password="$POSTGRES_SERVICE_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password';
CREATE ROLE :"service" LOGIN PASSWORD :'service_password';
ALTER DATABASE :"database" OWNER TO :"owner";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
SQL
