# escrow-ledger: two stages so the runtime image carries no TypeScript, Nest CLI or test tooling.
#   docker build -t escrow-ledger .
#   docker run -e DATABASE_URL=... -e REDIS_URL=... -e JWT_SECRET=... -e BANK_WEBHOOK_SECRET=... escrow-ledger
# The same image runs the queue worker alone with the command `node dist/src/worker.js`.

# --- build: needs devDependencies (@nestjs/cli, typescript) ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# nest-cli.json points at src/tsconfig.build.json, which extends ../tsconfig.json and also
# compiles ../migrations/*.ts (to dist/migrations, where the app looks for them at startup).
COPY tsconfig.json nest-cli.json ./
COPY src ./src
COPY migrations ./migrations
RUN npx nest build

# --- runtime ---
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# Owned by root and read-only for the app: the service writes nothing to its own directory.
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# No curl in the slim image: Node 20's fetch does the probe. /health answers 503 when PostgreSQL
# or Redis is unreachable, so the container turns unhealthy with its dependencies. The start
# period leaves time for the migrations the service runs before it listens.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node runs as PID 1: the app's shutdown hooks (enableShutdownHooks) handle SIGTERM themselves.
CMD ["node", "dist/src/main.js"]
