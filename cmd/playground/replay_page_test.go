package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/socketplayground/playground/internal/browsertest"
	"github.com/socketplayground/playground/internal/export"
	"github.com/socketplayground/playground/internal/learn"
	"github.com/socketplayground/playground/internal/session"
)

// Record and replay (issue 8): a session's log, downloaded as JSON lines,
// opened in the replay page with its own file chooser and played into the
// same views as a live session. The logs are the lessons' recordings
// (internal/learn/testdata/lessons), made from real sessions over loopback.

// lessonLog is a recorded lesson's log file.
func lessonLog(name string) string {
	return filepath.Join("..", "..", "internal", "learn", "testdata", "lessons", name+".pass.jsonl")
}

// replayPage is a tab on /replay in one language, with its catalog.
type replayPage struct {
	*learnPage
}

// openReplay opens the replay page in lang at a width × height window.
func openReplay(t *testing.T, base, lang string, w, h int64) *replayPage {
	t.Helper()
	p := &pageT{t: t, b: browsertest.Start(t, 240*time.Second), base: base}
	rp := &replayPage{&learnPage{pageT: p, m: learn.Messages(lang)}}
	p.run(
		chromedp.EmulateViewport(w, h),
		chromedp.Navigate(base+"/replay?lang="+lang),
		browsertest.Wait(q("button", rp.T("replay.open"))),
	)
	return rp
}

// upload hands files to the page's file chooser (#rp-file), as a person
// choosing it in the dialog would.
func (p *replayPage) upload(path string) {
	p.t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		p.t.Fatal(err)
	}
	p.run(chooseFile("rp-file", abs))
}

// chooseFile hands the file at path to the file input with id, as a
// person choosing it in the dialog would.
func chooseFile(id, path string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		obj, exc, err := runtime.Evaluate(`document.getElementById(` + strconv.Quote(id) + `)`).Do(ctx)
		if err != nil {
			return err
		}
		if exc != nil || obj.ObjectID == "" {
			return fmt.Errorf("the page has no #%s: %v", id, exc)
		}
		node, err := dom.DescribeNode().WithObjectID(obj.ObjectID).Do(ctx)
		if err != nil {
			return err
		}
		return dom.SetFileInputFiles([]string{path}).WithBackendNodeID(node.BackendNodeID).Do(ctx)
	})
}

// control is a button of the player's, named by its message key.
func (p *replayPage) control(key string) browsertest.Target {
	return q("group", p.T("replay.controls"), "button", p.T(key))
}

// slider is the player's position slider.
func (p *replayPage) slider() browsertest.Target { return q("slider", p.T("replay.position")) }

// position is what the slider says: "00:00.018 of 00:00.018, event 62 of 62".
func (p *replayPage) position() string {
	p.t.Helper()
	var s string
	p.run(browsertest.Attr(p.slider(), "aria-valuetext", &s))
	return s
}

// at reads the number of events applied and the number in the log from
// the slider's text.
func (p *replayPage) at() (k, n int) {
	p.t.Helper()
	s := p.position()
	m := regexp.MustCompile(`(\d[\d,]*)\D+?(\d[\d,]*)\D*$`).FindStringSubmatch(s)
	if m == nil {
		p.t.Fatalf("the slider says %q: no event count", s)
	}
	atoi := func(x string) int {
		var v int
		fmt.Sscan(strings.ReplaceAll(x, ",", ""), &v)
		return v
	}
	k, n = atoi(m[1]), atoi(m[2])
	if p.m["replay.event"] != "" && strings.Index(p.m["replay.event"], "{n}") < strings.Index(p.m["replay.event"], "{k}") {
		k, n = n, k // Korean says the count first
	}
	return k, n
}

// waitAt waits until k events of the log are applied.
func (p *replayPage) waitAt(k int) {
	p.t.Helper()
	p.waitAtWithin(k, 20*time.Second)
}

func (p *replayPage) waitAtWithin(k int, within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, n := p.at()
		if got == k {
			return
		}
		if time.Now().After(deadline) {
			p.shot("failure-" + p.t.Name())
			p.t.Fatalf("the replay is at event %d of %d, want %d; page errors: %q", got, n, k, p.b.Problems())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// row is an event as the traffic view lists it.
type row struct {
	Seq  int    `json:"seq"`
	Type string `json:"type"`
	Op   string `json:"op"`
	Sock int    `json:"sock"`
}

// rowsJS scrolls the traffic view from top to bottom and lists every row
// it draws (the list draws only the rows in view), in order.
const rowsJS = `(async () => {
  const sc = document.getElementById("tl-scroll");
  const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const seen = new Map();
  let size = -1;
  const look = () => {
    for (const el of document.querySelectorAll("#tl-list .tl-item")) {
      size = Number(el.getAttribute("aria-setsize"));
      seen.set(Number(el.getAttribute("aria-posinset")), { seq: Number(el.dataset.seq || 0), type: el.dataset.type || "", op: el.dataset.op || "", sock: Number(el.dataset.sock || 0) });
    }
  };
  // A pass from the top to the bottom; again if a frame drew the list
  // elsewhere meanwhile (it follows the newest while at the bottom).
  for (let pass = 0; pass < 4; pass++) {
    sc.scrollTop = 0;
    await frame();
    await frame();
    for (let guard = 0; guard < 100000; guard++) {
      look();
      if (sc.scrollTop + sc.clientHeight >= sc.scrollHeight - 1) break;
      sc.scrollTop += Math.max(28, sc.clientHeight - 56);
      await frame();
    }
    if (size <= 0 || seen.size === size) break;
  }
  if (size < 0) size = 0;
  const rows = [...seen.entries()].sort((a, b) => a[0] - b[0]);
  if (rows.length !== size || rows.some(([i], j) => i !== j + 1)) return { error: "the list has " + size + " rows; saw positions " + rows.map(([i]) => i).join(",") };
  return { rows: rows.map(([, r]) => r) };
})()`

// rows reads every row of the traffic view.
func (p *replayPage) rows() []row {
	p.t.Helper()
	var got struct {
		Rows  []row  `json:"rows"`
		Error string `json:"error"`
	}
	p.run(chromedp.Evaluate(rowsJS, &got, func(e *runtime.EvaluateParams) *runtime.EvaluateParams { return e.WithAwaitPromise(true) }))
	if got.Error != "" {
		p.t.Fatalf("reading the traffic view: %s", got.Error)
	}
	return got.Rows
}

// wantRows are the first k events of a log as the traffic view should list them.
func wantRows(evs []*session.Event, k int) []row {
	out := make([]row, 0, k)
	for _, e := range evs[:k] {
		out = append(out, row{Seq: int(e.Seq), Type: string(e.Type), Op: e.Op, Sock: e.Sock})
	}
	return out
}

// sameRows fails the test unless the traffic view lists want, and says
// where the lists part.
func (p *replayPage) sameRows(what string, want []row) {
	p.t.Helper()
	got := p.rows()
	if slices.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	at := func(rs []row) string {
		if i < len(rs) {
			return fmt.Sprintf("%+v", rs[i])
		}
		return "nothing"
	}
	p.shot("failure-rows-" + p.t.Name())
	p.t.Errorf("%s: the traffic view lists %d events, the log has %d; they part at row %d: page %s, log %s", what, len(got), len(want), i+1, at(got), at(want))
}

// cardState is a socket card: its socket and the state it shows.
type cardState struct {
	Key   string `json:"key"`
	State string `json:"state"`
}

const cardsJS = `[...document.querySelectorAll("#cards .sock-card")].map((c) => ({ key: c.dataset.key.split(":")[1], state: ((c.className.match(/(?:^| )st-(\S+)/) || [])[1]) || "" }))`

// cards reads the sockets' cards, sorted by socket.
func (p *replayPage) cards() []cardState {
	p.t.Helper()
	var got []cardState
	p.run(chromedp.Evaluate(cardsJS, &got))
	slices.SortFunc(got, func(a, b cardState) int {
		return strings.Compare(fmt.Sprintf("%08s", a.Key), fmt.Sprintf("%08s", b.Key))
	})
	return got
}

// sameCards waits until the cards are want (cards are drawn up to a tenth
// of a second after the events that change their counts and addresses),
// and fails the test if they never are.
func (p *replayPage) sameCards(what string, want []cardState) {
	p.t.Helper()
	var got []cardState
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if got = p.cards(); slices.Equal(got, want) {
			return
		}
	}
	p.t.Errorf("%s: the cards are %v, the log says %v", what, got, want)
}

// sameCardTexts waits until the cards say want (cardTexts), and fails the
// test if they never do.
func (p *replayPage) sameCardTexts(what string, want []string) {
	p.t.Helper()
	var got []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if got = p.cardTexts(); slices.Equal(got, want) {
			return
		}
	}
	p.t.Errorf("%s: the cards say\n%q\nwant\n%q", what, got, want)
}

// settledCardTexts reads what the cards say once it stops changing.
func (p *replayPage) settledCardTexts() []string {
	p.t.Helper()
	last := p.cardTexts()
	for range 200 {
		time.Sleep(150 * time.Millisecond)
		now := p.cardTexts()
		if slices.Equal(now, last) {
			return now
		}
		last = now
	}
	return last
}

// wantCards are the sockets the first k events of a log make known, with
// the state the last of them left each in, as the page's model folds them
// (static/js/store.js): a call or a state makes a socket known, and so
// does an accept's child; a connect's socket is "connecting" until a state
// says otherwise, another with no state yet is "opening".
func wantCards(evs []*session.Event, k int) []cardState {
	state := map[int]string{}
	for _, e := range evs[:k] {
		if e.Sock == 0 {
			continue
		}
		_, known := state[e.Sock]
		switch {
		case e.Type == session.TypeState:
			state[e.Sock] = e.State
		case e.Type == session.TypeCall && !known && e.Op == "connect":
			state[e.Sock] = "connecting"
		case e.Type == session.TypeCall && !known:
			state[e.Sock] = ""
		case e.Type == session.TypeResult && e.Op == "accept" && e.Child != 0 && known:
			if _, ok := state[e.Child]; !ok {
				state[e.Child] = ""
			}
		}
	}
	var out []cardState
	for s, st := range state {
		if st == "" {
			st = "opening"
		}
		out = append(out, cardState{Key: fmt.Sprint(s), State: st})
	}
	slices.SortFunc(out, func(a, b cardState) int {
		return strings.Compare(fmt.Sprintf("%08s", a.Key), fmt.Sprintf("%08s", b.Key))
	})
	return out
}

// readLogFile reads a log as the server's export package does.
func readLogFile(t *testing.T, path string) (export.LogHeader, []*session.Event) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, evs, err := export.ReadLog(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return h, evs
}

// writeLog writes a log file with events made from evs by edit.
func writeLog(t *testing.T, name string, evs []*session.Event) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := export.WriteLog(f, "replay-test", evs); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeFile writes text to a file of that name.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// retimed copies evs with new times: event i comes gap after the one
// before it, and the one after event silenceAfter (1-based) comes silence
// later instead (0: no silence).
func retimed(evs []*session.Event, gap time.Duration, silenceAfter int, silence time.Duration) []*session.Event {
	out := make([]*session.Event, len(evs))
	t := evs[0].T
	for i, e := range evs {
		c := *e
		if i > 0 {
			if i == silenceAfter {
				t += silence.Microseconds()
			} else {
				t += gap.Microseconds()
			}
		}
		c.T = t
		out[i] = &c
	}
	return out
}

// cardTextJS reads what each card says of its socket that does not
// depend on the clock: its title, state, what its state means, addresses
// and counts (not its age, nor a countdown).
const cardTextJS = `[...document.querySelectorAll("#cards .sock-card")].map((c) => [
  c.querySelector("h3").innerText,
  c.querySelector(".badge").innerText,
  c.querySelector(".state-help").innerText,
  ...[...c.querySelectorAll(":scope > .facts > dd[data-field]")].filter((d) => ["local", "remote", "in", "out"].includes(d.dataset.field)).map((d) => d.innerText),
].join(" | "))`

func (p *replayPage) cardTexts() []string {
	p.t.Helper()
	var got []string
	p.run(chromedp.Evaluate(cardTextJS, &got))
	return got
}

// silenceJS says what the "skipping silence" sign says, when it shows.
const silenceJS = `(() => { const s = document.getElementById("rp-silence"); return s.hidden ? "" : s.textContent; })()`

// TestPageReplay replays recorded logs in the page: the page applies
// exactly the file's events, in order, none missing or repeated, and the
// cards end as the log says; scrubbing back and stepping rebuild the views
// as a fresh play stopped at the same event would have them; at 1× the
// events come over time, and pause holds them; a file that is not a log
// is refused with the line that is wrong, and the page goes on working.
func TestPageReplay(t *testing.T) {
	base, _ := startProgram(t, "-addr", "127.0.0.1:0", "-services", "none")

	t.Run("logs", func(t *testing.T) {
		p := openReplay(t, base, "en", 1440, 900)
		p.run(browsertest.Click(q("checkbox", p.T("traffic.kind.kernel"))))
		for i, name := range []string{"chat", "bytes", "udp", "half-close", "blocking", "backlog", "refused", "stream", "http"} {
			path := lessonLog(name)
			_, evs := readLogFile(t, path)
			p.upload(path)
			if i == 0 {
				p.run(browsertest.Select(q("combobox", p.T("replay.speed")), p.T("replay.instant")))
			}
			p.waitAt(len(evs))
			p.sameRows(name, wantRows(evs, len(evs)))
			p.sameCards(name, wantCards(evs, len(evs)))
			switch name {
			case "chat":
				// The lesson the recording did, ticked off as its events say.
				p.waitText(p.column(), regexp.QuoteMeta(p.T("lesson.chat.title"))+`[\s\S]*`+regexp.QuoteMeta(p.T("learn.lesson.status_done")))
				var n int
				p.run(browsertest.Count(p.column("button", p.T("learn.lesson.start")), &n))
				if n != 0 {
					t.Errorf("a replay offers to start a lesson")
				}
			case "refused":
				// The refused connection's error card, with its cause.
				p.waitText(p.column("region", p.T("learn.errors.heading")), `ECONNREFUSED`)
			}
			// Nothing on the cards acts on a session.
			for _, key := range []string{"card.close", "card.send", "card.shutdown", "card.step"} {
				var n int
				p.run(browsertest.Count(q("button", p.T(key)), &n))
				if n != 0 {
					t.Errorf("%s: %d %q buttons on a replay's cards", name, n, p.T(key))
				}
			}
		}
		p.noProblems()
	})

	t.Run("scrub", func(t *testing.T) {
		// The chat lesson, its events evenly spread, so that the middle of
		// the slider is the middle of the session: five sockets, a lesson
		// half done.
		_, evs := readLogFile(t, lessonLog("chat"))
		path := writeLog(t, "chat-even.jsonl", retimed(evs, 10*time.Millisecond, 0, 0))
		p := openReplay(t, base, "en", 1440, 900)
		p.run(browsertest.Click(q("checkbox", p.T("traffic.kind.kernel"))))
		p.upload(path)
		p.run(browsertest.Select(q("combobox", p.T("replay.speed")), p.T("replay.instant")))
		p.waitAt(len(evs))
		// Back to the middle with the mouse, as a person drags the slider.
		p.run(browsertest.Click(p.slider()))
		k, n := p.at()
		if n != len(evs) || k <= 0 || k >= n {
			t.Fatalf("after a click in the middle of the slider the replay is at event %d of %d", k, n)
		}
		p.sameRows("scrubbed back", wantRows(evs, k))
		p.sameCards(fmt.Sprintf("scrubbed back to event %d", k), wantCards(evs, k))
		scrubbed := p.settledCardTexts()
		lesson := p.text(p.column("tabpanel", p.T("learn.tab.lessons")))
		p.shot("replay-scrubbed")

		// One event back and forward again.
		p.run(browsertest.Click(p.control("replay.back")))
		p.waitAt(k - 1)
		p.sameRows("one back", wantRows(evs, k-1))
		p.sameCards("one event back", wantCards(evs, k-1))
		p.run(browsertest.Click(p.control("replay.forward")))
		p.waitAt(k)
		p.sameRows("one forward", wantRows(evs, k))
		p.sameCardTexts("one back and one forward", scrubbed)

		// A fresh play of the same log stopped at the same event: slowly
		// (one event a second), paused at once, then stepped to event k,
		// never going back.
		f := openReplay(t, base, "en", 1440, 900)
		f.run(browsertest.Click(q("checkbox", f.T("traffic.kind.kernel"))))
		f.upload(writeLog(t, "chat-slow.jsonl", retimed(evs, time.Second, 0, 0)))
		f.run(browsertest.Click(f.control("replay.pause_label")))
		k0, _ := f.at()
		if k0 > k {
			t.Fatalf("the slow replay was at event %d when paused, past event %d", k0, k)
		}
		for range k - k0 {
			f.run(browsertest.Click(f.control("replay.forward")))
		}
		f.waitAt(k)
		f.sameRows("a fresh play", wantRows(evs, k))
		f.sameCardTexts(fmt.Sprintf("a fresh play stopped at event %d, against the scrubbed replay", k), scrubbed)
		f.waitText(f.column("tabpanel", f.T("learn.tab.lessons")), `^`+regexp.QuoteMeta(lesson)+`$`)
		p.noProblems()
		f.noProblems()
	})

	t.Run("timing", func(t *testing.T) {
		// The chat lesson's events a tenth of a second apart, with half a
		// minute of silence in the middle: at 1× they come over time, the
		// silence is shortened, and pause holds them.
		_, evs := readLogFile(t, lessonLog("chat"))
		slow := retimed(evs, 100*time.Millisecond, 31, 30*time.Second)
		p := openReplay(t, base, "en", 1440, 900)
		p.run(browsertest.Click(q("checkbox", p.T("traffic.kind.kernel"))))
		p.upload(writeLog(t, "chat-1x.jsonl", slow))
		k1, n := p.at()
		if k1 >= n {
			t.Fatalf("right after opening, every event of a 9 s recording is applied (%d of %d)", k1, n)
		}
		// The events come over time, in order.
		last := k1
		for last < 10 {
			k, _ := p.at()
			if k < last {
				t.Fatalf("the replay went back from event %d to %d by itself", last, k)
			}
			last = k
			time.Sleep(20 * time.Millisecond)
		}
		p.run(browsertest.Click(p.control("replay.pause_label")))
		k2, _ := p.at()
		time.Sleep(400 * time.Millisecond)
		if k3, _ := p.at(); k3 != k2 {
			t.Errorf("paused at event %d, the replay went on to %d", k2, k3)
		}
		if k2 >= n {
			t.Fatalf("paused at the end")
		}
		p.sameRows("paused", wantRows(evs, k2))
		// Playing on: the half minute of silence is skipped, and said so.
		p.run(browsertest.Click(p.control("replay.play_label")))
		want := p.T("replay.silence", "s", "30")
		seen := false
		for k := k2; k < n; k, _ = p.at() {
			var s string
			p.run(chromedp.Evaluate(silenceJS, &s))
			if s != "" {
				seen = true
				if s != want {
					t.Errorf("the silence sign says %q, want %q", s, want)
				}
			}
			time.Sleep(15 * time.Millisecond)
		}
		if !seen {
			t.Errorf("the 30 s silence was never shown as skipped")
		}
		p.waitAt(n)
		p.sameRows("played on", wantRows(evs, n))
		p.noProblems()
	})

	t.Run("controls", func(t *testing.T) {
		_, evs := readLogFile(t, lessonLog("chat"))
		p := openReplay(t, base, "en", 1440, 900)
		p.run(browsertest.Click(q("checkbox", p.T("traffic.kind.kernel"))))
		// A minute long at 1×: four at a quarter speed.
		p.upload(writeLog(t, "chat-minute.jsonl", retimed(evs, time.Second, 0, 0)))
		p.run(browsertest.Select(q("combobox", p.T("replay.speed")), "0.25×"))
		// Space, on the slider, pauses and plays.
		p.run(browsertest.Press(p.slider(), " "))
		p.run(browsertest.Wait(p.control("replay.play_label")))
		k1, n := p.at()
		if k1 >= n {
			t.Fatalf("a four-minute replay is at its end")
		}
		p.run(browsertest.Press(p.slider(), " "))
		p.run(browsertest.Wait(p.control("replay.pause_label")))
		// Instant plays what is left at once.
		p.run(browsertest.Select(q("combobox", p.T("replay.speed")), p.T("replay.instant")))
		p.waitAt(n)
		p.run(browsertest.Wait(p.control("replay.again_label")))
		// Keys: Home and End on the slider, arrows anywhere but in a field.
		p.run(browsertest.Press(p.slider(), "Home"))
		p.waitAt(0)
		p.sameRows("at the start", nil)
		p.sameCards("at the start", nil)
		p.run(browsertest.Press(p.slider(), "ArrowRight"))
		p.waitAt(1)
		p.run(browsertest.Press(p.control("replay.play_label"), "ArrowRight"))
		p.waitAt(2)
		p.run(browsertest.Press(p.control("replay.play_label"), "ArrowLeft"))
		p.waitAt(1)
		p.run(browsertest.Press(p.slider(), "End"))
		p.waitAt(n)
		p.sameRows("at the end", wantRows(evs, n))
		// 16×: the minute plays in under four seconds.
		p.run(
			browsertest.Select(q("combobox", p.T("replay.speed")), "16×"),
			browsertest.Click(p.control("replay.again_label")),
		)
		p.waitAt(n)

		// A file dropped on the page is opened.
		bytesLog, err := os.ReadFile(lessonLog("bytes"))
		if err != nil {
			t.Fatal(err)
		}
		_, bytesEvs := readLogFile(t, lessonLog("bytes"))
		text, _ := json.Marshal(string(bytesLog))
		var shown bool
		p.run(chromedp.Evaluate(`(() => {
			const dt = new DataTransfer();
			dt.items.add(new File([`+string(text)+`], "bytes.pass.jsonl"));
			document.body.dispatchEvent(new DragEvent("dragenter", { dataTransfer: dt, bubbles: true, cancelable: true }));
			const shown = !document.getElementById("rp-drop").hidden;
			document.body.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
			return shown && document.getElementById("rp-drop").hidden;
		})()`, &shown))
		if !shown {
			t.Errorf("dragging a file over the page did not show where to drop it, or dropping it did not hide that")
		}
		p.waitAt(len(bytesEvs))
		if name := p.eval(`document.getElementById("rp-name").textContent`); !strings.HasPrefix(name, "bytes.pass.jsonl") {
			t.Errorf("after the drop the player names %q, want bytes.pass.jsonl", name)
		}

		// The player follows a switch of language.
		ko := &replayPage{&learnPage{pageT: p.pageT, m: learn.Messages("ko")}}
		p.run(browsertest.Select(q("combobox", p.T("lang.label")), "한국어"))
		ko.run(browsertest.Wait(ko.control("replay.again_label")))
		if pos, want := ko.position(), ko.T("replay.event", "k", len(bytesEvs), "n", len(bytesEvs)); !strings.HasSuffix(pos, want) {
			t.Errorf("in Korean the slider says %q, want it to end %q", pos, want)
		}
		p.noProblems()
	})

	t.Run("synced", func(t *testing.T) {
		// A log that begins at event 31 (the events before were no longer
		// kept): its header has the sockets as they were then (§15.6),
		// which the page shows before the first event, as a full replay
		// shows them after event 30.
		_, evs := readLogFile(t, lessonLog("chat"))
		const first = 31
		var folded session.Sockets
		for _, e := range evs[:first-1] {
			folded.Fold(e)
		}
		var open []session.SockState
		for _, st := range folded.List() {
			if st.State != "closed" && st.State != "failed" {
				open = append(open, st)
			}
		}
		path := filepath.Join(t.TempDir(), "chat-from-31.jsonl")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := export.WriteLogWith(f, export.LogHeader{Session: "learn-chat-pass", First: first, Sockets: open}, evs[first-1:]); err != nil {
			t.Fatal(err)
		}
		f.Close()

		full := openReplay(t, base, "en", 1440, 900)
		full.upload(lessonLog("chat"))
		full.run(browsertest.Select(q("combobox", full.T("replay.speed")), full.T("replay.instant")))
		full.waitAt(len(evs))
		atEnd := full.settledCardTexts()
		full.run(browsertest.Press(full.slider(), "Home"))
		full.waitAt(0)
		for range first - 1 {
			full.run(browsertest.Press(full.slider(), "ArrowRight"))
		}
		full.waitAt(first - 1)
		before := full.settledCardTexts()

		p := openReplay(t, base, "en", 1440, 900)
		p.run(browsertest.Click(q("checkbox", p.T("traffic.kind.kernel"))))
		p.upload(path)
		p.run(browsertest.Select(q("combobox", p.T("replay.speed")), p.T("replay.instant")))
		p.waitAt(len(evs) - first + 1)
		p.sameRows("a log from event 31", wantRows(evs[first-1:], len(evs)-first+1))
		p.sameCardTexts("a log from event 31, at its end, against the whole log's end", atEnd)
		p.run(browsertest.Press(p.slider(), "Home"))
		p.waitAt(0)
		p.sameRows("a log from event 31, at its start", nil)
		p.sameCardTexts("a log from event 31, at its start, against the whole log after event 30", before)
		full.noProblems()
		p.noProblems()
	})

	t.Run("refused", func(t *testing.T) {
		p := openReplay(t, base, "en", 1440, 900)
		good, err := os.ReadFile(lessonLog("bytes"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(good), "\n")
		header := lines[0]
		ev := func(seq int, rest string) string {
			return fmt.Sprintf(`{"seq":%d,"t":1795565625587743,"type":"call","sock":1,"id":"q%d","op":"connect","host":"127.0.0.1","port":7%s}`+"\n", seq, seq, rest)
		}
		for _, c := range []struct{ name, text, why string }{
			{"empty.jsonl", "", p.T("replay.error.empty")},
			{"notes.txt", "some notes\nabout sockets\n", p.T("replay.error.not_log")},
			{"other.jsonl", `{"format":"something-else","version":1}` + "\n" + ev(1, ""), p.T("replay.error.format", "format", "something-else")},
			{"future.jsonl", `{"format":"socket-playground-log","version":2}` + "\n" + ev(1, ""), p.T("replay.error.version", "version", "2")},
			{"cut.jsonl", header + ev(1, "") + ev(2, "") + `{"seq":3,"t":17955656255`, p.T("replay.error.json", "line", 4)},
			{"garbled.jsonl", header + lines[1] + lines[2] + "not json at all\n" + strings.Join(lines[3:], ""), p.T("replay.error.json", "line", 4)},
			{"noseq.jsonl", header + ev(1, "") + `{"t":1,"type":"call"}` + "\n", p.T("replay.error.event", "line", 3)},
			{"order.jsonl", header + ev(1, "") + ev(3, "") + ev(2, ""), p.T("replay.error.order", "line", 4, "seq", 2, "prev", 3)},
			{"data.jsonl", header + ev(1, "") + `{"seq":2,"t":1,"type":"data","sock":1,"op":"recv","len":2,"data":"%%%"}` + "\n", p.T("replay.error.data", "line", 3)},
		} {
			p.upload(writeFile(t, c.name, c.text))
			want := p.T("replay.failed", "name", c.name, "why", c.why)
			p.waitText(q("alert", "~"), `^`+regexp.QuoteMeta(want)+`$`)
		}
		// The page goes on working: a good file opens, and the message goes.
		_, evs := readLogFile(t, lessonLog("bytes"))
		p.upload(lessonLog("bytes"))
		p.run(browsertest.WaitGone(q("alert", "~")))
		p.waitAt(len(evs))
		// A bad file while a good one is open leaves the good one open.
		p.upload(writeFile(t, "cut.jsonl", header+`{"seq":1`))
		p.waitText(q("alert", "~"), regexp.QuoteMeta(p.T("replay.kept")))
		if k, n := p.at(); k != len(evs) || n != len(evs) {
			t.Errorf("after a bad file the replay is at event %d of %d, want %d of %d", k, n, len(evs), len(evs))
		}
		p.noProblems()
	})

	t.Run("code", func(t *testing.T) {
		_, evs := readLogFile(t, lessonLog("chat"))
		p := openReplay(t, base, "en", 1440, 900)
		p.upload(lessonLog("chat"))
		p.run(browsertest.Select(q("combobox", p.T("replay.speed")), p.T("replay.instant")))
		p.waitAt(len(evs))
		p.run(browsertest.Click(q("tab", p.T("code.tab"))))
		region := q("region", p.T("code.region"))
		p.waitText(region, regexp.QuoteMeta(`s1 = socket.create_connection(("127.0.0.1", 41787))`))
		// The calls shown are the ones made up to where the replay is.
		p.run(browsertest.Press(p.slider(), "Home"))
		p.waitAt(0)
		p.waitText(region, `^`+regexp.QuoteMeta(p.T("code.empty"))+`$`)
		for range 3 {
			p.run(browsertest.Press(p.slider(), "ArrowRight"))
		}
		p.waitAt(3)
		p.waitText(region, regexp.QuoteMeta(`s1 = socket.create_connection`))
		var href string
		p.run(browsertest.Attr(q("link", p.T("code.downloadPython")), "href", &href))
		if !strings.HasPrefix(href, "blob:") {
			t.Errorf("the replay's Python download is %q, want the script itself (blob:)", href)
		}
		p.noProblems()
	})

	t.Run("capture", func(t *testing.T) {
		// The recording's traffic as a Wireshark capture, made by the
		// server from the file (POST /replay/capture.pcapng).
		_, evs := readLogFile(t, lessonLog("chat"))
		dir := t.TempDir()
		p := openReplay(t, base, "en", 1440, 900)
		p.run(browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(dir))
		p.upload(lessonLog("chat"))
		p.waitAt(len(evs))
		p.run(browsertest.Click(q("button", p.T("replay.capture"))))
		path := filepath.Join(dir, "chat.pass.pcapng")
		var data []byte
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
				data = b
				break
			}
			if time.Now().After(deadline) {
				entries, _ := os.ReadDir(dir)
				t.Fatalf("no %s was saved; the download folder has %v; page errors: %q", path, entries, p.b.Problems())
			}
		}
		// A pcapng file begins with a Section Header Block: type 0x0A0D0D0A.
		if len(data) < 4 || string(data[:4]) != "\x0a\x0d\x0d\x0a" {
			t.Errorf("the capture begins % x, not a pcapng section header (0a 0d 0d 0a)", data[:min(8, len(data))])
		}
		p.noProblems()
	})

	t.Run("looks", func(t *testing.T) {
		_, evs := readLogFile(t, lessonLog("refused"))
		en, ko := learn.Messages("en"), learn.Messages("ko")
		for _, lang := range []string{"en", "ko"} {
			for _, w := range []int64{768, 1440} {
				p := openReplay(t, base, lang, w, 900)
				p.shot(fmt.Sprintf("replay-%s-%d-empty", lang, w))
				p.upload(lessonLog("refused"))
				p.run(browsertest.Select(q("combobox", p.T("replay.speed")), p.T("replay.instant")))
				p.waitAt(len(evs))
				// Back a little, so that something is open and the buttons are all on.
				for range 6 {
					p.run(browsertest.Press(p.slider(), "ArrowLeft"))
				}
				p.waitAt(len(evs) - 6)
				p.fits(fmt.Sprintf("%s at %d px", lang, w))
				for _, theme := range []string{"light", "dark"} {
					p.run(chromedp.Evaluate(`document.documentElement.dataset.theme = "`+theme+`"`, nil))
					var low []string
					p.run(chromedp.Evaluate(contrastJS, &low))
					if len(low) > 0 {
						t.Errorf("%s, %d px, %s theme: text below WCAG AA contrast:\n%s", lang, w, theme, strings.Join(low, "\n"))
					}
					p.shot(fmt.Sprintf("replay-%s-%d-%s", lang, w, theme))
				}
				if lang == "ko" && w == 1440 {
					// What was read out is the server's own message (in English),
					// not the page's words.
					p.run(chromedp.Evaluate(`document.getElementById("announcer").textContent = ""`, nil))
					p.untranslated(en, ko)
				}
				if w == 1440 {
					p.focusRing([]string{"rp-open", "rp-start", "rp-back", "rp-play", "rp-fwd", "rp-end", "rp-slider", "rp-speed", "rp-skip"})
				}
				p.noProblems()
				p.b.Stop()
			}
		}
	})

	t.Run("large", func(t *testing.T) {
		// A 50 MB log: a UDP socket that received tens of thousands of
		// datagrams. It opens without holding the page for long, plays
		// through at once, and seeks back and forth; the figures are logged.
		path, n := bigLog(t, 50<<20)
		p := openReplay(t, base, "en", 1440, 900)
		p.run(chromedp.Evaluate(`window.__long = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push([e.startTime, e.duration]); }).observe({ type: "longtask", buffered: false }); 0`, nil))
		began := time.Now()
		p.upload(path)
		p.run(browsertest.Select(q("combobox", p.T("replay.speed")), p.T("replay.instant")))
		p.waitAtWithin(n, 2*time.Minute)
		played := time.Since(began)
		var m struct {
			Read, Load, ReadAt string
			Long               [][2]float64
			Heap               float64
			Events             int
		}
		p.run(chromedp.Evaluate(`(() => { const b = document.getElementById("replay"); return { Read: b.dataset.readMs, ReadAt: b.dataset.readAt, Load: b.dataset.loadMs, Long: window.__long, Heap: (performance.memory ? performance.memory.usedJSHeapSize : 0) / 1048576, Events: Number(b.dataset.events) }; })()`, &m))
		if m.Events != n {
			t.Errorf("the page read %d events of %d", m.Events, n)
		}
		var readAt float64
		fmt.Sscan(m.ReadAt, &readAt)
		var reading, playing []float64
		for _, l := range m.Long {
			if l[0] < readAt {
				reading = append(reading, l[1])
			} else {
				playing = append(playing, l[1])
			}
		}
		most := func(xs []float64) float64 {
			if len(xs) == 0 {
				return 0
			}
			return slices.Max(xs)
		}
		// Seeking: back to the middle (the views are made again from the
		// first event), then forward to the end.
		seek := func(js string) float64 {
			var ms float64
			p.run(chromedp.Evaluate(`(() => { const s = document.getElementById("rp-slider"); const t0 = performance.now(); `+js+`; return performance.now() - t0; })()`, &ms))
			return ms
		}
		back := seek(`s.value = String(Number(s.max) / 2); s.dispatchEvent(new Event("input", { bubbles: true })); s.dispatchEvent(new Event("change", { bubbles: true }))`)
		k, _ := p.at()
		fwd := seek(`document.getElementById("rp-end").click()`)
		p.waitAt(n)
		t.Logf("a %d MB log of %d events: read in %s ms (%d tasks over 50 ms, the longest %.0f ms); first drawn in %s ms; played through at Instant %.1f s after the upload (%d tasks over 50 ms, the longest %.0f ms); seek back to event %d: %.0f ms, forward to the end: %.0f ms; JS heap %.0f MB",
			fileSize(t, path)>>20, n, m.Read, len(reading), most(reading), m.Load, played.Seconds(), len(playing), most(playing), k, back, fwd, m.Heap)
		p.noProblems()
	})

	t.Run("link", func(t *testing.T) {
		p := openPage(t, base)
		m := learn.Messages("en")
		var href, target string
		p.run(
			browsertest.Attr(q("link", m["replay.link"]), "href", &href),
			browsertest.Attr(q("link", m["replay.link"]), "target", &target),
		)
		if href != "/replay" || target != "_blank" {
			t.Errorf("the live page's recording link goes to %q (target %q), want /replay in a new tab", href, target)
		}
		p.noProblems()
	})
}

// focusRing tabs through the page from the top until each of ids has had
// the focus, and fails for one that showed no focus ring.
func (p *replayPage) focusRing(ids []string) {
	p.t.Helper()
	p.run(chromedp.Evaluate(`document.activeElement.blur(); window.scrollTo(0, 0); document.querySelector(".skip").focus()`, nil))
	reached := map[string]bool{}
	for range 150 {
		p.run(chromedp.ActionFunc(func(ctx context.Context) error {
			if err := input.DispatchKeyEvent(input.KeyDown).WithKey("Tab").WithCode("Tab").WithWindowsVirtualKeyCode(9).Do(ctx); err != nil {
				return err
			}
			return input.DispatchKeyEvent(input.KeyUp).WithKey("Tab").WithCode("Tab").WithWindowsVirtualKeyCode(9).Do(ctx)
		}))
		var f struct {
			ID      string `json:"id"`
			Outline string `json:"outline"`
		}
		p.run(chromedp.Evaluate(`(() => { const e = document.activeElement; const s = getComputedStyle(e); return { id: e.id, outline: s.outlineStyle + " " + s.outlineWidth }; })()`, &f))
		if !slices.Contains(ids, f.ID) {
			continue
		}
		reached[f.ID] = true
		if strings.HasPrefix(f.Outline, "none") || strings.HasSuffix(f.Outline, " 0px") {
			p.t.Errorf("#%s has the focus but no visible focus ring (%s)", f.ID, f.Outline)
		}
		if len(reached) == len(ids) {
			return
		}
	}
	for _, id := range ids {
		if !reached[id] {
			p.t.Errorf("Tab never reached #%s", id)
		}
	}
}

// bigLog writes a log of at least size bytes: a UDP socket bound, then
// datagrams of 400 random bytes received a tenth of a millisecond apart,
// with a kernel-free mix of sends. It returns the file and its events.
func bigLog(t *testing.T, size int64) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(8, 8))
	t0 := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC).UnixMicro()
	evs := []*session.Event{
		{Seq: 1, T: t0, Type: session.TypeCall, Sock: 1, ID: "1", Op: "bind", Host: "127.0.0.1"},
		{Seq: 2, T: t0 + 40, Type: session.TypeState, Sock: 1, Kind: "udp", State: "bound", Local: "127.0.0.1:41234"},
		{Seq: 3, T: t0 + 60, Type: session.TypeResult, Sock: 1, ID: "1", Op: "bind", Addr: "127.0.0.1:0", Local: "127.0.0.1:41234"},
	}
	written := int64(0)
	for seq := uint64(4); written < size; seq++ {
		payload := make([]byte, 400)
		for i := range payload {
			payload[i] = byte(rnd.IntN(256))
		}
		e := &session.Event{Seq: seq, T: t0 + int64(seq)*100, Type: session.TypeData, Sock: 1, Op: "recvfrom", Auto: true, Peer: "127.0.0.1:7007", Len: len(payload), Data: payload}
		if seq%100 == 0 {
			e = &session.Event{Seq: seq, T: t0 + int64(seq)*100, Type: session.TypeSent, Sock: 1, ID: fmt.Sprint(seq), Op: "sendto", Peer: "127.0.0.1:7007", Len: len(payload), Data: payload}
		}
		evs = append(evs, e)
		written += 120 + int64(len(payload))*4/3
	}
	if err := export.WriteLog(f, "big", evs); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, len(evs)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
