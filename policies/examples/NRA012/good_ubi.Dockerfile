FROM node:22.11.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM registry.access.redhat.com/ubi8/nodejs-22-minimal:1
WORKDIR /opt/app-root/src
ENV NODE_OPTIONS="--max-old-space-size=384 --report-on-signal"
COPY --from=build /app/dist ./dist

USER 1001
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/server.js"]
