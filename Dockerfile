# dealyard: one image for every subcommand (ingress, controller, transfer/verify Jobs, client).
# Node 24 runs the TypeScript sources directly (type stripping), so the image carries src/ as is;
# only the native addon (CommP, crypto, blst) is compiled. The build stage has Go only for
# `go mod download` of blst's sources (native/build.sh); the final image has neither.
FROM node:24-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ golang-go ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY native/ native/
# node-gyp finds the headers of the running Node under its prefix (/usr/local/include/node).
RUN DEALYARD_CACHE=/opt/dealyard DEALYARD_NODE_HOME=/usr/local bash native/build.sh \
 && cp /opt/dealyard/commp-native/*/dealyard_commp.node /app/dealyard_commp.node
RUN npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production DEALYARD_COMMP_ADDON=/app/dealyard_commp.node
WORKDIR /app
COPY --from=build /app/node_modules node_modules/
COPY --from=build /app/dealyard_commp.node ./
COPY package.json ./
COPY src/ src/
COPY crds/ crds/
USER 65532:65532
ENTRYPOINT ["node", "/app/src/cli/main.ts"]
