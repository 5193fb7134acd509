package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/socketplayground/playground/internal/learn"
	"github.com/socketplayground/playground/web"
)

// langCookie remembers the language a person chose with the switcher.
const langCookie = "lang"

// pageLang is the language to show r's page in: ?lang=, then the
// switcher's cookie, then Accept-Language, then English.
func pageLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); learn.Valid(l) {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && learn.Valid(c.Value) {
		return c.Value
	}
	return learn.Match(r.Header.Get("Accept-Language"))
}

// pageLangs are the switcher's choices.
func pageLangs() []web.Lang {
	var out []web.Lang
	for _, l := range learn.Langs {
		out = append(out, web.Lang{Code: l, Name: learn.LangNames[l]})
	}
	return out
}

// handleMessages serves a language's catalog, for the page to switch
// language in place, without losing its session.
func handleMessages(w http.ResponseWriter, r *http.Request) {
	lang := strings.TrimSuffix(chi.URLParam(r, "file"), ".json")
	if !learn.Valid(lang) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	json.NewEncoder(w).Encode(learn.Messages(lang))
}
