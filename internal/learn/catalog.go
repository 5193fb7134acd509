package learn

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Langs are the languages the page speaks, the default first.
var Langs = []string{"en", "ko"}

// LangNames are each language's name in itself, for the switcher.
var LangNames = map[string]string{"en": "English", "ko": "한국어"}

// messages holds one directory per language; each directory holds any
// number of JSON files of flat "key": "text" pairs, merged. A key may be
// in only one file of a language, and every language has the same keys
// (TestCatalogsMatch).
//
//go:embed messages
var messages embed.FS

var catalogs = sync.OnceValues(loadCatalogs)

// Catalog is one language's messages, by key.
type Catalog map[string]string

// T returns the message for key with {name} placeholders replaced by the
// pairs in args ("name", value, ...). A missing key returns the key itself,
// which the catalog tests keep from happening.
func (c Catalog) T(key string, args ...any) string {
	s, ok := c[key]
	if !ok {
		return key
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return s
}

// Messages returns the catalog of lang, or English's when lang is not one
// of Langs.
func Messages(lang string) Catalog {
	all, err := catalogs()
	if err != nil {
		panic(err) // the embedded files are checked by the tests
	}
	if c, ok := all[lang]; ok {
		return c
	}
	return all[Langs[0]]
}

func loadCatalogs() (map[string]Catalog, error) {
	all := map[string]Catalog{}
	for _, lang := range Langs {
		c := Catalog{}
		from := map[string]string{}
		files, err := fs.Glob(messages, path.Join("messages", lang, "*.json"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			b, err := messages.ReadFile(f)
			if err != nil {
				return nil, err
			}
			var m map[string]string
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			for k, v := range m {
				if prev, dup := from[k]; dup {
					return nil, fmt.Errorf("key %q is in both %s and %s", k, prev, f)
				}
				from[k] = f
				c[k] = v
			}
		}
		all[lang] = c
	}
	return all, nil
}

// Keys returns the sorted keys of lang's catalog.
func Keys(lang string) []string {
	return slices.Sorted(maps.Keys(Messages(lang)))
}

// Match picks the page's language: the first of Langs that the
// Accept-Language header prefers (highest q, then order), or the default.
func Match(acceptLanguage string) string {
	best, bestQ := Langs[0], 0.0
	for i, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		// A later tag wins only with a strictly higher q; the order breaks
		// ties. A tiny bias keeps the first of equal qs.
		q -= float64(i) * 1e-6
		if slices.Contains(Langs, base) && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}

// Valid reports whether lang is one of Langs.
func Valid(lang string) bool { return slices.Contains(Langs, lang) }
