package web

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/learn"
	"github.com/socketplayground/playground/internal/services"
)

// TestServiceAbouts checks that what each built-in service says about
// itself is in the catalogs: its Go text reads as its English message, so
// the page shows it in Korean, with the values the text carries (a rate
// and a share that are not the defaults).
func TestServiceAbouts(t *testing.T) {
	set, err := services.Start(services.Config{FreePorts: true, LossRate: 0.25, ChargenRate: 3000})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	var ss []Service
	for _, in := range set.Infos() {
		ss = append(ss, Service(in))
	}
	if len(ss) < len(services.Names) {
		t.Fatalf("%d listeners for %d services", len(ss), len(services.Names))
	}
	ko := PageData{Lang: "ko", Messages: learn.Messages("ko"), Services: ss}
	en := PageData{Lang: "en", Messages: learn.Messages("en"), Services: ss}
	for _, s := range ss {
		a := ko.serviceAbout(s)
		if a.Key == "" {
			t.Errorf("%s %s: %q is not a catalog message (or its English no longer reads as it)", s.Name, s.Proto, s.About)
			continue
		}
		if a.Text == s.About || strings.Contains(a.Text, "{") {
			t.Errorf("%s %s: in Korean %q", s.Name, s.Proto, a.Text)
		}
		if got := en.serviceAbout(s).Text; got != s.About {
			t.Errorf("%s %s: in English %q, the service says %q", s.Name, s.Proto, got, s.About)
		}
	}
	for _, c := range []struct{ name, proto, want string }{
		{"lossy", "udp", "25%"},
		{"chargen", "tcp", "3000 bytes/s"},
	} {
		i := slices.IndexFunc(ss, func(s Service) bool { return s.Name == c.name && s.Proto == c.proto })
		if i < 0 {
			t.Errorf("no %s %s service", c.name, c.proto)
			continue
		}
		if got := ko.serviceAbout(ss[i]).Text; !strings.Contains(got, c.want) {
			t.Errorf("%s %s in Korean is %q, without %q", c.name, c.proto, got, c.want)
		}
	}

	// A service the catalog does not know keeps its own words.
	odd := Service{Name: "odd", Proto: "tcp", Addr: "127.0.0.1:1", About: "Does odd things."}
	if a := ko.serviceAbout(odd); a.Key != "" || a.Text != odd.About {
		t.Errorf("an unknown service reads %+v", a)
	}
}

func TestReadArgs(t *testing.T) {
	for _, c := range []struct {
		message, text string
		want          []string
		ok            bool
	}{
		{"Drops {pct}% at random.", "Drops 30% at random.", []string{"pct", "30"}, true},
		{"At {rate} until you close ({n} lines).", "At 64 KiB/s until you close (2 lines).", []string{"rate", "64 KiB/s", "n", "2"}, true},
		{"No placeholders.", "No placeholders.", nil, true},
		{"Drops {pct}% at random.", "Drops everything.", nil, false},
		{"Sends (a.b) back.", "Sends (axb) back.", nil, false}, // the message's text is not a pattern
		{"", "anything", nil, false},
	} {
		got, ok := readArgs(c.message, c.text)
		if ok != c.ok || !slices.Equal(got, c.want) {
			t.Errorf("readArgs(%q, %q) = %q, %v; want %q, %v", c.message, c.text, got, ok, c.want, c.ok)
		}
	}
}

// TestIndexLanguages renders the page in both languages: the html element
// says which, the texts are the catalog's, and every placeholder is filled.
func TestIndexLanguages(t *testing.T) {
	ss := []Service{
		{Name: "echo", Proto: "tcp", Addr: "127.0.0.1:7007", About: "Sends back every byte it receives: a TCP byte stream, unchanged."},
		{Name: "echo", Proto: "udp", Addr: "127.0.0.1:7007", About: "Sends every datagram back to its sender: UDP keeps message boundaries."},
	}
	for _, c := range []struct {
		lang string
		want []string
	}{
		{"en", []string{`<html lang="en"`, "Open a socket", "1 running", `aria-label="Connect echo TCP 127.0.0.1:7007"`, "TCP: <span data-i18n=\"service.echo.tcp\"", "ports 24200–24209"}},
		{"ko", []string{`<html lang="ko"`, "소켓 열기", "1개 실행 중", `aria-label="echo TCP 127.0.0.1:7007에 연결"`, "받은 바이트를 모두 그대로", "24200–24209번 포트"}},
	} {
		d := PageData{
			Lang: c.lang, Langs: []Lang{{"en", "English"}, {"ko", "한국어"}}, Messages: learn.Messages(c.lang),
			Mode: "hosted", Version: "test", Services: ss, Hosted: &Hosted{PoolFirst: 24200, PoolLast: 24209},
		}
		var b strings.Builder
		if err := Index(d).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		for _, w := range c.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: the page has no %q", c.lang, w)
			}
		}
		// A message key left as the text, or a placeholder left unfilled.
		body := page[strings.Index(page, "<body"):]
		for _, bad := range []string{">page.", ">open.", ">services.", ">composer.", ">traffic.", "{n}", "{first}", "{version}"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: the page shows %q", c.lang, bad)
			}
		}
	}
}
