// Package web renders the playground's HTML pages with templ. It only
// renders: it never touches sessions or sockets, and hands configuration to
// the page's scripts as JSON (templ.JSONScript), never as inline code.
package web

//go:generate go tool templ generate
