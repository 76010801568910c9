# tuskguard service image. Built and run by docker-compose.yml; not exercised in CI here
# (this project's CI machine has no container engine).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY data ./data
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production TUSKGUARD_HOME=/var/lib/tuskguard
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY data ./data
COPY rules ./rules
COPY nginx ./nginx
RUN mkdir -p /var/lib/tuskguard && chown node:node /var/lib/tuskguard
USER node
EXPOSE 8787
ENTRYPOINT ["node", "dist/cli/index.js"]
CMD ["serve", "--config", "/etc/tuskguard/tuskguard.yaml"]
