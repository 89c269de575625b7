# policy-gate: the image behind the GitHub Action (action.yml) and `docker run` use.
#
#   docker build -t policy-gate .
#   docker run --rm -v "$PWD:/github/workspace" -w /github/workspace policy-gate \
#     scan . --format sarif --output policy-gate.sarif
#
# Base: python:3.12-slim-bookworm pinned by its multi-platform index digest, which is
# python:3.12.13-slim-bookworm as resolved from Docker Hub on 2026-08-24 (the digest is
# recorded in several public repositories' pins from that date; see docs/github-action.md,
# "Updating the image"). An air-gapped site or a registry mirror substitutes its own:
#   docker build --build-arg BASE_IMAGE=mirror.example/python:3.12-slim-bookworm@sha256:… .
ARG BASE_IMAGE=python:3.12-slim-bookworm@sha256:4766d8b510c428e595d74b9cc5bbb2fae8e26316fffb4adc89908d79aacd58a2

# ---------------------------------------------------------------------------- builder
FROM ${BASE_IMAGE} AS builder

# A CA bundle for pip behind a TLS-intercepting proxy: a path inside the build (mount it,
# e.g. buildah -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/host-ca.crt:ro). As a
# build ARG it is in pip's environment in this stage only; it never reaches the final image.
ARG PIP_CERT=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src

# 1. The scanners and libraries: every file checked against requirements/scanners.lock.txt
#    (--require-hashes), wheels only, so nothing is compiled and no build backend of a
#    dependency runs.
COPY requirements/scanners.lock.txt requirements/build.lock.txt requirements/
RUN python3 -m venv /opt/policy-gate \
 && /opt/policy-gate/bin/python -m pip install --require-hashes --only-binary=:all: \
      -r requirements/scanners.lock.txt \
 && /opt/policy-gate/bin/python -m pip check

# 2. The gate itself: its wheel is built with a hash-locked hatchling in a throwaway venv
#    (no build isolation, so no unpinned download), then installed with --no-deps: every
#    dependency it has is already in the venv from the lock above.
COPY pyproject.toml README.md ./
COPY policies/ policies/
COPY policy_gate/ policy_gate/
RUN python3 -m venv /tmp/build-venv \
 && /tmp/build-venv/bin/python -m pip install --require-hashes --only-binary=:all: \
      -r requirements/build.lock.txt \
 && /tmp/build-venv/bin/python -m pip wheel --no-deps --no-build-isolation \
      --wheel-dir /tmp/wheels . \
 && /opt/policy-gate/bin/python -m pip install --no-deps --no-index /tmp/wheels/policy_gate-*.whl \
 && /opt/policy-gate/bin/python -m pip check \
 && /opt/policy-gate/bin/policy-gate validate builtin:mojaloop \
 && find /opt/policy-gate -name '__pycache__' -type d -prune -exec rm -rf {} + \
 && rm -rf /tmp/build-venv /tmp/wheels

# ---------------------------------------------------------------------------- final
FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="policy-gate" \
      org.opencontainers.image.description="SAST, secret scanning, dependency and licence audit, card-data, Dockerfile, workflow and coverage checks on a repository, enforcing a YAML security policy (Mojaloop's by default)." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/mojaloop/policy-gate" \
      org.opencontainers.image.documentation="https://github.com/mojaloop/policy-gate/blob/main/docs/github-action.md" \
      org.opencontainers.image.base.name="docker.io/library/python:3.12-slim-bookworm"

# git: the gate reads repository metadata (and the coming diff mode needs it). The version
# is not pinned: the base is pinned by digest and Debian replaces a package's old version
# in the archive when a security update lands, so an exact pin would break every rebuild.
# safe.directory: the workspace GitHub mounts is owned by the runner user (uid 1001); when
# the container runs as another user (root on a self-hosted runner, `docker run --user`),
# git would refuse it as "dubious ownership". Only that one path is trusted, not '*': a
# repository anywhere else in the container keeps git's ownership check.
# The user: GitHub-hosted runners run as uid 1001 and own /github/workspace and the
# $GITHUB_OUTPUT / $GITHUB_STEP_SUMMARY files (mode 0644). Running as 1001 can read the
# tree and write those files and the reports, and the files it creates stay usable by
# later steps, where root-owned files would not be; and the scanners never run as root
# on the hostile code they read. On a runner that is not uid 1001, see
# docs/github-action.md ("Self-hosted runners").
# openssh-client: the image is also CircleCI's primary container (`policy-gate init --ci
# circleci`), whose `checkout` step clones over SSH; CircleCI's custom-image guide lists
# git, ssh, tar, gzip and ca-certificates (and a shell) as what a primary container needs,
# and the Debian base has the shell, tar and gzip already. CircleCI ignores the ENTRYPOINT
# of a primary container and runs each step with the image's shell as its USER.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && git config --system --add safe.directory /github/workspace \
 && groupadd --gid 1001 policygate \
 && useradd --uid 1001 --gid 1001 --create-home --home-dir /home/policygate \
      --shell /usr/sbin/nologin policygate

COPY --from=builder /opt/policy-gate /opt/policy-gate

# PYTHONSAFEPATH: no Python started in the scanned tree puts that tree on sys.path.
ENV PATH=/opt/policy-gate/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONSAFEPATH=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# kingfisher (the secret engine) compiles its rules into a Vectorscan database on first use
# (~15 s); it is built here, once, by a real scan as the image's user, into a directory that
# user owns: kingfisher reads a rule cache only from a directory its user owns and no one
# else can write. The scan is also the check that the binary runs in this image. A
# container run as another user compiles the rules for each run instead (same results).
ENV POLICY_GATE_KINGFISHER_CACHE=/opt/policy-gate/kingfisher-cache
RUN install -d -o 1001 -g 1001 -m 0700 /opt/policy-gate/kingfisher-cache

USER 1001:1001
RUN mkdir /tmp/kingfisher-warm-up \
 && printf 'warm-up\n' > /tmp/kingfisher-warm-up/README \
 && policy-gate scan /tmp/kingfisher-warm-up --scanner kingfisher --format json \
      --output /tmp/kingfisher-warm-up.json \
 && ls /opt/policy-gate/kingfisher-cache/*.vscdb \
 && rm -rf /tmp/kingfisher-warm-up /tmp/kingfisher-warm-up.json
WORKDIR /github/workspace

HEALTHCHECK NONE

# -I (isolated): the working directory is the scanned repository, and `python -m` would
# otherwise import from it first: a pull request adding policy_gate/ or click.py at its
# root must not run code in the gate. No arguments: GitHub Action mode (INPUT_* variables);
# with arguments: the plain CLI (`docker run … policy-gate scan .`).
ENTRYPOINT ["/opt/policy-gate/bin/python", "-I", "-m", "policy_gate.action_entrypoint"]
