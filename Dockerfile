# syntax=docker/dockerfile:1
# gamegate: one image for every process of the split topology (the command
# picks it: `serve register|status|stats`, `gameserver-mock`, `migrate`) and
# for the all-in-one default. Build: docker build -t gamegate:latest .
# Not built by the test suite (no Docker engine there); crates/gamegate/tests/deploy.rs
# checks its essentials as text. See docs/PRODUCTION_SETUP.md.

FROM rust:1-bookworm AS builder
# The commit for `gamegate --version` (the context has no .git):
# docker build --build-arg GAMEGATE_COMMIT=$(git rev-parse --short=12 HEAD) .
ARG GAMEGATE_COMMIT=unknown
WORKDIR /src
# --locked: the image gets exactly the dependency versions CI tested.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin gamegate \
 && cp target/release/gamegate /usr/local/bin/gamegate

FROM debian:bookworm-slim
# ca-certificates: the Telegram Bot API and TLS database connections verify
# certificates against the system roots.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 gamegate \
 && useradd --system --uid 10001 --gid gamegate --home-dir /var/lib/gamegate \
        --no-create-home --shell /usr/sbin/nologin gamegate \
 && install -d -o gamegate -g gamegate -m 0750 /var/lib/gamegate
COPY --from=builder /usr/local/bin/gamegate /usr/local/bin/gamegate

# Inside a container a listener must bind every address to be reachable from
# the compose network; the admin listener (/internal/*, /metrics) stays on
# loopback, where the healthcheck below asks it. SQLite files (all-in-one)
# live on the volume.
ENV GAMEGATE_HTTP__PUBLIC_ADDR=0.0.0.0:8000 \
    GAMEGATE_SERVICES__REGISTER_ADDR=0.0.0.0:8080 \
    GAMEGATE_SERVICES__STATUS_ADDR=0.0.0.0:8081 \
    GAMEGATE_SERVICES__STATS_ADDR=0.0.0.0:8084 \
    GAMEGATE_DATABASE__URL=sqlite:///var/lib/gamegate/gamegate.db \
    GAMEGATE_ANALYTICS__URL=sqlite:///var/lib/gamegate/gamegate-analytics.db

USER gamegate:gamegate
WORKDIR /var/lib/gamegate
VOLUME ["/var/lib/gamegate"]
# all-in-one public · register · status · stats · mock game server
EXPOSE 8000 8080 8081 8084 5190

# Exec form, no shell in between: the slim image needs no curl for this.
# Liveness (GET /internal/health/live): the container is unhealthy only when
# the process stops serving, not while a database or the game server is down
# (a restart would not bring them back); a load balancer routes on readiness,
# `gamegate healthcheck --ready` (docs/API.md). Defaults to the all-in-one
# admin listener; compose passes --service.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["gamegate", "healthcheck"]

ENTRYPOINT ["gamegate"]
CMD ["all"]
