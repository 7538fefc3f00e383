# syntax=docker/dockerfile:1.7
# One build, one image per service. Targets: auth, users, chat, migrate, frontend, smoke,
# all-in-one. Base images are build arguments so the same file builds on a laptop, in CI and
# offline (scripts/images/local-bases.sh makes local stand-ins with these names).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG NGINX_IMAGE=nginx:1.27-bookworm

# ---- dependencies and build (shared, run once) -------------------------------------------
# The manifests alone, so dependency layers are reused until a package.json or the lock changes.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY package.json package-lock.json ./
COPY backend/package.json backend/
COPY frontend/package.json frontend/
COPY scripts/smoke/package.json scripts/smoke/
COPY bench/package.json bench/
# Every npm ci below may borrow an extra CA bundle (a corporate proxy's) for that step only:
#   --secret id=ca,src=/path/to/ca-bundle.pem  (never copied into an image)
ENV CA_SECRET=/run/secrets/ca

FROM manifests AS deps
RUN --mount=type=secret,id=ca,required=false \
    if [ -s "$CA_SECRET" ]; then export NODE_EXTRA_CA_CERTS=$CA_SECRET npm_config_cafile=$CA_SECRET; fi; \
    npm ci --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM deps AS build
COPY nest-cli.json ./
COPY backend backend
COPY frontend frontend
RUN npm run build --workspace backend --workspace frontend

# Production dependencies only: no compilers, dev tools or npm cache in the final images.
FROM manifests AS prod-deps
RUN --mount=type=secret,id=ca,required=false \
    if [ -s "$CA_SECRET" ]; then export NODE_EXTRA_CA_CERTS=$CA_SECRET npm_config_cafile=$CA_SECRET; fi; \
    npm ci --omit=dev --no-audit --no-fund --ignore-scripts --workspace backend && npm cache clean --force \
    && rm -rf node_modules/@chat /root/.npm

FROM manifests AS smoke-deps
RUN --mount=type=secret,id=ca,required=false \
    if [ -s "$CA_SECRET" ]; then export NODE_EXTRA_CA_CERTS=$CA_SECRET npm_config_cafile=$CA_SECRET; fi; \
    npm ci --omit=dev --no-audit --no-fund --ignore-scripts --workspace scripts/smoke && npm cache clean --force \
    && rm -rf node_modules/@chat /root/.npm

# The services never start the embedded database; only the all-in-one keeps PGlite.
FROM prod-deps AS service-deps
RUN rm -rf node_modules/@electric-sql

# ---- the Node runtime every backend image shares -----------------------------------------
FROM ${NODE_IMAGE} AS node-base
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/chat-k8s/chat
LABEL org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.title="chat"
ENV NODE_ENV=production PORT=3000 LOG_FORMAT=json
WORKDIR /app
# npm is not needed at run time; the base's copy goes (smaller image, nothing to patch).
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/local/lib/node_modules/corepack /usr/local/bin/corepack /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg
COPY --from=build /src/backend/dist ./backend/dist
COPY backend/package.json ./backend/package.json
COPY package.json ./package.json
# Numeric non-root user; the root filesystem can be read-only (the processes write nothing).
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

FROM node-base AS runtime
COPY --from=service-deps /src/node_modules ./node_modules

FROM runtime AS auth
LABEL org.opencontainers.image.title="chat-auth"
CMD ["node", "backend/dist/apps/auth.main.js"]

FROM runtime AS users
LABEL org.opencontainers.image.title="chat-users"
CMD ["node", "backend/dist/apps/users.main.js"]

FROM runtime AS chat
LABEL org.opencontainers.image.title="chat-chat"
CMD ["node", "backend/dist/apps/chat.main.js"]

FROM runtime AS migrate
LABEL org.opencontainers.image.title="chat-migrate"
HEALTHCHECK NONE
CMD ["node", "backend/dist/apps/migrate.main.js"]

# Single-container trial: everything on :3000, embedded database in the /data volume.
FROM node-base AS all-in-one
LABEL org.opencontainers.image.title="chat-all-in-one"
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/frontend/dist ./frontend/dist
ENV DATA_DIR=/data STATIC_DIR=/app/frontend/dist
VOLUME ["/data"]
CMD ["node", "backend/dist/apps/all.main.js"]

# The `helm test` check: node smoke.mjs <gateway URL>.
FROM ${NODE_IMAGE} AS smoke
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/chat-k8s/chat
LABEL org.opencontainers.image.source="${SOURCE}" org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" org.opencontainers.image.title="chat-smoke"
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/local/lib/node_modules/corepack /usr/local/bin/corepack /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg
WORKDIR /app
COPY --from=smoke-deps /src/node_modules ./node_modules
COPY scripts/smoke/smoke.mjs ./smoke.mjs
USER 10001:10001
CMD ["node", "smoke.mjs"]

# ---- the gateway: static client + routes to the three services ---------------------------
FROM ${NGINX_IMAGE} AS frontend
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/chat-k8s/chat
LABEL org.opencontainers.image.source="${SOURCE}" org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" org.opencontainers.image.title="chat-frontend"
COPY --from=build /src/frontend/dist /srv/chat
COPY docker/nginx/chat.conf.template /etc/chat/chat.conf.template
COPY --chmod=0755 docker/nginx/entrypoint.sh /usr/local/bin/chat-gateway
# Upstreams as host:port; the chart sets them to the Services.
ENV AUTH_UPSTREAM=auth:3000 USERS_UPSTREAM=users:3000 CHAT_UPSTREAM=chat:3000 LISTEN_PORT=8080 RESOLVER=""
USER 101:101
EXPOSE 8080
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=15s --timeout=3s CMD ["/usr/local/bin/chat-gateway", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/chat-gateway"]
