#!/usr/bin/env bash
# Zero-downtime rollout of one UVIS version on a compose host, with rollback.
#   .github/deploy/rollout.sh <version>            # deploy (release.yml runs this over SSH)
#   .github/deploy/rollout.sh --rollback           # back to the version deployed before
# Run in the folder that holds docker-compose.yml and .env. Steps (docs/deploy.md):
#   1. pull the image; 2. run migrations (forward-only, compatible with the running
#   version); 3. for api, then worker: start as many new replicas as there are old
#   ones, wait until every new one is healthy, then stop the old ones one by one
#   (SIGTERM: readiness drains, in-flight work finishes); 4. check readiness through
#   nginx. If 3 or 4 fails, the previous version is rolled out the same way.
set -euo pipefail

COMPOSE=${COMPOSE:-docker compose}
STATE_FILE=${STATE_FILE:-.deployed-version}
HEALTH_TIMEOUT_S=${HEALTH_TIMEOUT_S:-120}
POLL_S=${POLL_S:-2}

log() { printf '%s rollout: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

compose() { UVIS_VERSION="$VERSION" $COMPOSE "$@"; }

# Container ids of a service, oldest first.
containers() { compose ps -q "$1" | xargs -r docker inspect --format '{{.Created}} {{.Id}}' | sort | awk '{print $2}'; }

health() { docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$1"; }

wait_healthy() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT_S)) id status pending
  while :; do
    pending=0
    for id in "$@"; do
      status=$(health "$id")
      [ "$status" = unhealthy ] && return 1
      [ "$status" = healthy ] || pending=1
    done
    [ "$pending" = 0 ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep "$POLL_S"
  done
}

# Starts as many new replicas as run now, waits for them, then retires the old ones.
roll() {
  local service=$1 old new old_count want id
  old=$(containers "$service")
  old_count=$(printf '%s' "$old" | grep -c . || true)
  want=$((old_count > 0 ? old_count : 1))
  log "$service: starting $want replica(s) of $VERSION beside $old_count old"
  compose up -d --no-deps --no-recreate --scale "$service=$((old_count + want))" "$service" || return 1
  new=$(containers "$service" | grep -vxF -e "${old:-none}" || true)
  [ -n "$new" ] || return 1
  # shellcheck disable=SC2086
  if ! wait_healthy $new; then
    log "$service: new replicas are not healthy; removing them (the old ones keep serving)"
    # shellcheck disable=SC2086
    docker rm -f $new >/dev/null || true
    return 1
  fi
  for id in $old; do
    log "$service: stopping old replica ${id:0:12} (readiness drains first)"
    docker stop "$id" >/dev/null
    docker rm "$id" >/dev/null
  done
}

# .env names the running version, so a plain `docker compose up -d` keeps it.
record_version() {
  if grep -q '^UVIS_VERSION=' .env; then
    sed -i "s|^UVIS_VERSION=.*|UVIS_VERSION=$1|" .env
  else
    printf 'UVIS_VERSION=%s\n' "$1" >> .env
  fi
}

through_nginx() {
  local host
  host=$(sed -n 's/^PUBLIC_HOSTNAME=//p' .env | tr -d "'\"")
  curl -fsS --max-time 5 --resolve "$host:443:127.0.0.1" "https://$host/api/v1/health/ready" >/dev/null
}

deploy() {
  log "deploying $VERSION (previous: ${PREVIOUS:-none})"
  compose pull --quiet migrate api worker || die "cannot pull $VERSION"
  if [ "$MIGRATE" = yes ]; then
    log "migrating"
    compose run --rm --no-deps migrate || die "migration failed; the running version is untouched"
  fi
  roll api || return 1
  ROLLED="api"
  roll worker || return 1
  ROLLED="api worker"
  # Edge and monitoring pick up configuration changes without dropping connections.
  compose exec -T nginx sh -c '/docker-entrypoint.d/20-envsubst-on-templates.sh >/dev/null && nginx -t -q && nginx -s reload' || return 1
  compose up -d --no-deps prometheus alertmanager grafana loki alloy postgres-exporter redis-exporter >/dev/null || return 1
  local deadline=$((SECONDS + 30))
  until through_nginx; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep "$POLL_S"
  done
}

PREVIOUS=$(cat "$STATE_FILE" 2>/dev/null || true)
MIGRATE=yes
# Services already switched to the new version (what a rollback must switch back).
ROLLED=""
case "${1:-}" in
  --rollback)
    # An older version has fewer migrations than the database: never run its migrate.
    MIGRATE=no
    [ -n "$PREVIOUS" ] || die "no previous version recorded in $STATE_FILE"
    VERSION=$(cat "$STATE_FILE.previous" 2>/dev/null || true)
    [ -n "$VERSION" ] || die "no version before $PREVIOUS recorded"
    ;;
  "" | -*) die "usage: $0 <version> | --rollback" ;;
  *) VERSION=$1 ;;
esac

started=$SECONDS
if deploy; then
  [ -n "$PREVIOUS" ] && [ "$PREVIOUS" != "$VERSION" ] && printf '%s\n' "$PREVIOUS" > "$STATE_FILE.previous"
  printf '%s\n' "$VERSION" > "$STATE_FILE"
  record_version "$VERSION"
  log "done: $VERSION in $((SECONDS - started)) s"
  exit 0
fi

log "$VERSION failed its checks"
[ -n "$PREVIOUS" ] && [ "$PREVIOUS" != "$VERSION" ] || die "nothing to roll back to"
log "rolling back to $PREVIOUS (migrations stay: they are compatible with it)"
VERSION=$PREVIOUS
for service in $ROLLED; do
  roll "$service" || die "rollback of $service to $PREVIOUS failed too: see docs/troubleshooting.md"
done
record_version "$PREVIOUS"
log "rolled back to $PREVIOUS in $((SECONDS - started)) s"
exit 1
