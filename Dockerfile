# drizzle-ops as a container image: Python and drizzle-ops, no Node.
#
#   docker build -t drizzle-ops .
#   docker run --rm -v "$PWD:/app" -e DATABASE_URL drizzle-ops migrate
#
# The current folder is mounted at /app, the working folder: drizzle-ops reads invoke.yaml there
# and, without one, takes /app as the Drizzle workspace. Every task runs except `generate`, which
# needs the app's own Node and node_modules (drizzle-kit): run that one on the machine or CI job
# that has them. The image has no Postgres either: give DATABASE_URL, --url or --env.
#
# BASE_IMAGE: any Debian-like image with python3 (≥ 3.10) and its venv module. Pin it by digest
# for reproducible builds (python:3.12-slim-bookworm@sha256:…).
# Offline builds: put the dependency wheels and a setuptools wheel in wheelhouse/ and pass
# --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/tmp/drizzle-ops/wheelhouse
# (.ci/docker/build-tool-image.sh does that; no registry or index is reachable in that CI).
ARG BASE_IMAGE=python:3.12-slim-bookworm
FROM ${BASE_IMAGE}

ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS

# only pyproject.toml, README.md, src/ and wheelhouse/ reach the build (.dockerignore)
COPY . /tmp/drizzle-ops
RUN python3 -m venv /opt/drizzle-ops \
	&& /opt/drizzle-ops/bin/pip install --no-cache-dir --disable-pip-version-check /tmp/drizzle-ops \
	&& rm -rf /tmp/drizzle-ops \
	&& useradd --uid 10001 --user-group --no-create-home --home-dir /app --shell /usr/sbin/nologin drizzle-ops \
	&& mkdir -p /app

ENV PATH=/opt/drizzle-ops/bin:$PATH \
	PYTHONDONTWRITEBYTECODE=1 \
	PYTHONUNBUFFERED=1 \
	DRIZZLE_OPS_IMAGE=1
WORKDIR /app
USER drizzle-ops
ENTRYPOINT ["drizzle-ops"]
CMD ["--list"]
