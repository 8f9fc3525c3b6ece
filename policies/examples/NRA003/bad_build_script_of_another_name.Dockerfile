FROM node:22.11.0-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini
WORKDIR /app
ENV NODE_OPTIONS="--max-old-space-size=384 --heapsnapshot-signal=SIGUSR2"
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY . .
RUN npm run compile
USER node
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/server.js"]
