package learn

import (
	"regexp"
	"slices"
	"testing"
)

// TestCatalogsMatch fails when a key is in one language's catalog and not
// the other's, or when a message's {placeholders} differ between them.
func TestCatalogsMatch(t *testing.T) {
	if _, err := catalogs(); err != nil {
		t.Fatal(err)
	}
	en, ko := Messages("en"), Messages("ko")
	if len(en) == 0 {
		t.Fatal("the English catalog is empty")
	}
	for k := range en {
		if _, ok := ko[k]; !ok {
			t.Errorf("%q is in the English catalog and not the Korean one", k)
		}
	}
	for k := range ko {
		if _, ok := en[k]; !ok {
			t.Errorf("%q is in the Korean catalog and not the English one", k)
		}
	}
	ph := regexp.MustCompile(`\{[a-z_0-9]+\}`)
	for k, e := range en {
		k2, ok := ko[k]
		if !ok {
			continue
		}
		a, b := ph.FindAllString(e, -1), ph.FindAllString(k2, -1)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(slices.Compact(a), slices.Compact(b)) {
			t.Errorf("%q: placeholders %v in English, %v in Korean", k, a, b)
		}
		if e == "" || k2 == "" {
			t.Errorf("%q: an empty message", k)
		}
	}
}

func TestT(t *testing.T) {
	c := Catalog{"hi": "Hello, {name}! {name}?"}
	if got := c.T("hi", "name", "Ada"); got != "Hello, Ada! Ada?" {
		t.Errorf("T = %q", got)
	}
	if got := c.T("missing"); got != "missing" {
		t.Errorf("a missing key gives %q, want the key", got)
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"", "en"},
		{"ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"},
		{"en-US,en;q=0.9,ko;q=0.8", "en"},
		{"fr-FR,fr;q=0.9,ko;q=0.5", "ko"},
		{"fr", "en"},
		{"en;q=0.1, ko;q=0.2", "ko"},
		{"ko;q=0, en;q=0", "en"},
		{"ko;q=x", "en"},
		{"KO", "ko"},
	} {
		if got := Match(c.header); got != c.want {
			t.Errorf("Match(%q) = %q, want %q", c.header, got, c.want)
		}
	}
}
