package learn

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The page names its messages in these ways; TestPageKeys finds them in
// the page's sources and fails for any key missing from a catalog.
var (
	// t("key"), t('key'), t(`key`), tn("key", n) and d.T("key"): a
	// message by key (tn: the "key.one" and "key.other" of a count).
	callKey = regexp.MustCompile("\\b(t|tn|T)\\(\\s*([\"'`])([^\"'`$\\\\]+)([\"'`])")
	// t(`prefix.${name}`), and d.T("prefix." + name) (callKey followed by
	// a +): a key built at run time; its prefix must be one of dynamicKeys.
	builtKey = regexp.MustCompile("\\b(?:t|tn|T)\\(\\s*`([^`$]*)\\$\\{")
	// data-i18n="key" and data-i18n-attr="attr:key;attr:key" in markup.
	markupKey  = regexp.MustCompile(`data-i18n="([^"]+)"`)
	markupAttr = regexp.MustCompile(`data-i18n-attr="([^"]+)"`)
	// Any other string literal shaped like a key ("card.local"): a key kept
	// in a table (a label, a hint) and worded later. Only literals whose
	// first part is an area of the catalog ("card", "ev"…) are keys.
	keyLiteral = regexp.MustCompile("[\"'`]([a-z][a-z0-9_]*(?:\\.[A-Za-z0-9_-]+)+)[\"'`]")
)

// dynamicKeys are the keys the page builds at run time, by prefix: each
// prefix a source builds keys from must be listed, and each key listed
// must be in the catalogs. A prefix listed with no keys builds them from
// data that comes with its own keys (the learning column's concepts and
// error cards), which the data's owners check.
var dynamicKeys = map[string][]string{
	// static/js/ui/learn-concepts.js: "concept." + a concept's id.
	"concept.": nil,
	// static/js/ui/learn-lessons.js: "lesson." + a lesson's id + ".title"…,
	// checked by the lessons' own tests (TestLessonTexts).
	"lesson.": nil,
	// static/js/ui/learn-errors.js: an error card's key (its code or errno) + ".title"….
	"": nil,
	// web/index.templ: the mode pill, "page.mode." + d.Mode.
	"page.mode.": {"local", "hosted"},
	// web/page.go: what each built-in service teaches (internal/services),
	// "service." + name + "." + proto.
	"service.": {
		"echo.tcp", "echo.udp", "discard.tcp", "discard.udp", "daytime.tcp", "daytime.udp",
		"chargen.tcp", "chargen.udp", "qotd.tcp", "qotd.udp", "chat.tcp", "http.tcp",
		"slow.tcp", "framing.tcp", "lossy.udp",
	},
}

// TestPageKeys fails when the page uses a message key that a catalog does
// not have: in static/js (t, tn, the i18n props of dom.js's h, keys kept
// in tables) and in web's templates and Go (d.T, data-i18n,
// data-i18n-attr). Keys built at run time are checked through dynamicKeys.
func TestPageKeys(t *testing.T) {
	en, ko := Messages("en"), Messages("ko")
	areas := map[string]bool{}
	for k := range en {
		area, _, _ := strings.Cut(k, ".")
		areas[area] = true
	}
	// has reports whether a catalog has key, or the two forms of a count.
	has := func(c Catalog, key string) bool {
		if _, ok := c[key]; ok {
			return true
		}
		_, one := c[key+".one"]
		_, other := c[key+".other"]
		return one && other
	}
	checked := map[string]bool{} // where and key, so that a key found twice is told once
	check := func(where, key string) {
		t.Helper()
		if checked[where+" "+key] {
			return
		}
		checked[where+" "+key] = true
		if !has(en, key) {
			t.Errorf("%s: %q is not in the English catalog", where, key)
		}
		if !has(ko, key) {
			t.Errorf("%s: %q is not in the Korean catalog", where, key)
		}
	}

	built := func(where, prefix string) {
		t.Helper()
		if _, ok := dynamicKeys[prefix]; !ok {
			t.Errorf("%s: a key is built from %q, which dynamicKeys does not list", where, prefix)
		}
	}

	var files []string
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(filepath.Join(root, "static", "js"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".js") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	web, err := filepath.Glob(filepath.Join(root, "web", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range web {
		if strings.HasSuffix(f, ".templ") || strings.HasSuffix(f, ".go") && !strings.HasSuffix(f, "_templ.go") && !strings.HasSuffix(f, "_test.go") {
			files = append(files, f)
		}
	}
	if len(files) < 10 {
		t.Fatalf("found only %d sources of the page: %v", len(files), files)
	}

	used := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		if strings.HasSuffix(f, ".js") || strings.HasSuffix(f, ".go") {
			src = blankComments(src)
		}
		name, _ := filepath.Rel(root, f)
		lines := lineIndex(src)
		at := func(i int) string { return name + ":" + strconv.Itoa(lines(i)) }
		for _, m := range callKey.FindAllStringSubmatchIndex(src, -1) {
			if src[m[4]:m[5]] != src[m[8]:m[9]] {
				continue // a quote inside another kind of string, not a key
			}
			if strings.HasPrefix(strings.TrimLeft(src[m[9]:], " \t"), "+") {
				built(at(m[0]), src[m[6]:m[7]]) // d.T("page.mode." + d.Mode)
				continue
			}
			// For tn, has finds the key's ".one" and ".other".
			check(at(m[0]), src[m[6]:m[7]])
			used++
		}
		for _, m := range builtKey.FindAllStringSubmatchIndex(src, -1) {
			built(at(m[0]), src[m[2]:m[3]])
		}
		for _, m := range markupKey.FindAllStringSubmatchIndex(src, -1) {
			check(at(m[0]), src[m[2]:m[3]])
			used++
		}
		for _, m := range markupAttr.FindAllStringSubmatchIndex(src, -1) {
			for pair := range strings.SplitSeq(src[m[2]:m[3]], ";") {
				attr, key, ok := strings.Cut(pair, ":")
				if !ok || strings.TrimSpace(attr) == "" {
					t.Errorf("%s: data-i18n-attr %q is not attr:key", at(m[0]), pair)
					continue
				}
				check(at(m[0]), strings.TrimSpace(key))
				used++
			}
		}
		for _, m := range keyLiteral.FindAllStringSubmatchIndex(src, -1) {
			key := src[m[2]:m[3]]
			area, _, _ := strings.Cut(key, ".")
			if !areas[area] || src[m[0]] != src[m[1]-1] {
				continue
			}
			check(at(m[0]), key)
			used++
		}
	}
	if used < 100 {
		t.Errorf("found only %d uses of message keys: does the scan still find them?", used)
	}
	for prefix, rest := range dynamicKeys {
		for _, r := range rest {
			check("dynamicKeys", prefix+r)
		}
	}
}

// comment is a JavaScript or Go comment: a block, or a line comment that
// starts a line or follows a space (so "http://" in a string stays).
var comment = regexp.MustCompile(`(?s:/\*.*?\*/)|(?m:(?:^|\s)//[^\n]*)`)

// blankComments replaces the comments in src with spaces, keeping its
// lines where they are: the examples in comments are not uses of keys.
func blankComments(src string) string {
	return comment.ReplaceAllStringFunc(src, func(c string) string {
		return strings.Map(func(r rune) rune {
			if r == '\n' {
				return r
			}
			return ' '
		}, c)
	})
}

// lineIndex returns a function from a byte offset in src to its line (1-based).
func lineIndex(src string) func(int) int {
	var starts []int
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i)
		}
	}
	return func(off int) int {
		n, _ := slices.BinarySearch(starts, off)
		return n + 1
	}
}
