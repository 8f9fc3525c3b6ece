FROM node:22.11.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM registry.access.redhat.com/ubi9/nodejs-22:9.5
WORKDIR /opt/app-root/src
ENV NODE_OPTIONS="--max-old-space-size=384 --report-on-signal"
COPY --from=build --chown=1001:0 /app/dist ./dist

EXPOSE 8080
ENTRYPOINT ["/usr/bin/dumb-init", "--"]
CMD ["node", "dist/server.js"]
