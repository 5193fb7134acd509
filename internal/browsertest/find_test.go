package browsertest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
)

// page has two sockets with a Close button each, a text field, a message box
// that sends on Enter and breaks the line on Shift+Enter, a <select>, and a
// Connect button that adds a Reconnect button a moment later. Every event
// lands in the Events list.
const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Find test</title><link rel="icon" href="data:,"></head>
<body>
<main>
  <section aria-labelledby="sockets-heading">
    <h2 id="sockets-heading">Sockets</h2>
    <article aria-label="Socket 1">
      <p role="status">open</p>
      <button type="button">Close</button>
    </article>
    <article aria-label="Socket 2 · UDP association">
      <p role="status">open</p>
      <button type="button">Close</button>
    </article>
  </section>
  <label for="host">Host</label> <input id="host" value="example.org">
  <label>Port <input type="number" value="7"></label>
  <label>Message <textarea></textarea></label>
  <label>Protocol
    <select><option>TCP</option><option>UDP</option><option label="Unix socket">unix</option></select>
  </label>
  <button type="button" aria-pressed="false">Mute</button>
  <button type="button" id="connect">Connect</button>
  <div aria-hidden="true"><button type="button">Hidden</button></div>
  <pre role="log" aria-label="Events"></pre>
</main>
<script>
const events = document.querySelector("pre");
const log = (text) => events.append(text + "\n");
for (const article of document.querySelectorAll("article")) {
  article.querySelector("button").addEventListener("click", () => {
    article.querySelector("[role=status]").textContent = "closed";
    log("closed " + article.getAttribute("aria-label"));
    setTimeout(() => article.remove(), 200);
  });
}
const host = document.querySelector("#host");
host.addEventListener("input", (e) => log("input host=" + host.value + " " + e.inputType));
const message = document.querySelector("textarea");
message.addEventListener("keydown", (e) => {
  if (e.key !== "Enter") return;
  log("keydown Enter" + (e.shiftKey ? " shift" : ""));
  if (!e.shiftKey) {
    e.preventDefault();
    log("sent " + JSON.stringify(message.value));
    message.value = "";
  }
});
const protocol = document.querySelector("select");
protocol.addEventListener("input", () => log("input protocol=" + protocol.value));
protocol.addEventListener("change", () => log("change protocol=" + protocol.value));
const mute = document.querySelector("[aria-pressed]");
mute.addEventListener("click", () => mute.setAttribute("aria-pressed", String(mute.getAttribute("aria-pressed") !== "true")));
document.querySelector("#connect").addEventListener("click", () => setTimeout(() => {
  const b = Object.assign(document.createElement("button"), {type: "button", textContent: "Reconnect"});
  document.querySelector("main").append(b);
}, 250));
</script>
</body>
</html>`

// other is a second page, to show that finding survives navigation.
const other = `<!doctype html><html lang="en"><head><title>Other</title><link rel="icon" href="data:,"></head>
<body><main><h1>Other page</h1><a href="/">Back</a></main></body></html>`

// open serves the pages on 127.0.0.1 and starts Chromium. Its fresh
// function opens the first page anew, so that each subtest starts from it.
func open(t *testing.T) (b *browsertest.Browser, base string, fresh func(*testing.T)) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, page)
		case "/other":
			fmt.Fprint(w, other)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	b = browsertest.Start(t, 60*time.Second)
	t.Cleanup(func() {
		if p := b.Problems(); len(p) > 0 {
			t.Errorf("the page logged errors: %q", p)
		}
	})
	return b, srv.URL, func(t *testing.T) {
		t.Helper()
		run(t, b, chromedp.Navigate(srv.URL))
	}
}

// run runs actions in the browser, failing the test on error.
func run(t *testing.T, b *browsertest.Browser, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(b.Ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// events returns the page's event log.
func events(t *testing.T, b *browsertest.Browser) string {
	t.Helper()
	var s string
	run(t, b, browsertest.Text(browsertest.Q("log", "Events"), &s))
	return s
}

func TestFind(t *testing.T) {
	b, base, fresh := open(t)
	q := browsertest.Q
	var s string
	var n int

	t.Run("Click", func(t *testing.T) {
		fresh(t)
		status := q("region", "Sockets", "article", "Socket 1", "status", "")
		run(t, b, browsertest.Text(status, &s))
		if s != "open" {
			t.Fatalf("before the click the status says %q", s)
		}
		run(t, b,
			browsertest.Click(q("region", "Sockets", "article", "Socket 1", "button", "Close")),
			browsertest.Text(status, &s),
		)
		if s != "closed" {
			t.Errorf("after the click the status says %q", s)
		}
		if e := events(t, b); e != "closed Socket 1" {
			t.Errorf("events %q, want one click on Socket 1", e)
		}
	})

	t.Run("WaitGone", func(t *testing.T) {
		fresh(t)
		// Closing removes the article 200 ms later.
		socket := q("article", "Socket 1")
		run(t, b, browsertest.Click(q("article", "Socket 1", "button", "Close")), browsertest.Count(socket, &n))
		if n != 1 {
			t.Fatalf("Count = %d right after the click, want 1 until 200 ms later", n)
		}
		run(t, b, browsertest.WaitGone(socket), browsertest.Count(socket, &n))
		if n != 0 {
			t.Errorf("Count = %d after WaitGone", n)
		}
		// A step before the last that finds nothing makes the target gone too.
		run(t, b,
			browsertest.WaitGone(q("article", "Socket 1", "button", "Close")),
			browsertest.Count(q("article", "Socket 1", "button", "Close"), &n),
		)
		if n != 0 {
			t.Errorf("Count = %d inside a missing article", n)
		}
	})

	t.Run("Substring", func(t *testing.T) {
		fresh(t)
		run(t, b, browsertest.Count(q("article", "Socket 2"), &n))
		if n != 0 {
			t.Errorf("exact name %q matches %d articles, want 0", "Socket 2", n)
		}
		run(t, b, browsertest.Count(q("article", "~Socket 2"), &n))
		if n != 1 {
			t.Errorf("%q matches %d articles, want 1", "~Socket 2", n)
		}
		run(t, b, browsertest.Count(q("article", "~Socket"), &n))
		if n != 2 {
			t.Errorf("%q matches %d articles, want 2", "~Socket", n)
		}
		run(t, b, browsertest.Text(q("", "~UDP assoc", "button", "~"), &s))
		if s != "Close" {
			t.Errorf("the button in Socket 2 says %q", s)
		}
	})

	t.Run("Ignored", func(t *testing.T) {
		fresh(t)
		run(t, b, browsertest.Count(q("button", "Hidden"), &n))
		if n != 0 {
			t.Errorf("the button inside aria-hidden matches %d times, want 0", n)
		}
	})

	t.Run("Fill", func(t *testing.T) {
		fresh(t)
		host := q("textbox", "Host")
		run(t, b, browsertest.Fill(host, "127.0.0.1"), browsertest.Value(host, &s))
		if s != "127.0.0.1" {
			t.Errorf("Host holds %q", s)
		}
		run(t, b, browsertest.Fill(host, ""), browsertest.Value(host, &s))
		if s != "" {
			t.Errorf("Host holds %q after filling in nothing", s)
		}
		if e := events(t, b); e != "input host=127.0.0.1 insertText input host= deleteContentBackward" {
			t.Errorf("events %q, want an input event for each fill", e)
		}
		var active string
		run(t, b, chromedp.Evaluate(`document.activeElement.id`, &active))
		if active != "host" {
			t.Errorf("focus is on %q, want the Host field", active)
		}
		port := q("spinbutton", "Port")
		run(t, b, browsertest.Fill(port, "8080"), browsertest.Value(port, &s))
		if s != "8080" {
			t.Errorf("Port holds %q", s)
		}
		err := chromedp.Run(b.Ctx, browsertest.Fill(q("combobox", "Protocol"), "UDP"))
		if err == nil || !strings.Contains(err.Error(), "<select> is not a text field (use Select)") {
			t.Errorf("filling a <select>: %v", err)
		}
	})

	t.Run("Press", func(t *testing.T) {
		fresh(t)
		message := q("textbox", "Message")
		run(t, b,
			browsertest.Fill(message, "hello"),
			browsertest.Press(message, "Enter", "Shift"),
			browsertest.Value(message, &s),
		)
		if s != "hello\n" {
			t.Errorf("after Shift+Enter the message is %q, want a line break", s)
		}
		// The page prevents Enter's default, as a chat box does.
		run(t, b, browsertest.Press(message, "Enter"), browsertest.Value(message, &s))
		if s != "" {
			t.Errorf("after Enter the message is %q, want it sent", s)
		}
		if e := events(t, b); e != `keydown Enter shift keydown Enter sent "hello\n"` {
			t.Errorf("events %q", e)
		}
		// Tab moves the focus on, Shift+Tab back.
		var active string
		run(t, b,
			browsertest.Press(q("spinbutton", "Port"), "Tab"),
			chromedp.Evaluate(`document.activeElement.localName`, &active),
		)
		if active != "textarea" {
			t.Errorf("Tab from Port moved the focus to <%s>", active)
		}
		run(t, b,
			browsertest.Press(message, "Tab", "Shift"),
			chromedp.Evaluate(`document.activeElement.type`, &active),
		)
		if active != "number" {
			t.Errorf("Shift+Tab from Message moved the focus to an input of type %q", active)
		}
	})

	t.Run("Focus", func(t *testing.T) {
		fresh(t)
		var active string
		run(t, b,
			browsertest.Focus(q("button", "Mute")),
			chromedp.Evaluate(`document.activeElement.textContent`, &active),
		)
		if active != "Mute" {
			t.Errorf("focus is on %q", active)
		}
	})

	t.Run("Select", func(t *testing.T) {
		fresh(t)
		protocol := q("combobox", "Protocol")
		run(t, b, browsertest.Select(protocol, "UDP"), browsertest.Value(protocol, &s))
		if s != "UDP" {
			t.Errorf("Protocol is %q", s)
		}
		run(t, b, browsertest.Select(protocol, "Unix socket"), browsertest.Value(protocol, &s))
		if s != "unix" {
			t.Errorf("Protocol is %q", s)
		}
		if e := events(t, b); e != "input protocol=UDP change protocol=UDP input protocol=unix change protocol=unix" {
			t.Errorf("events %q", e)
		}
		err := chromedp.Run(b.Ctx, browsertest.Select(protocol, "SCTP"))
		if err == nil || !strings.Contains(err.Error(), `no option "SCTP" among ["TCP","UDP","Unix socket"]`) {
			t.Errorf("choosing a missing option: %v", err)
		}
	})

	t.Run("Attr", func(t *testing.T) {
		fresh(t)
		mute := q("button", "Mute")
		run(t, b, browsertest.Click(mute), browsertest.Attr(mute, "aria-pressed", &s))
		if s != "true" {
			t.Errorf("aria-pressed = %q after a click", s)
		}
		run(t, b, browsertest.Attr(mute, "data-missing", &s))
		if s != "" {
			t.Errorf("a missing attribute reads %q", s)
		}
	})

	t.Run("Wait", func(t *testing.T) {
		fresh(t)
		reconnect := q("button", "Reconnect")
		run(t, b, browsertest.Click(q("button", "Connect")), browsertest.Count(reconnect, &n))
		if n != 0 {
			t.Fatalf("Reconnect is there %d times right after the click, want 0 until 250 ms later", n)
		}
		run(t, b, browsertest.Wait(reconnect), browsertest.Count(reconnect, &n))
		if n != 1 {
			t.Errorf("Reconnect is there %d times after Wait", n)
		}
	})

	t.Run("Explain", func(t *testing.T) {
		fresh(t)
		ctx, cancel := context.WithTimeout(b.Ctx, 300*time.Millisecond)
		defer cancel()
		err := chromedp.Run(ctx, browsertest.Click(q("button", "Close")))
		if err == nil {
			t.Fatal("clicking one of two Close buttons succeeded")
		}
		t.Log(err)
		want := `browsertest: click button "Close": step 1 (button "Close") matched 2; ` +
			`on the page, role button: "Close", "Close", "Mute", "Connect": context deadline exceeded`
		if err.Error() != want {
			t.Errorf("got  %v\nwant %s", err, want)
		}

		ctx, cancel = context.WithTimeout(b.Ctx, 300*time.Millisecond)
		defer cancel()
		err = chromedp.Run(ctx, browsertest.Text(q("region", "Sockets", "article", "Socket 9", "button", "Close"), &s))
		t.Log(err)
		want = `step 2 (article "Socket 9") matched 0; in region "Sockets", role article: "Socket 1", "Socket 2 · UDP association"`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to say %s", err, want)
		}

		err = chromedp.Run(b.Ctx, browsertest.Count(q("article", "~Socket", "button", "Close"), &n))
		t.Log(err)
		want = `step 1 (article "~Socket") matched 2`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("counting inside two articles: got %v, want it to say %s", err, want)
		}
	})

	t.Run("Navigate", func(t *testing.T) {
		fresh(t)
		var h2 string
		run(t, b,
			chromedp.Navigate(base+"/other"),
			browsertest.Text(q("heading", "~Other"), &s),
			browsertest.Click(q("link", "Back")),
			browsertest.Wait(q("region", "Sockets")),
			// chromedp's own selectors still work beside these.
			chromedp.Text("h2", &h2, chromedp.ByQuery),
		)
		if s != "Other page" || h2 != "Sockets" {
			t.Errorf("headings %q and %q", s, h2)
		}
	})
}

func TestQ(t *testing.T) {
	got := browsertest.Q("region", "Sockets", "", "~Socket 3", "button", "Close").String()
	if want := `region "Sockets" > * "~Socket 3" > button "Close"`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	for _, args := range [][]string{nil, {"button"}, {"region", "Sockets", "button"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Q(%q) did not panic", args)
				}
			}()
			browsertest.Q(args...)
		}()
	}
}
