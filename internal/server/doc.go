// Package server is the HTTP face of the playground: the chi routes, the
// middleware, the page handlers, and Run, which starts the built-in
// services and serves until its context ends, then shuts everything down.
//
// It mounts the WebSocket route from internal/bridge and never touches a
// socket or a session itself. Configuration arrives as a Config; this
// package never reads flags or the environment.
package server
