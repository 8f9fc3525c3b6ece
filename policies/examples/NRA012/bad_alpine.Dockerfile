FROM node:22.11.0-alpine3.20 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:22.11.0-alpine3.20
RUN apk add --no-cache tini
WORKDIR /app
ENV NODE_OPTIONS="--max-old-space-size=384 --report-on-signal"
COPY --from=build /app/dist ./dist

USER node
EXPOSE 8080
ENTRYPOINT ["/sbin/tini", "--"]
CMD ["node", "dist/server.js"]
