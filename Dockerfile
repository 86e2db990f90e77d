# syntax=docker/dockerfile:1
# UVIS: one image for every role. The command picks it:
#   docker run IMAGE api | worker | all | migrate        (default: all: the API and the
#   workers as two child processes of one; the API on PORT, the workers on METRICS_PORT)
# Build stage compiles TypeScript and the dashboard; the runtime stage has production
# dependencies only, runs as an unprivileged user under tini, and has pg_dump and
# pg_restore for the backup jobs (PostgreSQL 15 client: keep it at or above the
# server's major version, see docs/deploy.md).

# Node 24 (LTS), the exact version in .node-version: the one the tests run on (.ci/run and
# scripts/with-node.sh fetch that version). tests/deploy/dockerfile.test.ts keeps the two equal.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, so a code change reuses the cached install layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
# tsc into dist/, then the Vite build of the dashboard into dashboard/web/dist.
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# No install scripts run (--ignore-scripts): native parts come as prebuilt optional packages, and
# nothing phones home at install time.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    PORT=3000 \
    METRICS_PORT=9464 \
    BACKUP_DIR=/var/lib/uvis/backups \
    UPLOADS_DIR=/var/lib/uvis/uploads
# tini: PID 1 that forwards SIGTERM to node and reaps children (pg_dump), so a
# rolling deploy's stop signal reaches the graceful shutdown. fonts-nanum: Hangul for
# the temperature record's PDF (REPORT_FONT_PATH defaults to its NanumGothic).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini postgresql-client ca-certificates fonts-nanum \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 uvis \
    && useradd --system --uid 10001 --gid uvis --home-dir /app --shell /usr/sbin/nologin uvis \
    && mkdir -p /var/lib/uvis/backups /var/lib/uvis/uploads \
    && chown -R uvis:uvis /var/lib/uvis
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
# Files found at run time relative to package.json (lib/paths.ts), owned by root: read-only to the app.
COPY data ./data
COPY dashboard/static ./dashboard/static
COPY --from=build /app/dashboard/web/dist ./dashboard/web/dist
COPY --from=build /app/dist ./dist
USER uvis:uvis
EXPOSE 3000 9464
# No curl in slim images: node's fetch. The API answers on PORT, a worker on METRICS_PORT.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD node -e "const ports=[process.env.PORT||3000,process.env.METRICS_PORT||9464];Promise.any(ports.map((p)=>fetch('http://127.0.0.1:'+p+'/api/v1/health',{signal:AbortSignal.timeout(4000)}).then((r)=>{if(!r.ok)throw new Error(String(r.status))}))).then(()=>process.exit(0),()=>process.exit(1))"
# --max-semi-space-size: the young generation of Node 20 (16 MB semi-spaces), as .npmrc sets for npm scripts;
# Node 24 would size it from the heap limit and hold 100-160 MB more per process (docs/performance.md).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=16", "dist/main.js"]
CMD ["all"]
