// Package services runs the built-in practice servers in-process, on
// loopback, so a session has something real to talk to the moment it opens.
//
// Every service stops, with all its goroutines, when its Set is closed.
// Services never log payload bytes.
package services
