// Package browsertest starts Debian's headless Chromium for browser tests,
// the way a person's browser would load the page, and collects what the page
// logs as errors (failed loads, CSP violations, exceptions).
//
// Tests never download a browser: `make test` installs Debian's chromium.
// This package is imported only by tests.
package browsertest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium is Debian's browser.
const Chromium = "/usr/bin/chromium"

// Browser is one headless Chromium with one tab.
type Browser struct {
	// Ctx is the tab's context, for chromedp.Run.
	Ctx  context.Context
	stop func()

	mu       sync.Mutex // guards problems
	problems []string
}

// Start starts Chromium with a fresh profile and a tab whose context ends
// after timeout. The browser stops when the test ends, or earlier by Stop.
func Start(t testing.TB, timeout time.Duration) *Browser {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		t.Fatalf("browser tests need Debian's Chromium at %s (make deps, or apt-get install chromium): %v", Chromium, err)
	}
	// Not t.TempDir: Chromium's helper processes may still be writing the
	// profile when the test ends, and that cleanup fails the test then.
	profile, err := os.MkdirTemp("", "playground-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		// Without these, Chromium tries to reach Google's hosts.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, timeout)
	b := &Browser{Ctx: ctx}
	b.stop = sync.OnceFunc(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
		os.RemoveAll(profile)
	})
	t.Cleanup(b.stop)
	chromedp.ListenTarget(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.LevelError {
				b.problems = append(b.problems, ev.Entry.Text)
			}
		case *runtime.EventExceptionThrown:
			b.problems = append(b.problems, ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				b.problems = append(b.problems, "console.error")
			}
		}
	})
	if err := chromedp.Run(ctx, log.Enable(), runtime.Enable()); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return b
}

// Problems returns the errors the page has logged so far.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// Stop closes the browser now.
func (b *Browser) Stop() { b.stop() }
