# syntax=docker/dockerfile:1
# Socket Playground in a container: a static binary on an empty image,
# running as an unprivileged user. Inside the container it listens on
# 0.0.0.0:8080 so that a published port reaches it.
#
# By default the image runs local mode, which lets anyone who reaches that
# port open sockets to anything the container can reach. Publish it to this
# machine only:
#
#   docker run --rm -p 127.0.0.1:8080:8080 playground
#
# For a public demo, run hosted mode (a strict target policy and caps) behind
# a TLS-terminating proxy, still publishing to 127.0.0.1 only; docs/deploy.md
# has the whole setup:
#
#   docker run -d -p 127.0.0.1:8080:8080 -p 127.0.0.1:9090:9090 \
#     -e PLAYGROUND_MODE=hosted -e PLAYGROUND_HOSTS=play.example.com \
#     -e PLAYGROUND_TRUSTED_PROXIES=172.17.0.1 \
#     -e PLAYGROUND_METRICS_ADDR=0.0.0.0:9090 playground
#
# Every PLAYGROUND_* variable has a flag, which wins: docker run ... playground -mode hosted ...

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/playground ./cmd/playground

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/playground /playground
ENV PLAYGROUND_ADDR=0.0.0.0:8080 \
    PLAYGROUND_MODE=local
EXPOSE 8080
USER 65532:65532
# SIGTERM (docker stop) closes every session with 1001 and exits.
ENTRYPOINT ["/playground"]
