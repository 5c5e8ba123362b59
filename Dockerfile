# Build: compile TypeScript with the dev dependencies, then keep only what runs.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

# Run: the server, and what sandboxed repository code may use.
#
# With the bubblewrap driver (the default), sandboxes see this image's /usr read-only: the
# toolchains installed here are the only ones a repository's setup and tests can use. Out of the
# box that is bash, git, Python 3 with pytest and venv. To add others, either
#   - build with a list of Debian packages:
#       docker build --build-arg EXTRA_PACKAGES="golang-go default-jdk-headless maven" -t kodah .
#   - or derive an image, keeping the entrypoint:
#       FROM kodah
#       RUN apt-get update && apt-get install -y --no-install-recommends ruby-full \
#         && rm -rf /var/lib/apt/lists/*
# Toolchains installed elsewhere (/opt/…) can be shown to sandboxes with KODAH_SANDBOX_PATHS.
#
# bubblewrap inside a container needs unprivileged user namespaces, which Docker's default
# confinement forbids: its seccomp profile refuses clone/unshare(CLONE_NEWUSER) and mount, its
# AppArmor profile refuses the mounts, and its masked /proc paths stop a new /proc from being
# mounted. Run it with
#   docker run --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
#     --security-opt systempaths=unconfined -p 3000:3000 -v kodah-data:/data kodah
# (Podman: --security-opt unmask=ALL instead of systempaths; SELinux hosts: --security-opt
# label=disable). The host must allow unprivileged user namespaces too (user.max_user_namespaces
# above 0; on Ubuntu 24.04 kernel.apparmor_restrict_unprivileged_userns=0). When bubblewrap does
# not work, the worker's start-up log says why ("sandbox: bubblewrap does not work here") and no
# repository command runs.
#
# Rather not relax the container? Use the container driver: KODAH_SANDBOX=container makes Kodah
# start one container per job on a Docker or Podman engine it is given (mount its socket,
# -v /var/run/docker.sock:/var/run/docker.sock), each from an image with the repository's
# toolchain (KODAH_SANDBOX_IMAGE, KODAH_SANDBOX_IMAGES). That engine binds work trees by their
# path on its host, so mount the data folder at the same path on both sides:
#   -v /srv/kodah:/srv/kodah -e KODAH_DATA_DIR=/srv/kodah
FROM node:22-bookworm-slim
ARG EXTRA_PACKAGES=""
# tini is PID 1: it forwards signals to the server and reaps orphaned processes (of sandboxes,
# git) that would otherwise stay as zombies under node.
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    ca-certificates git bubblewrap tini python3 python3-pytest python3-venv ${EXTRA_PACKAGES} \
  && rm -rf /var/lib/apt/lists/*
# HOST: listen on every interface of the container, whatever the server's own default.
ENV NODE_ENV=production KODAH_DATA_DIR=/data HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
# /setup builds the GitHub App manifest from app.yml.
COPY app.yml ./
RUN chmod 0755 bin/kodah.js && ln -s /app/bin/kodah.js /usr/local/bin/kodah && mkdir -p /data
# The server runs as root: each bubblewrap sandbox then runs as a uid of its own (from
# 200000–259999), whose processes are counted, limited and killed apart from the server's.
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
# `start` on the embedded database; set DATABASE_URL and run `kodah worker` / `kodah serve
# --no-workers` to scale out (docker run … kodah kodah worker).
CMD ["kodah", "start"]
