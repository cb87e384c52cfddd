# mmgenre's CLI and server on Node 20. Build: docker build -t mmgenre .
# Run:   docker run --rm -p 8080:8080 -v "$PWD/runs:/app/runs" mmgenre serve --model runs/gmu --host 0.0.0.0
FROM node:20-slim

WORKDIR /app
# node:20-slim's npm predates package.json's allowScripts: skip onnxruntime-node's CUDA download by its own switch
# (its CPU binaries ship in the package).
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    MMGENRE_CACHE_DIR=/app/.cache

COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) needs the sources, copied below; sharp and esbuild ship prebuilt binaries.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY configs ./configs
RUN npm run build && npm prune --omit=dev

EXPOSE 8080
ENTRYPOINT ["node", "bin/mmgenre.js"]
CMD ["--help"]
