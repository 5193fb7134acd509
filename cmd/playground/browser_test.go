package main

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium is Debian's browser; tests never download one. `make test`
// installs it when it is missing.
const chromium = "/usr/bin/chromium"

// newBrowser starts headless Chromium and returns a tab context, and a
// function returning the errors the page logged (CSP violations included).
func newBrowser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("browser tests need Debian's Chromium at %s (apt-get install chromium): %v", chromium, err)
	}
	// Not t.TempDir: Chromium's helper processes may still be writing the
	// profile when the test ends, and that cleanup fails the test then.
	profile, err := os.MkdirTemp("", "playground-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.LevelError {
				problems = append(problems, ev.Entry.Text)
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				problems = append(problems, "console.error")
			}
		}
	})
	if err := chromedp.Run(ctx, log.Enable(), runtime.Enable()); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// TestBrowserStatusPage opens the page in a real browser: under the strict
// CSP its module script runs, opens a session over the WebSocket and says so
// in the status region, and the services are listed.
func TestBrowserStatusPage(t *testing.T) {
	base, stop := startProgram(t, "-addr", "127.0.0.1:0", "-echo-port", "-1")
	ctx, problems := newBrowser(t)
	var status string
	var rows int
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.Poll(`(() => { const s = document.querySelector('[role="status"]'); return s && s.textContent.startsWith("open") })()`, nil),
		chromedp.Text(`[role="status"]`, &status, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('table tbody tr').length`, &rows),
	)
	if err != nil {
		t.Fatalf("page never reported an open session: %v (page errors: %q)", err, problems())
	}
	if !strings.Contains(status, "socket-playground/1") || !strings.Contains(status, "services") {
		t.Errorf("status says %q", status)
	}
	if rows < 2 {
		t.Errorf("the services table has %d rows, want the TCP and UDP echo at least", rows)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("the page logged errors: %q", p)
	}
	// When the server stops, the page says the session closed and why.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Run(ctx,
		chromedp.Poll(`document.querySelector('[role="status"]').textContent.includes("1001")`, nil),
		chromedp.Text(`[role="status"]`, &status, chromedp.ByQuery),
	)
	if err != nil || !strings.Contains(status, "shutting down") {
		t.Fatalf("after shutdown the status says %q (%v)", status, err)
	}
}
