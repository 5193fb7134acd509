package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
)

// The pages of docs/protocol.md §15: a session outlives its WebSocket (a
// reload or a dropped network comes back to it), others watch it read-only
// through a watch link, and it ends plainly when its page stays away too
// long.

// tlRow is one event as a page's traffic view shows it.
type tlRow struct {
	Seq  int    `json:"seq"`
	Type string `json:"type"`
	Op   string `json:"op"`
	Sock int    `json:"sock"`
	Text string `json:"text"` // what a screen reader says for the row, with its time
}

// timelineJS scrolls the traffic view from top to bottom and reads every
// row it draws (the view draws only the rows in sight), in order; the
// page's own notes are left out. It ends at the bottom, following again.
const timelineJS = `(async () => {
  const frames = (n) => new Promise((r) => { const f = () => (--n ? requestAnimationFrame(f) : r()); requestAnimationFrame(f); });
  const tab = document.getElementById("tab-traffic");
  if (tab.getAttribute("aria-selected") !== "true") {
    tab.click();
    await frames(3);
  }
  const s = document.getElementById("tl-scroll");
  const rows = new Map();
  const collect = () => {
    for (const el of document.querySelectorAll("#tl-list .tl-item")) {
      if (el.dataset.type === "note") continue;
      rows.set(Number(el.getAttribute("aria-posinset")), {
        seq: Number(el.dataset.seq || 0), type: el.dataset.type || "", op: el.dataset.op || "",
        sock: Number(el.dataset.sock || 0), text: el.querySelector(".tl-row").getAttribute("aria-label"),
      });
    }
  };
  s.scrollTop = 0;
  await frames(3);
  collect();
  for (let last = -1; s.scrollTop !== last; ) {
    last = s.scrollTop;
    s.scrollTop += Math.max(40, s.clientHeight / 2);
    await frames(3);
    collect();
  }
  return [...rows.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
})()`

func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

// showKernel makes the traffic view show the kernel's samples too, so
// that it shows every event of the log.
func (p *pageT) showKernel() {
	p.t.Helper()
	var on bool
	p.run(chromedp.Evaluate(`document.querySelector('input[name="tl-kind"][value="kernel"]').checked`, &on))
	if !on {
		p.run(browsertest.Click(q("checkbox", "Kernel")))
	}
}

// events reads the traffic view: every event the page shows, in order.
func (p *pageT) events() []tlRow {
	p.t.Helper()
	var rows []tlRow
	p.run(chromedp.Evaluate(timelineJS, &rows, awaitPromise))
	return rows
}

// eachOnce checks that rows are the events 1…N, each once and in order,
// and returns N.
func eachOnce(t *testing.T, who string, rows []tlRow) int {
	t.Helper()
	for i, r := range rows {
		if r.Seq != i+1 {
			seqs := make([]int, len(rows))
			for j, r := range rows {
				seqs[j] = r.Seq
			}
			t.Fatalf("%s: event %d of the traffic view is seq %d, want %d (a gap or a repeat); seqs %v", who, i+1, r.Seq, i+1, seqs)
		}
	}
	return len(rows)
}

// waitEvents waits until the page shows at least the events 1…n, and
// returns what it shows.
func (p *pageT) waitEvents(who string, n int) []tlRow {
	p.t.Helper()
	var rows []tlRow
	for range 200 {
		rows = p.events()
		if len(rows) >= n {
			eachOnce(p.t, who, rows)
			return rows
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.shot("failure-" + p.t.Name())
	for _, r := range rows {
		p.t.Logf("%+v", r)
	}
	p.t.Fatalf("%s shows %d events, want at least %d", who, len(rows), n)
	return nil
}

// owned returns the session the page shows (from its address, /s/{id})
// and the owner key it keeps.
func (p *pageT) owned() (id, key string) {
	p.t.Helper()
	var path string
	p.run(chromedp.Evaluate(`location.pathname`, &path))
	id, ok := strings.CutPrefix(path, "/s/")
	if !ok || len(id) != 26 {
		p.t.Fatalf("the page's address is %q, want /s/ and the session's id", path)
	}
	p.run(chromedp.Evaluate(`sessionStorage.getItem("sp.key.`+id+`") || ""`, &key))
	if len(key) != 26 {
		p.t.Fatalf("the page keeps the owner key %q", key)
	}
	return id, key
}

// importConn is JavaScript that gives the page's connection (connection.js's current).
const importConn = `(await import([...document.scripts].find((s) => s.src.endsWith("/js/app.js")).src.replace("/app.js", "/connection.js"))).current`

// logOf reads a session's log (§13) with key; nil when the server has no
// such session (404).
func logOf(t *testing.T, base, id, key string) []map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/session/" + id + "/log.jsonl?key=" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	if resp.StatusCode != 200 {
		t.Fatalf("log.jsonl: %d %s", resp.StatusCode, b)
	}
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log.jsonl line %d: %v: %s", i+1, err, line)
		}
		if i > 0 { // the first line is the file's header
			out = append(out, m)
		}
	}
	return out
}

// waitLog waits until the session's log has an event ok accepts, and
// returns its seq.
func waitLog(t *testing.T, base, id, key string, what string, ok func(map[string]any) bool) int {
	t.Helper()
	for range 400 {
		for _, ev := range logOf(t, base, id, key) {
			if ok(ev) {
				return int(ev["seq"].(float64))
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("the session's log never had %s", what)
	return 0
}

// TestPageWatch: an owner shares a session; a watcher in another browser
// (its own cookies and storage) opens the link and sees the same events in
// the same order, with no control that would change anything, and what it
// forces on the connection is refused. A revoked link, and an expired one,
// let nobody in; an ended session says so to both.
func TestPageWatch(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	owner := openPage(t, base)
	owner.showKernel()
	id, key := owner.owned()

	// Share: a link that works for an hour.
	owner.popover("share-panel")
	owner.run(browsertest.Select(q("combobox", "Link works for"), "1 hour"), browsertest.Click(q("button", "Create watch link")))
	var link string
	owner.waitText(q("dialog", "Share this session", "listitem", "~"), `expires in (59|60):\d\d · 0 watching`)
	owner.run(browsertest.Value(q("textbox", "Watch link 1"), &link))
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `/w/[A-Z2-7]{26}$`).MatchString(link) {
		t.Fatalf("the watch link is %q", link)
	}
	owner.shot("share-panel")

	// The watcher's network goes through a gate the test can close.
	wgate := startGate(t, strings.TrimPrefix(base, "http://"))
	watcher := &pageT{t: t, b: browsertest.Start(t, 90*time.Second), base: base}
	watcher.allow(`WebSocket connection to .* failed|Failed to load resource`)
	watcher.run(chromedp.EmulateViewport(1280, 800), chromedp.Navigate("http://"+wgate.addr+strings.TrimPrefix(link, base)))
	watcher.waitText(q("status", "Connection to the server"), `^Watching · session `+id[:8]+`$`)
	watcher.waitText(q("region", "Watching a session — read-only"), `Session\s+`+id[:8]+`\s+·\s+live`)
	watcher.showKernel()
	owner.waitText(q("button", "~watching"), `^1 watching$`)
	owner.shots("share-panel", func() { owner.show("share-panel") })

	// The owner does real things: TCP to the echo, a UDP datagram, a close.
	owner.run(browsertest.Click(q("button", "~Connect echo TCP 127.0.0.1:")))
	owner.waitText(card(1), `established`)
	owner.send("Text", "hello, watchers")
	owner.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 15 bytes: hello, watchers")))
	owner.run(browsertest.Click(q("button", "~Open UDP echo UDP 127.0.0.1:")))
	owner.waitText(card(2), `bound`)
	owner.send("Text", "one datagram")
	owner.waitText(card(2), `Received\s*12 bytes in 1 datagram\b`)
	owner.run(browsertest.Click(card(1, "button", "Close")))
	owner.waitText(card(1), `closed by you`)

	// The watcher sees it all, the same events in the same order.
	watcher.waitText(card(1), `closed`)
	watcher.waitText(card(2), `Received\s*12 bytes in 1 datagram\b`)
	mine := owner.events()
	n := eachOnce(t, "the owner", mine)
	theirs := watcher.waitEvents("the watcher", n)
	for i := range n {
		if mine[i] != theirs[i] {
			t.Errorf("event %d: the owner shows %+v, the watcher %+v", i+1, mine[i], theirs[i])
		}
	}
	t.Logf("both show the same %d events", n)

	// The watcher's network drops: it comes back from the event after the
	// last it had, and misses nothing that happened meanwhile.
	wgate.close()
	watcher.waitText(q("status", "Session news"), `^The connection to the server was lost \(code 1006\)\. Reconnecting to the session you are watching`)
	owner.open("TCP server", "127.0.0.1", "0")
	owner.waitText(card(3), `listening`)
	waitLog(t, base, id, key, "the listener", func(ev map[string]any) bool { return ev["type"] == "state" && ev["state"] == "listening" })
	wgate.open()
	watcher.waitText(q("status", "Session news"), `^Reconnected: watching session `+id[:8]+` again, and no event was missed\.`)
	watcher.waitText(card(3), `listening`)
	mine = owner.events()
	n = eachOnce(t, "the owner", mine)
	theirs = watcher.waitEvents("the watcher after its drop", n)
	for i := range n {
		if mine[i] != theirs[i] {
			t.Errorf("after the watcher's drop, event %d: the owner shows %+v, the watcher %+v", i+1, mine[i], theirs[i])
		}
	}

	// Nothing on the watcher's page would change the session.
	for _, c := range []browsertest.Target{
		q("button", "Connect"), q("button", "Listen"), q("textbox", "Message"), q("button", "Send"),
		q("button", "~Connect echo"), q("button", "Share"), q("button", "End session"),
		card(1, "button", "Close"), card(2, "button", "Close"), card(2, "button", "Send…"), card(3, "button", "Connect a client"),
		q("button", "~Start"),
	} {
		var k int
		watcher.run(browsertest.Count(c, &k))
		if k != 0 {
			t.Errorf("the watcher's page has %s", c)
		}
	}
	watcher.shots("watch-page", nil)

	// Both may download the session: its log, a capture, the code.
	for _, pg := range []*pageT{owner, watcher} {
		pg.popover("export-panel")
		for _, name := range []string{"Session log (.jsonl)", "Wireshark capture (.pcapng)", "Python script (.py)", "Go program (.go)"} {
			var href string
			pg.run(browsertest.Attr(q("dialog", "Download this session", "link", name), "href", &href))
			resp, body := get(t, base+href)
			if resp.StatusCode != 200 || len(body) == 0 {
				t.Errorf("%s: GET %s: %d, %d bytes", name, href, resp.StatusCode, len(body))
			}
		}
	}
	owner.shot("export-panel")
	watcher.shot("export-panel-watcher")

	// A write the watcher forces on its connection is refused, and the
	// session is not touched.
	calls := func() int {
		k := 0
		for _, ev := range logOf(t, base, id, key) {
			if ev["type"] == "call" {
				k++
			}
		}
		return k
	}
	before := calls()
	var refused string
	watcher.run(chromedp.Evaluate(`(async () => {
		const conn = `+importConn+`;
		try { await conn.request({ op: "sendto", sock: 2, host: "127.0.0.1", port: 9, data: { text: "forced" } }); return "done"; }
		catch (e) { return e.code || e.message; }
	})()`, &refused, awaitPromise))
	if refused != "read_only" {
		t.Errorf("a watcher's forced send was answered %q, want read_only", refused)
	}
	watcher.run(chromedp.Evaluate(`(async () => {
		const conn = `+importConn+`;
		try { await conn.request({ op: "share", expires_s: 60 }); return "done"; } catch (e) { return e.code || e.message; }
	})()`, &refused, awaitPromise))
	if refused != "read_only" {
		t.Errorf("a watcher's share request was answered %q, want read_only", refused)
	}
	if after := calls(); after != before {
		t.Errorf("the session's log had %d calls before the watcher's writes and %d after", before, after)
	}
	for _, ev := range logOf(t, base, id, key) {
		if ev["data"] == base64.StdEncoding.EncodeToString([]byte("forced")) {
			t.Errorf("the watcher's bytes were sent: %v", ev)
		}
	}

	// Revoke: the watcher is told, and the link lets nobody in again.
	owner.popover("share-panel")
	owner.run(browsertest.Click(q("button", "Revoke watch link 1")))
	watcher.waitText(q("status", "Session news"), `^This watch link no longer works: the owner revoked this watch link\.`)
	watcher.waitText(q("status", "Connection to the server"), `^Watch link closed$`)
	owner.run(browsertest.WaitGone(q("button", "~watching")))
	owner.waitText(q("dialog", "Share this session"), `No watch links yet`)
	watcher.run(chromedp.Navigate(link))
	watcher.waitText(q("status", "Session news"), `^This watch link no longer works: `)
	watcher.shot("watch-revoked")

	// A link that expires after a second lets nobody in once it has.
	var secret string
	owner.run(chromedp.Evaluate(`(async () => {
		const conn = `+importConn+`;
		const res = await conn.request({ op: "share", expires_s: 1 });
		return res.links[res.links.length - 1].watch;
	})()`, &secret, awaitPromise))
	owner.popover("share-panel")
	owner.waitText(q("dialog", "Share this session"), `expired|No watch links yet`)
	watcher.run(chromedp.Navigate(base + "/w/" + secret))
	watcher.waitText(q("status", "Session news"), `^This watch link no longer works: this watch link expired`)

	// Ending the session closes its sockets, and says so to its watchers.
	owner.popover("share-panel")
	owner.run(browsertest.Click(q("button", "Create watch link")))
	owner.run(browsertest.Value(q("textbox", "~Watch link"), &link))
	watcher.run(chromedp.Navigate(link))
	watcher.waitText(q("status", "Connection to the server"), `^Watching · session `)
	owner.run(browsertest.Click(q("button", "End session")))
	owner.waitText(q("dialog", "End this session?"), `Its 2 open sockets are closed at once`)
	owner.shot("end-confirm")
	owner.run(browsertest.Click(q("button", "End the session")))
	owner.waitText(q("status", "Session news"), `^You ended the session\. The server closed its 2 open sockets\.`)
	owner.waitText(card(2), `closed: you ended the session`)
	watcher.waitText(q("status", "Session news"), `^The session ended: .*\. Its sockets are closed, and there is nothing more to watch\.`)
	watcher.waitText(card(2), `closed`)
	if logOf(t, base, id, key) != nil {
		t.Errorf("the log of an ended session is still served")
	}
	owner.shots("ended-owner", nil)
	watcher.shots("ended-watcher", nil)
	owner.run(browsertest.Click(q("button", "Start a new session")))
	owner.waitText(q("status", "Connection to the server"), `^Connected · session`)
	if again, _ := owner.owned(); again == id {
		t.Errorf("Start a new session came back to the ended session")
	}
	owner.noProblems()
	watcher.noProblems()
}

// TestPageResume: the page's WebSocket drops (the network, not the page):
// the session and its sockets stay, what happens meanwhile is logged, and
// the page comes back to it with every event once, in order; its sockets
// still work. A reload comes back to it too. A page away longer than the
// grace period finds its session ended, and says so plainly.
func TestPageResume(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	relay := startGate(t, strings.TrimPrefix(base, "http://"))
	p := openPage(t, "http://"+relay.addr)
	p.allow(`WebSocket connection to .* failed|Failed to load resource`)
	p.showKernel()
	id, key := p.owned()

	p.run(browsertest.Click(q("button", "~Connect echo TCP 127.0.0.1:")))
	p.waitText(card(1), `established`)
	p.send("Text", "one")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 3 bytes: one")))
	p.open("TCP server", "127.0.0.1", "0")
	p.waitText(card(2), `listening`)
	port := p.localPort(2)

	// The network drops; the page says its session is kept, and for how long.
	relay.close()
	p.waitText(q("status", "Session news"), `^The connection to the server was lost \(code 1006\)\. Your session and its 2 open sockets are kept for 2:00 while the page reconnects\.`)
	p.waitText(q("status", "Connection to the server"), `^Reconnecting to your session`)
	retry := p.eval(`document.getElementById("conn-retry").textContent`)
	if !regexp.MustCompile(`your sockets stay open for [12]:\d\d`).MatchString(retry) {
		t.Errorf("while away, the header says %q", retry)
	}
	p.shot("resume-away")

	// Meanwhile a client connects to the listener and sends.
	c, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("while away")); err != nil {
		t.Fatal(err)
	}
	away := waitLog(t, base, id, key, "the bytes sent while the page was away", func(ev map[string]any) bool {
		return ev["type"] == "data" && ev["data"] == base64.StdEncoding.EncodeToString([]byte("while away"))
	})

	// Back: every event once, the ones from while it was away included.
	relay.open()
	p.waitText(q("status", "Session news"), `^Reconnected to your session \(`+id[:8]+`\): no event was missed`)
	p.waitText(q("status", "Connection to the server"), `^Connected · session `+id[:8])
	p.waitText(card(3), `Received\s*10 bytes in 1 read\b`)
	p.waitEvents("the page after the drop", away)
	if s := p.text(card(1)); strings.Contains(s, "earlier session") {
		t.Errorf("after coming back, socket 1 is of an earlier session: %q", s)
	}

	// Its sockets still work: the echo answers, the accepted connection sends.
	p.run(browsertest.Click(card(1, "button", "Send…")))
	p.send("Text", "two")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 3 bytes: two")))
	p.run(browsertest.Click(card(3, "button", "Send…")))
	p.send("Text", "back")
	buf := make([]byte, 4)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "back" {
		t.Fatalf("the client read %q, %v; want the page's \"back\"", buf, err)
	}
	p.waitText(card(3), `Sent\s*4 bytes in 1 send\b`)
	eachOnce(t, "the page after sending", p.events())

	// A reload comes back to the session: the same sockets, every event.
	last := waitLog(t, base, id, key, "the page's last send", func(ev map[string]any) bool { return ev["type"] == "sent" && ev["sock"] == 3.0 })
	p.run(chromedp.Reload())
	p.waitText(q("status", "Connection to the server"), `^Connected · session `+id[:8])
	p.showKernel()
	p.waitText(card(1), `established`)
	p.waitText(card(2), `listening`)
	p.waitText(card(3), `Received\s*10 bytes in 1 read\b`)
	p.waitText(card(3), `Sent\s*4 bytes in 1 send\b`)
	p.waitEvents("the reloaded page", last)
	if again, _ := p.owned(); again != id {
		t.Fatalf("the reloaded page shows session %s, want %s", again, id)
	}
	p.run(browsertest.Click(card(1, "button", "Send…")))
	p.send("Text", "three")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 5 bytes: three")))
	p.noProblems()
}

// TestPageResumeSync: a page reloaded after more history than the server
// keeps (hosted mode keeps 64 KiB) gets the sockets' state at the first
// event kept (sync, docs/protocol.md §15.3), then every event from there,
// once and in order: the cards are whole, the counts right.
func TestPageResumeSync(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free", "-mode", "hosted")
	p := openPage(t, base)
	p.showKernel()
	id, key := p.owned()
	p.run(browsertest.Click(q("button", "~Connect echo TCP 127.0.0.1:")))
	p.waitText(card(1), `established`)
	// 4 × 40,000 bytes each way: more than the log keeps.
	var sent string
	p.run(chromedp.Evaluate(`(async () => {
		const conn = `+importConn+`;
		for (let i = 0; i < 4; i++) await conn.request({ op: "send", sock: 1, data: { text: String(i).repeat(40000) } });
		return "ok";
	})()`, &sent, awaitPromise))
	p.waitText(card(1), `Received\s*160,000 bytes`)
	p.waitText(card(1), `Sent\s*160,000 bytes in 4 sends\b`)
	evs := logOf(t, base, id, key)
	last := int(evs[len(evs)-1]["seq"].(float64))

	p.run(chromedp.Reload())
	p.waitText(q("status", "Connection to the server"), `^Connected · session `+id[:8])
	p.showKernel()
	p.waitText(card(1), `established`)
	p.waitText(card(1), `Received\s*160,000 bytes`)
	p.waitText(card(1), `Sent\s*160,000 bytes in 4 sends\b`)
	var rows []tlRow
	for range 200 {
		if rows = p.events(); len(rows) > 0 && rows[len(rows)-1].Seq >= last {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(rows) == 0 || rows[0].Seq <= 1 {
		t.Fatalf("after the reload the traffic view starts at %v: the server kept every event, the test sent too little", rows[:min(1, len(rows))])
	}
	for i, r := range rows {
		if r.Seq != rows[0].Seq+i {
			t.Fatalf("after the sync, event %d of the view is seq %d, want %d", i, r.Seq, rows[0].Seq+i)
		}
	}
	t.Logf("the reloaded page shows events %d…%d", rows[0].Seq, rows[len(rows)-1].Seq)
	p.send("Text", "after")
	p.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 5 bytes: after")))
	p.waitText(card(1), `Received\s*160,005 bytes`)
	p.noProblems()
}

// TestPageResumeTooLate: a page away longer than the grace period comes
// back to a session that has ended: it says why, that its sockets were
// closed, and starts a new session when asked.
func TestPageResumeTooLate(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free", "-grace", "1s")
	relay := startGate(t, strings.TrimPrefix(base, "http://"))
	p := openPage(t, "http://"+relay.addr)
	p.allow(`WebSocket connection to .* failed|Failed to load resource`)
	id, key := p.owned()
	p.run(browsertest.Click(q("button", "~Connect echo TCP 127.0.0.1:")))
	p.waitText(card(1), `established`)

	relay.close()
	p.waitText(q("status", "Session news"), `kept for 0:01 while the page reconnects`)
	// The session ends when its grace runs out: its log is gone.
	for logOf(t, base, id, key) != nil {
		time.Sleep(50 * time.Millisecond)
	}
	relay.open()
	p.waitText(q("status", "Session news"), `^The session ended: .*sockets were closed\. The server closed its 1 open socket\.`)
	p.waitText(q("status", "Connection to the server"), `^Session ended$`)
	p.waitText(card(1), `closed by the server: the session ended`)
	p.shot("resume-too-late")
	var stored string
	p.run(chromedp.Evaluate(`sessionStorage.getItem("sp.key.`+id+`") || ""`, &stored))
	if stored != "" {
		t.Errorf("the page still keeps the key of its ended session")
	}
	p.run(browsertest.Click(q("button", "Start a new session")))
	p.waitText(q("status", "Connection to the server"), `^Connected · session`)
	if again, _ := p.owned(); again == id {
		t.Errorf("Start a new session came back to the ended session")
	}
	p.noProblems()
}

// TestPageNotYours: a session's page opened without its key (another
// browser) says whose it is and offers a session of one's own; with the key
// (a page given it), it takes the session over, and the first page says
// so, and can take it back.
func TestPageNotYours(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "free")
	owner := openPage(t, base)
	id, key := owner.owned()
	owner.run(browsertest.Click(q("button", "~Connect echo TCP 127.0.0.1:")))
	owner.waitText(card(1), `established`)

	other := &pageT{t: t, b: browsertest.Start(t, 90*time.Second), base: base}
	other.run(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/s/"+id))
	other.waitText(q("status", "Session news"), `^This session belongs to another page: .* ask its owner for a watch link\.`)
	other.waitText(q("status", "Connection to the server"), `^Not connected$`)
	var cards int
	other.run(browsertest.Count(card(1), &cards))
	if cards != 0 {
		t.Errorf("a page without the key shows the session's sockets")
	}
	other.shot("not-yours")

	// With the key, the other page takes the session over.
	other.run(chromedp.Evaluate(`sessionStorage.setItem("sp.key.`+id+`", "`+key+`")`, nil), chromedp.Reload())
	other.waitText(q("status", "Connection to the server"), `^Connected · session `+id[:8])
	other.waitText(card(1), `established`)
	owner.waitText(q("status", "Session news"), `^Another page took over this session`)
	owner.waitText(q("status", "Connection to the server"), `^Open in another page$`)
	owner.shot("taken-over")
	owner.run(browsertest.Click(q("button", "Take it back here")))
	owner.waitText(q("status", "Connection to the server"), `^Connected · session `+id[:8])
	owner.waitText(q("status", "Session news"), `^Reconnected to your session`)
	other.waitText(q("status", "Session news"), `^Another page took over this session`)
	owner.send("Text", "mine again")
	owner.run(browsertest.Wait(q("list", "Events", "button", "~socket 1 received 10 bytes: mine again")))

	// A session of one's own instead.
	other.run(browsertest.Click(q("button", "Start a new session")))
	other.waitText(q("status", "Connection to the server"), `^Connected · session`)
	if mine, _ := other.owned(); mine == id {
		t.Errorf("Start a new session came back to the owner's session")
	}
	owner.waitText(q("status", "Connection to the server"), `^Connected · session `+id[:8])
	owner.noProblems()
	other.noProblems()
}

// popover opens the panel id (a popover) if it is not open: the way its
// header button does, without closing it when it is.
func (p *pageT) popover(id string) {
	p.t.Helper()
	var open bool
	p.run(chromedp.Evaluate(`document.getElementById("`+id+`").matches(":popover-open")`, &open))
	if !open {
		button := map[string]string{"share-panel": "Share", "export-panel": "Export", "end-panel": "End session"}[id]
		p.run(browsertest.Click(q("button", button)))
	}
}

// show opens the panel id (a popover), whatever the page's language.
func (p *pageT) show(id string) {
	p.t.Helper()
	p.run(chromedp.Evaluate(`(() => { const p = document.getElementById("`+id+`"); if (!p.matches(":popover-open")) p.showPopover(); })()`, nil))
}

// shots saves screenshots of what the page shows at 768 and 1440 px wide,
// light and dark, in English and Korean. show, if not nil, brings back
// what the shot is of (an open panel).
func (p *pageT) shots(name string, show func()) {
	p.t.Helper()
	for _, lang := range []string{"en", "ko"} {
		p.setLang(lang)
		for _, theme := range []string{"light", "dark"} {
			p.run(chromedp.Evaluate(`document.documentElement.dataset.theme = "`+theme+`"`, nil))
			for _, w := range []int64{768, 1440} {
				p.run(chromedp.EmulateViewport(w, 900))
				if show != nil {
					show()
				}
				p.shot(fmt.Sprintf("%s-%d-%s-%s", name, w, theme, lang))
			}
		}
	}
	p.setLang("en")
	p.run(chromedp.Evaluate(`delete document.documentElement.dataset.theme`, nil), chromedp.EmulateViewport(1280, 800))
}

// setLang switches the page's language with its switcher.
func (p *pageT) setLang(lang string) {
	p.t.Helper()
	p.run(chromedp.Evaluate(`(() => { const s = document.getElementById("lang"); if (s.value !== "`+lang+`") { s.value = "`+lang+`"; s.dispatchEvent(new Event("change")); } })()`, nil))
	for range 200 {
		if p.eval(`document.documentElement.lang`) == lang {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	p.t.Fatalf("the page did not switch to %s", lang)
}
