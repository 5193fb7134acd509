# syntax=docker/dockerfile:1
# Socket Playground in a container: a static binary on an empty image,
# running as an unprivileged user. Inside the container it listens on
# 0.0.0.0:8080 so a published port reaches it; anyone who can reach that port
# can open sockets from the container, so publish it to 127.0.0.1 only
# (docker run -p 127.0.0.1:8080:8080 ...) until hosted mode's policy exists.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/playground ./cmd/playground

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/playground /playground
ENV PLAYGROUND_ADDR=0.0.0.0:8080
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/playground"]
