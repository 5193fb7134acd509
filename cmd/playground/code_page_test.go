package main

import (
	"go/format"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
)

// TestPageCode checks the Code tab (issue 6): after a few calls made from
// the page, each shows in Python and in Go with how it ended, the
// downloads are the whole session as a script python3 parses and a
// program gofmt accepts, Copy puts the script on the clipboard, every text
// meets WCAG AA contrast in both themes, and the tab follows a switch of
// language.
func TestPageCode(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	p := openPage(t, base)
	p.run(
		browser.SetPermission(&browser.PermissionDescriptor{Name: "clipboard-read"}, browser.PermissionSettingGranted).WithOrigin(base),
		browser.SetPermission(&browser.PermissionDescriptor{Name: "clipboard-write"}, browser.PermissionSettingGranted).WithOrigin(base),
	)

	// A connection to the echo, text sent and echoed, and a refused connect.
	p.run(browsertest.Click(q("button", "~Connect echo TCP 127.0.0.1:")))
	p.waitText(card(1), `established`)
	echo := p.remotePort(1)
	p.send("Text", "hello 안녕")
	p.waitText(card(1), `Received\s*12 bytes`)
	refused := closedPort(t)
	p.open("TCP client", "127.0.0.1", refused)
	p.waitText(card(2), `failed`)

	p.run(browsertest.Click(q("tab", "Code")))
	region := q("region", "Your calls in Python and Go")
	p.codeHas(
		`s1 = socket.create_connection(("127.0.0.1", `+echo+`))`,
		`s1, err := net.Dial("tcp", "127.0.0.1:`+echo+`")`,
		`s1.sendall("hello 안녕".encode())`,
		`_, err = s1.Write([]byte("hello 안녕"))`,
		`s2 = socket.create_connection(("127.0.0.1", `+refused+`)) # → ConnectionRefusedError: [Errno 111] Connection refused`,
		`s2, err := net.Dial("tcp", "127.0.0.1:`+refused+`") // → connection refused (ECONNREFUSED)`,
	)
	text := p.waitText(region, `Call \d+ · s2\.connect failed: ECONNREFUSED`)
	if !regexp.MustCompile(`Call \d+ · s1\.send done`).MatchString(text) {
		t.Errorf("the send's row does not say it was done: %q", text)
	}
	var panes int
	p.run(browsertest.Count(q("button", "~Copy the Python of call"), &panes))
	if panes < 3 {
		t.Errorf("%d calls have a Python copy button; want one for each of the 3 calls at least", panes)
	}
	p.shot("36-code")
	p.contrast("36-code") // every text of the tab, in each theme

	// The downloads: the whole session, runnable.
	python := p.download(base, "Download Python", "session.py")
	if !strings.Contains(python, "data = \"hello 안녕\".encode()\ns1.sendall(data)\n") {
		t.Errorf("the script does not send what the page sent:\n%s", python)
	}
	if py, err := exec.LookPath("python3"); err != nil {
		t.Errorf("python3 is needed to check the script (make test checks for it): %v", err)
	} else {
		f := filepath.Join(t.TempDir(), "session.py")
		if err := os.WriteFile(f, []byte(python), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(py, "-c", "import ast, sys; ast.parse(open(sys.argv[1], encoding='utf-8').read())", f).CombinedOutput(); err != nil {
			t.Errorf("python3 cannot parse the script: %v\n%s", err, out)
		}
	}
	program := p.download(base, "Download Go", "session.go")
	if formatted, err := format.Source([]byte(program)); err != nil || string(formatted) != program {
		t.Errorf("the Go program is not gofmt's (%v):\n%s", err, program)
	}
	if !strings.Contains(program, `data = []byte("hello 안녕")`) {
		t.Errorf("the program does not send what the page sent:\n%s", program)
	}
	if resp, err := http.Get(base + "/session/0123456789abcdef0123456789abcdef/code.json"); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("the code of a session that does not exist: HTTP %d, want 404", resp.StatusCode)
		}
	}

	// Copy Python: the whole script, as the download has it. The button
	// fetches it first, so the clipboard fills a moment after the click.
	p.run(browsertest.Click(q("button", "Copy Python")))
	if clip := p.clipboard(func(s string) bool { return s == python }); clip != python {
		t.Errorf("Copy Python gave another text than the download:\n%s", clip)
	}

	// In Korean, the tab and its rows say so; the code stays code.
	p.run(browsertest.Select(q("combobox", "Language"), "한국어"))
	p.run(browsertest.Wait(q("tab", "코드")))
	p.waitText(q("region", "Python과 Go로 본 내 호출"), `\d+번 호출 · s1\.send 완료`)
	p.run(browsertest.Select(q("combobox", "언어"), "English"))
	p.run(browsertest.Wait(q("tab", "Code")))
	p.noProblems()
}

// remotePort reads the port socket n is connected to from its card.
func (p *pageT) remotePort(n int) string {
	p.t.Helper()
	m := regexp.MustCompile(`Remote\s*[\d.]+:(\d+)`).FindStringSubmatch(p.text(card(n)))
	if m == nil {
		p.t.Fatalf("socket %d's card shows no remote address: %q", n, p.text(card(n)))
	}
	return m[1]
}

// download follows the Code tab's link named name and returns the file it
// gives, checking that it is a download of that name that is not cached.
func (p *pageT) download(base, name, file string) string {
	p.t.Helper()
	var href string
	p.run(browsertest.Attr(q("link", name), "href", &href))
	// The downloads need the owner key (docs/protocol.md §15.6).
	path, query, _ := strings.Cut(href, "?")
	if !strings.HasPrefix(path, "/session/") || !strings.HasSuffix(path, "/"+file) || !regexp.MustCompile(`^key=[A-Z2-7]{26}$`).MatchString(query) {
		p.t.Fatalf("%s links to %q", name, href)
	}
	resp, err := http.Get(base + href)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	h := resp.Header
	if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != "text/plain; charset=utf-8" ||
		h.Get("Content-Disposition") != `attachment; filename="`+file+`"` || h.Get("Cache-Control") != "no-store" {
		p.t.Fatalf("%s: HTTP %d, %q", name, resp.StatusCode, h)
	}
	return string(body)
}

// clipboard reads the clipboard until ok accepts it, or for 5 s, and
// returns what it has then. A copy button that fetches what it copies
// fills the clipboard a moment after the click, with no event to wait on.
func (p *pageT) clipboard(ok func(string) bool) string {
	p.t.Helper()
	var clip string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		p.run(chromedp.Evaluate(`navigator.clipboard.readText()`, &clip, func(e *runtime.EvaluateParams) *runtime.EvaluateParams { return e.WithAwaitPromise(true) }))
		if ok(clip) {
			break
		}
	}
	return clip
}
