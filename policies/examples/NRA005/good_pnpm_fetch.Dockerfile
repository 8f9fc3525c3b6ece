# pnpm's documented pattern: fetch from the lockfile alone, then install offline after the full copy
FROM node:22.11.0-bookworm-slim AS build
WORKDIR /app
RUN npm i -g pnpm@9.15.0
COPY pnpm-lock.yaml ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile
RUN pnpm run build

FROM node:22.11.0-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=384 --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/tmp/diag"
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY --from=build --chown=node:node /app/dist ./dist

USER node
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/server.js"]
