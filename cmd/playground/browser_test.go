package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
)

// TestBrowserStatusPage opens the page in a real browser: under the strict
// CSP its module script runs, opens a session over the WebSocket and says so
// in the status region, and the services are listed.
func TestBrowserStatusPage(t *testing.T) {
	base, stop := startProgram(t, "-addr", "127.0.0.1:0", "-echo-port", "-1")
	browser := browsertest.Start(t, 60*time.Second)
	ctx, problems := browser.Ctx, browser.Problems
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
