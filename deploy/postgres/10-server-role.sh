#!/bin/sh
# Run once by the postgres image when it initialises an empty data volume (docker-entrypoint-initdb.d):
# the role the Labelgraph servers connect as. Not a superuser, not the owner: `labelgraph migrate`
# (LABELGRAPH_SERVER_ROLE) grants it what the server needs and no more (app/dbroles.py).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=password="$LABELGRAPH_SERVER_PASSWORD" <<'SQL'
CREATE ROLE labelgraph_server LOGIN PASSWORD :'password';
SQL
