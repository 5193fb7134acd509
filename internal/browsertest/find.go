package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Finding elements the way a person and a screen reader do: by ARIA role and
// accessible name, in the browser's own accessibility tree
// (Accessibility.queryAXTree), never by CSS selector.
//
// Nodes are named by their backend node id throughout. This file never calls
// DOM.getDocument: Chromium then discards every node id it has handed out,
// including the document root chromedp keeps, and chromedp's own selectors
// (chromedp.ByQuery) would wait forever afterwards.

// pollInterval is how often a waiting action looks again.
const pollInterval = 25 * time.Millisecond

// maxCandidates is how many nodes an error lists.
const maxCandidates = 10

// Target names an element by role and accessible name, optionally inside
// other elements: Q("region", "Sockets", "article", "Socket 3", "button",
// "Close") is the button named "Close" inside the article named "Socket 3"
// inside the region named "Sockets".
type Target struct {
	steps []step
}

// step is one (role, name) pair of a Target.
type step struct {
	role string // "" matches any role
	name string // exact, or a substring after "~"
}

// Q returns the Target described by pairs of (role, name). A name matches
// exactly, so "" matches only an element without a name; a name starting
// with "~" matches by substring ("~Socket 3" matches "Socket 3 · TCP
// connection", and "~" alone matches any name). The role "" matches any role.
// Each pair is looked for inside the single element the pair before it
// found. Q panics unless it gets at least one whole pair.
func Q(roleName ...string) Target {
	if len(roleName) == 0 || len(roleName)%2 != 0 {
		panic(fmt.Sprintf("browsertest.Q(%q): want pairs of (role, name)", roleName))
	}
	var t Target
	for i := 0; i < len(roleName); i += 2 {
		t.steps = append(t.steps, step{role: roleName[i], name: roleName[i+1]})
	}
	return t
}

// String describes the target for error messages, as in
// `region "Sockets" > button "Close"`; any role is written "*".
func (t Target) String() string {
	parts := make([]string, len(t.steps))
	for i, s := range t.steps {
		parts[i] = s.String()
	}
	return strings.Join(parts, " > ")
}

func (s step) String() string {
	role := s.role
	if role == "" {
		role = "*"
	}
	return fmt.Sprintf("%s %q", role, s.name)
}

func (s step) matches(name string) bool {
	if sub, ok := strings.CutPrefix(s.name, "~"); ok {
		return strings.Contains(name, sub)
	}
	return name == s.name
}

// Click waits until t matches exactly one element, scrolls it into view and
// clicks the middle of its box with the mouse.
func Click(t Target) chromedp.Action {
	return t.act("click", func(ctx context.Context, id cdp.BackendNodeID) error {
		if err := dom.ScrollIntoViewIfNeeded().WithBackendNodeID(id).Do(ctx); err != nil {
			return err
		}
		quads, err := dom.GetContentQuads().WithBackendNodeID(id).Do(ctx)
		if err != nil {
			return err
		}
		if len(quads) == 0 || len(quads[0]) != 8 {
			return errors.New("it has no box on the page to click")
		}
		q := quads[0]
		x, y := (q[0]+q[2]+q[4]+q[6])/4, (q[1]+q[3]+q[5]+q[7])/4
		return chromedp.MouseClickXY(x, y).Do(ctx)
	})
}

// Focus waits until t matches exactly one element and focuses it.
func Focus(t Target) chromedp.Action {
	return t.act("focus", focus)
}

func focus(ctx context.Context, id cdp.BackendNodeID) error {
	return dom.Focus().WithBackendNodeID(id).Do(ctx)
}

// Fill waits until t matches exactly one text field (an <input> or
// <textarea>: role textbox, searchbox, spinbutton or combobox), focuses it,
// selects all and types text over it, so that the page sees an 'input' event
// as it would from a person. An empty text clears the field and fires
// 'input'. Fill fails if the page saw no 'input' event.
func Fill(t Target, text string) chromedp.Action {
	return t.act("fill", func(ctx context.Context, id cdp.BackendNodeID) error {
		// The listener marks the element under a symbol the page can't
		// collide with; the check below reads and removes the mark.
		const prepare = `function(text = "") {
			if (!("value" in this) || typeof this.select !== "function") {
				throw new Error("<" + this.localName + "> is not a text field" +
					(this.localName === "select" ? " (use Select)" : ""));
			}
			const seen = Symbol.for("browsertest.input");
			this[seen] = false;
			this.addEventListener("input", () => { this[seen] = true; }, {once: true});
			this.focus();
			this.select();
			if (text === "") {
				this.value = "";
				this.dispatchEvent(new InputEvent("input", {bubbles: true, inputType: "deleteContentBackward"}));
			}
		}`
		// The check waits for the event rather than assume it came with
		// Input.insertText's answer.
		const check = `function() {
			const seen = Symbol.for("browsertest.input");
			const fired = this[seen];
			delete this[seen];
			return fired || new Promise(resolve => this.addEventListener("input", () => resolve(true), {once: true}));
		}`
		if err := callOn(ctx, id, prepare, nil, text); err != nil {
			return err
		}
		if text != "" {
			if err := input.InsertText(text).Do(ctx); err != nil {
				return err
			}
		}
		var fired bool
		if err := callOn(ctx, id, check, &fired); err != nil {
			return fmt.Errorf("waiting for the 'input' event (is the field read-only?): %w", err)
		}
		return nil
	})
}

// keys are the names Press knows, besides single characters.
var keys = map[string]string{
	"Enter":      kb.Enter,
	"Tab":        kb.Tab,
	"Escape":     kb.Escape,
	"Backspace":  kb.Backspace,
	"Delete":     kb.Delete,
	"ArrowUp":    kb.ArrowUp,
	"ArrowDown":  kb.ArrowDown,
	"ArrowLeft":  kb.ArrowLeft,
	"ArrowRight": kb.ArrowRight,
	"Home":       kb.Home,
	"End":        kb.End,
	"PageUp":     kb.PageUp,
	"PageDown":   kb.PageDown,
}

var modifiers = map[string]input.Modifier{
	"Shift":   input.ModifierShift,
	"Control": input.ModifierCtrl,
	"Alt":     input.ModifierAlt,
	"Meta":    input.ModifierMeta,
}

// Press waits until t matches exactly one element, focuses it and presses
// key on the keyboard (key down, the character if any, key up) while holding
// modifiers. A key is a single character or one of "Enter", "Tab",
// "Escape", "Backspace", "Delete", "ArrowUp", "ArrowDown", "ArrowLeft",
// "ArrowRight", "Home", "End", "PageUp", "PageDown"; a modifier is one of
// "Shift", "Control", "Alt", "Meta". Press panics on any other name.
func Press(t Target, key string, modifierNames ...string) chromedp.Action {
	k, ok := keys[key]
	if !ok {
		if len([]rune(key)) != 1 {
			panic(fmt.Sprintf("browsertest.Press: unknown key %q", key))
		}
		k = key
	}
	var mods []input.Modifier
	for _, name := range modifierNames {
		m, ok := modifiers[name]
		if !ok {
			panic(fmt.Sprintf("browsertest.Press: unknown modifier %q", name))
		}
		mods = append(mods, m)
	}
	// chromedp.KeyEvent sends the text of Enter in a separate "char"
	// event, which a keydown handler's preventDefault doesn't stop, as it
	// would in a person's browser. So the key down carries its text, as
	// Puppeteer sends it.
	events := kb.Encode([]rune(k)[0])
	down, up := *events[0], *events[len(events)-1]
	down.Type = input.KeyRawDown
	if len(events) == 3 {
		down.Type, down.Text, down.UnmodifiedText = input.KeyDown, events[1].Text, events[1].UnmodifiedText
	}
	for _, m := range mods {
		down.Modifiers |= m
		up.Modifiers |= m
	}
	return t.act("press "+key, func(ctx context.Context, id cdp.BackendNodeID) error {
		if err := focus(ctx, id); err != nil {
			return err
		}
		if err := down.Do(ctx); err != nil {
			return err
		}
		return up.Do(ctx)
	})
}

// Select waits until t matches exactly one <select> (role combobox), focuses
// it and chooses the option whose label is optionLabel, firing 'input' and
// 'change' as a person's choice would. The error lists the labels there are.
func Select(t Target, optionLabel string) chromedp.Action {
	return t.act("select", func(ctx context.Context, id cdp.BackendNodeID) error {
		const choose = `function(label = "") {
			if (this.localName !== "select") {
				throw new Error("<" + this.localName + "> is not a <select>");
			}
			const labels = Array.from(this.options, o => o.label);
			const i = labels.indexOf(label);
			if (i < 0) {
				throw new Error("no option " + JSON.stringify(label) + " among " + JSON.stringify(labels));
			}
			if (this.disabled || this.options[i].disabled) {
				throw new Error("option " + JSON.stringify(label) + " is disabled");
			}
			this.focus();
			this.selectedIndex = i;
			this.dispatchEvent(new Event("input", {bubbles: true}));
			this.dispatchEvent(new Event("change", {bubbles: true}));
		}`
		return callOn(ctx, id, choose, nil, optionLabel)
	})
}

// Text waits until t matches exactly one element and sets out to the text a
// person reads there (innerText: hidden parts left out), trimmed and with
// each run of whitespace made one space.
func Text(t Target, out *string) chromedp.Action {
	return t.act("read text of", func(ctx context.Context, id cdp.BackendNodeID) error {
		return callOn(ctx, id, `function() { return this.innerText.replace(/\s+/g, " ").trim(); }`, out)
	})
}

// Value waits until t matches exactly one element and sets out to its
// value, as of an <input>, <textarea> or <select>.
func Value(t Target, out *string) chromedp.Action {
	return t.act("read value of", func(ctx context.Context, id cdp.BackendNodeID) error {
		const value = `function() {
			if (!("value" in this)) {
				throw new Error("<" + this.localName + "> has no value");
			}
			return String(this.value);
		}`
		return callOn(ctx, id, value, out)
	})
}

// Attr waits until t matches exactly one element and sets out to its
// attribute called name, or to "" if it has none.
func Attr(t Target, name string, out *string) chromedp.Action {
	return t.act("read attribute "+name+" of", func(ctx context.Context, id cdp.BackendNodeID) error {
		return callOn(ctx, id, `function(name = "") { return this.getAttribute(name) ?? ""; }`, out, name)
	})
}

// Wait waits until t matches exactly one element.
func Wait(t Target) chromedp.Action {
	return t.act("wait for", func(context.Context, cdp.BackendNodeID) error { return nil })
}

// WaitGone waits until t matches no element: the last step finds none, or
// a step before it does.
func WaitGone(t Target) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := t.poll(ctx, func(f found) bool { return len(f.ids) == 0 })
		if err != nil {
			return fmt.Errorf("browsertest: wait for no %w", err)
		}
		return nil
	})
}

// Count sets n to how many elements t matches now, without waiting. It is 0
// if a step before the last finds nothing, and an error if one finds several.
func Count(t Target, n *int) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		f, err := t.find(ctx)
		if err != nil {
			return fmt.Errorf("browsertest: count %s: %w", t, err)
		}
		if f.step < len(t.steps)-1 && len(f.ids) > 1 {
			return fmt.Errorf("browsertest: count %s", t.explain(f))
		}
		*n = len(f.ids)
		return nil
	})
}

// act returns the action that waits until t matches exactly one element and
// then does do to it.
func (t Target) act(verb string, do func(context.Context, cdp.BackendNodeID) error) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		f, err := t.poll(ctx, func(f found) bool { return f.step == len(t.steps)-1 && len(f.ids) == 1 })
		if err != nil {
			return fmt.Errorf("browsertest: %s %w", verb, err)
		}
		if err := do(ctx, f.ids[0]); err != nil {
			return fmt.Errorf("browsertest: %s %s: %w", verb, t, err)
		}
		return nil
	})
}

// found is the outcome of one search.
type found struct {
	step       int                 // the last step searched for
	ids        []cdp.BackendNodeID // what it matched
	candidates []axNode            // nodes with its role in its scope (named ones for any role)
	more       int                 // how many candidates were left out
}

// poll searches every pollInterval until the outcome is ok or ctx ends. The
// error then explains the last outcome.
func (t Target) poll(ctx context.Context, ok func(found) bool) (found, error) {
	var last found
	var lastErr error
	searched := false
	for {
		f, err := t.find(ctx)
		if err == nil && ok(f) {
			return f, nil
		}
		if ctx.Err() == nil { // else the search was cut short
			last, lastErr, searched = f, err, true
		}
		select {
		case <-ctx.Done():
			switch {
			case !searched:
				return found{}, fmt.Errorf("%s: %w before the first search", t, ctx.Err())
			case lastErr != nil:
				return found{}, fmt.Errorf("%s: %w (last search: %v)", t, ctx.Err(), lastErr)
			}
			return found{}, fmt.Errorf("%s: %w", t.explain(last), ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// explain says which step of t found what, and what else is there.
func (t Target) explain(f found) string {
	s := t.steps[f.step]
	var b strings.Builder
	fmt.Fprintf(&b, "%s: step %d (%s) matched %d", t, f.step+1, s, len(f.ids))
	scope := "on the page"
	if f.step > 0 {
		scope = "in " + t.steps[f.step-1].String()
	}
	what := "role " + s.role
	if s.role == "" {
		what = "named nodes"
	}
	fmt.Fprintf(&b, "; %s, %s:", scope, what)
	if len(f.candidates) == 0 {
		b.WriteString(" none")
	}
	for i, n := range f.candidates {
		if i > 0 {
			b.WriteByte(',')
		}
		if s.role == "" {
			fmt.Fprintf(&b, " %s", n.role)
		}
		fmt.Fprintf(&b, " %q", n.name)
	}
	if f.more > 0 {
		fmt.Fprintf(&b, " and %d more", f.more)
	}
	return b.String()
}

// find searches once, step by step, each inside the single match of the step
// before, and stops at the first step that doesn't match exactly one node
// or at the last step.
func (t Target) find(ctx context.Context) (found, error) {
	scope, err := documentID(ctx)
	if err != nil {
		return found{}, err
	}
	var f found
	for i, s := range t.steps {
		nodes, err := query(ctx, scope, s.role)
		if err != nil {
			return found{}, err
		}
		f = found{step: i}
		for _, n := range nodes {
			if s.matches(n.name) {
				f.ids = append(f.ids, n.id)
			}
			if s.role == "" && n.name == "" {
				continue
			}
			if len(f.candidates) < maxCandidates {
				f.candidates = append(f.candidates, n)
			} else {
				f.more++
			}
		}
		if len(f.ids) != 1 {
			break
		}
		scope = f.ids[0]
	}
	return f, nil
}

// documentID returns the current document's backend node id, fresh each
// time, since navigation replaces the document.
func documentID(ctx context.Context) (cdp.BackendNodeID, error) {
	doc, exc, err := runtime.Evaluate("document").Do(ctx)
	if err != nil {
		return 0, err
	}
	if exc != nil {
		return 0, exc
	}
	defer runtime.ReleaseObject(doc.ObjectID).Do(ctx)
	n, err := dom.DescribeNode().WithObjectID(doc.ObjectID).Do(ctx)
	if err != nil {
		return 0, err
	}
	return n.BackendNodeID, nil
}

// axNode is a node of the accessibility tree that a person can meet.
type axNode struct {
	id   cdp.BackendNodeID
	role string
	name string
}

// query returns the nodes with role ("" for any) under scope, in document
// order, leaving out scope itself, nodes ignored for accessibility, and
// Chromium's internal roles such as StaticText. It filters names itself, so
// that the same answer lists the candidates when none matches.
func query(ctx context.Context, scope cdp.BackendNodeID, role string) ([]axNode, error) {
	q := accessibility.QueryAXTree().WithBackendNodeID(scope)
	if role != "" {
		q = q.WithRole(role)
	}
	nodes, err := q.Do(ctx)
	if err != nil {
		return nil, err
	}
	var out []axNode
	for _, n := range nodes {
		if n.Ignored || n.BackendDOMNodeID == 0 || n.BackendDOMNodeID == scope ||
			n.Role == nil || n.Role.Type != accessibility.ValueTypeRole {
			continue
		}
		out = append(out, axNode{id: n.BackendDOMNodeID, role: valueString(n.Role), name: valueString(n.Name)})
	}
	return out, nil
}

// valueString returns v's value if it is a string, else "".
func valueString(v *accessibility.Value) string {
	var s string
	if v != nil {
		_ = json.Unmarshal(v.Value, &s)
	}
	return s
}

// callOn calls the JavaScript function fn with this bound to the element id
// and args, and stores what it returns (or what the promise it returns
// resolves to) in res, nil to ignore it. An exception becomes an error
// carrying its message. An argument "" arrives as undefined (cdproto omits
// an empty CallArgument value), so string parameters default to "".
func callOn(ctx context.Context, id cdp.BackendNodeID, fn string, res any, args ...any) error {
	obj, err := dom.ResolveNode().WithBackendNodeID(id).Do(ctx)
	if err != nil {
		return err
	}
	defer runtime.ReleaseObject(obj.ObjectID).Do(ctx)
	on := func(p *runtime.CallFunctionOnParams) *runtime.CallFunctionOnParams {
		return p.WithObjectID(obj.ObjectID).WithAwaitPromise(true)
	}
	err = chromedp.CallFunctionOn(fn, res, on, args...).Do(ctx)
	if exc, ok := errors.AsType[*runtime.ExceptionDetails](err); ok && exc.Exception != nil {
		msg, _, _ := strings.Cut(exc.Exception.Description, "\n")
		return errors.New(strings.TrimPrefix(msg, "Error: "))
	}
	return err
}
