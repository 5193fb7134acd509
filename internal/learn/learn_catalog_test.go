package learn

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The learning column's words (static/js/ui/learn*.js): every concept of
// the guide, every error a session can report, and every key the column's
// scripts name must be in both catalogs.

// issueErrnos are the errors issue 6 asks a card for, by errno.
var issueErrnos = []string{"ECONNREFUSED", "ETIMEDOUT", "EADDRINUSE", "ECONNRESET", "EPIPE", "EAGAIN", "EACCES", "EHOSTUNREACH", "ENETUNREACH", "EMSGSIZE"}

// policyGroups are the kinds of policy refusal an error card advises on
// (learn-errors.js, POLICY_GROUPS).
var policyGroups = []string{"rate", "quota", "listen", "target", "multicast"}

// needKeys fails for each key missing from either catalog.
func needKeys(t *testing.T, what string, keys ...string) {
	t.Helper()
	for _, lang := range Langs {
		c := Messages(lang)
		for _, k := range keys {
			if strings.TrimSpace(c[k]) == "" {
				t.Errorf("%s: %q is not in the %s catalog", what, k, lang)
			}
		}
	}
}

func TestConceptTexts(t *testing.T) {
	if len(Concepts) == 0 {
		t.Fatal("no concepts")
	}
	for _, id := range Concepts {
		// term and text for the guide; none says what would show it on the page.
		needKeys(t, "concept "+id, "concept."+id+".term", "concept."+id+".text", "concept."+id+".none")
	}
	// Every concept a lesson names is one of the guide's.
	for _, l := range All() {
		for _, c := range l.Concepts {
			if !slices.Contains(Concepts, c) {
				t.Errorf("lesson %s names concept %q, which the guide does not have", l.ID, c)
			}
		}
	}
}

func TestErrorCards(t *testing.T) {
	codes := sessionCodes(t)
	if len(codes) < 20 {
		t.Fatalf("found only %d error codes in internal/session/errors.go: %v", len(codes), codes)
	}
	for _, code := range codes {
		needKeys(t, "error code "+code, "error.code."+code+".title", "error.code."+code+".means", "error.code."+code+".try")
	}
	errnos := sessionErrnos(t)
	for _, e := range issueErrnos {
		if !slices.Contains(errnos, e) {
			errnos = append(errnos, e)
		}
	}
	for _, e := range errnos {
		needKeys(t, "errno "+e, "error.errno."+e+".title", "error.errno."+e+".means", "error.errno."+e+".try")
	}
	for _, g := range policyGroups {
		needKeys(t, "policy refusal", "error.code.policy.try_"+g)
	}
}

// sessionCodes are the values of the session's error codes: the constants
// of type Code in internal/session/errors.go.
func sessionCodes(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "session", "errors.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for _, val := range v.Values {
				if lit, ok := val.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					codes = append(codes, s)
				}
			}
		}
	}
	return codes
}

// sessionErrnos are the errno names the session reports: its errno table
// ({CodeX, "EXXX", …} in errors.go) and every Errno: "EXXX" of its sources.
func sessionErrnos(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "session", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`(?:Errno:\s*|\{Code\w+,\s*)"(E[A-Z0-9]+)"`)
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d errno names in internal/session: %v", len(out), out)
	}
	return out
}

// TestLearnColumnKeys fails when a script of the learning column names a
// key a catalog lacks: t("…"), tn("…") (its .one and .other), and the
// i18n: "…" of dom.js's h. Keys built at run time (a lesson's, a concept's,
// an error card's) are checked above and by the lesson tests.
func TestLearnColumnKeys(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "static", "js", "ui", "learn*.js"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	comments := regexp.MustCompile(`(?s:/\*.*?\*/)|(?m:(?:^|\s)//[^\n]*)`)
	plain := regexp.MustCompile(`\bt\(\s*"([^"]+)"`)
	count := regexp.MustCompile(`\btn\(\s*"([^"]+)"`)
	prop := regexp.MustCompile(`\bi18n: "([^"]+)"`)
	ternary := regexp.MustCompile(`\btn?\([^()]*\? "([a-z][a-z_.]+)" : "([a-z][a-z_.]+)"`)
	used := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := comments.ReplaceAllString(string(b), "")
		name := filepath.Base(f)
		for _, m := range plain.FindAllStringSubmatch(src, -1) {
			needKeys(t, name, m[1])
			used++
		}
		for _, m := range prop.FindAllStringSubmatch(src, -1) {
			needKeys(t, name, m[1])
			used++
		}
		for _, m := range count.FindAllStringSubmatch(src, -1) {
			needKeys(t, name, m[1]+".one", m[1]+".other")
			used++
		}
		// t(x ? "a" : "b") and tn(x ? "a" : "b", n): both keys.
		for _, m := range ternary.FindAllStringSubmatch(src, -1) {
			for _, k := range m[1:] {
				if strings.Contains(m[0], "tn(") {
					needKeys(t, name, k+".one", k+".other")
				} else {
					needKeys(t, name, k)
				}
				used++
			}
		}
	}
	if used < 60 {
		t.Errorf("found only %d keys in the learning column's scripts: does the scan still find them?", used)
	}
}
