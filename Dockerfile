# syntax=docker/dockerfile:1
# The Labelgraph image: the package installed (not editable) with its dependencies in a virtualenv,
# the migrations beside it, and the browser files the app serves (GraphiQL, the dashboard's charts)
# from npm. No secret is in it: the signing key and the database passwords come from the
# environment when a container starts (compose.yaml). `docker run IMAGE --help` lists the commands.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

# --- the browser files: frontend/package-lock.json, no install scripts (node is a build-time tool only)
FROM ${NODE_IMAGE} AS frontend
WORKDIR /build/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

# --- the package and its dependencies, in a virtualenv the final stage copies whole
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/labelgraph/venv
ENV PATH=/opt/labelgraph/venv/bin:$PATH
WORKDIR /build
# The dependencies first, read from pyproject.toml alone: a change to the code reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install -r requirements.txt
COPY README.md ./
COPY app ./app
COPY seeds ./seeds
# Non-editable: the code lives in site-packages, nothing refers back to /build.
RUN pip install --no-deps . && python -c "import app.cli, app.main"

# --- what runs
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 labelgraph \
    && useradd --system --uid 10001 --gid labelgraph --home-dir /var/lib/labelgraph --create-home \
        --shell /usr/sbin/nologin labelgraph
COPY --from=build /opt/labelgraph/venv /opt/labelgraph/venv
COPY alembic.ini /opt/labelgraph/alembic.ini
COPY migrations /opt/labelgraph/migrations
COPY --from=frontend /build/frontend/node_modules /opt/labelgraph/frontend/node_modules
# LABELGRAPH_ALEMBIC_CONFIG and LABELGRAPH_GRAPHIQL_ASSETS: an installed package has neither
# beside it. The data folder holds the SQLite file of a container run without PostgreSQL.
ENV PATH=/opt/labelgraph/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LABELGRAPH_ALEMBIC_CONFIG=/opt/labelgraph/alembic.ini \
    LABELGRAPH_GRAPHIQL_ASSETS=/opt/labelgraph/frontend/node_modules \
    LABELGRAPH_DATA_DIR=/var/lib/labelgraph
WORKDIR /opt/labelgraph
USER labelgraph:labelgraph
EXPOSE 8000
# A server container's health: /healthz answers once the app is up and its database answers
# (a minute's grace: N processes importing the app on a busy host take a while).
# Containers of the same image that serve nothing (migrate, worker) turn it off (compose.yaml).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["labelgraph"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
