# syntax=docker/dockerfile:1
# Small runtime image: production dependencies only, TypeScript run directly by Bun.
FROM oven/bun:1.4.5-slim AS deps
WORKDIR /app
COPY package.json bun.lock bunfig.toml ./
# The workspace's client package: its manifest only, so the lockfile matches (its code is not in the image).
COPY clients/web/package.json ./clients/web/
# --ignore-scripts: nothing here needs an install script (and swagger-ui-dist's would phone home).
RUN bun install --frozen-lockfile --production --ignore-scripts

FROM oven/bun:1.4.5-slim
WORKDIR /app
# Drain within 8 s, inside `docker stop`'s default 10 s grace period.
# HOST=0.0.0.0: the container's port is published; inside it, loopback would be unreachable.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 PGLITE_DATA_DIR=/app/.data/pglite SHUTDOWN_TIMEOUT_MS=8000
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY drizzle ./drizzle
COPY src ./src
# The embedded database (used only when no DATABASE_URL is given) needs a writable folder.
RUN mkdir -p /app/.data && chown bun:bun /app/.data
USER bun
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bun", "-e", "const r = await fetch('http://127.0.0.1:' + (process.env.PORT ?? 3000) + '/health'); process.exit(r.ok ? 0 : 1)"]
CMD ["bun", "src/index.ts"]
