# plantiles: multi-stage build, non-root runtime, tiles/ as a volume.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles against Node's headers.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY pipeline ./pipeline
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PLANTILES_CONFIG=/app/config/plantiles.yaml \
    PLANTILES_DATA_DIR=/data \
    PORT=8080
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The viewer, OpenLayers and admin pages are static files served from src/.
COPY src/server/viewer ./src/server/viewer
COPY src/server/ol/static ./src/server/ol/static
COPY src/server/admin ./src/server/admin
COPY config ./config
# /app/demo: where `start` writes the synthetic demo's sources (the default config reads them there).
RUN mkdir -p /data /app/demo && chown node:node /data /app/demo
USER node
VOLUME ["/data"]
EXPOSE 8080
# The port the server listens on: PORT (set above; `docker run -e PORT=…` changes both).
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve", "--host", "0.0.0.0"]
