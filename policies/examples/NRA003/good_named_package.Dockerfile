FROM node:22.11.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:22.11.0-bookworm-slim
# replace the undici bundled with npm (a named package, not the project's dependencies; before NODE_ENV is set)
RUN mkdir /tmp/fix && cd /tmp/fix && npm install undici@6.27.0 \
    && cp -r node_modules/undici /usr/local/lib/node_modules/npm/node_modules/ && rm -rf /tmp/fix
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
