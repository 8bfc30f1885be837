# MSO Flow service image: slim Python, non-root, migrations and BPMN deployment at start.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    MSO_FLOW_BPMN_DIR=/app/bpmn \
    MSO_FLOW_MIGRATIONS_DIR=/app/migrations \
    MSO_FLOW_DATABASE_URL=sqlite:////data/mso_flow.db
RUN useradd --system --uid 10001 --home-dir /app mso \
    && mkdir -p /data && chown mso /data
# the keys live apart from the database, on their own volume (created at first start, mode 0600): the audit
# signing key and the master keys of personal data; the home folder (/app) is not writable
ENV MSO_FLOW_AUDIT_SIGNING_KEY_FILE=/keys/audit-ed25519.pem \
    MSO_FLOW_MASTER_KEY_FILE=/keys/master.keys
RUN mkdir -p /keys && chown mso /keys && chmod 700 /keys
COPY --from=build /install /usr/local
WORKDIR /app
COPY bpmn ./bpmn
COPY migrations ./migrations
USER mso
VOLUME ["/data"]
VOLUME ["/keys"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
# `serve` applies the Alembic migrations and deploys the changed BPMN files before it listens.
CMD ["mso-flow", "serve", "--host", "0.0.0.0", "--port", "8000"]
