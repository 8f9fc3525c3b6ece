FROM node:22.11.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:22.11.0-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=384 --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/tmp/diag"
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY --from=build --chown=node:node /app/dist ./dist
COPY docker-entrypoint.sh /usr/local/bin/
# PID 1 is this script (it execs CMD): the finding points here, not at the CMD
ENTRYPOINT ["docker-entrypoint.sh"]

USER node
EXPOSE 8080
CMD ["node", "dist/server.js"]
