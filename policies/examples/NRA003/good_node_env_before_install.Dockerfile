# a prebuilt application: NODE_ENV=production is in force when npm ci runs (no devDependencies)
FROM node:22.11.0-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ARG NODE_ENV=production
ENV NODE_ENV=$NODE_ENV \
    NODE_OPTIONS="--max-old-space-size=384 --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/tmp/diag"
COPY package.json package-lock.json ./
RUN npm ci
COPY --chown=node:node dist ./dist
USER node
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/server.js"]
