# a global build CLI in the only stage ships a toolchain in the runtime image
FROM node:22.11.0-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=384 --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/tmp/diag"
COPY package.json package-lock.json ./
RUN npm ci
RUN npm i -g @nestjs/cli typescript
COPY --chown=node:node dist ./dist
USER node
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/server.js"]
