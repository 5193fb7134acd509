package web

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/socketplayground/playground/internal/learn"
)

// Service is a built-in practice server shown on the page.
type Service struct {
	Name  string `json:"name"`
	Proto string `json:"proto"`
	Addr  string `json:"addr"`
	About string `json:"about"`
}

// PageData is what the index page shows.
type PageData struct {
	Version     string    // the build's version
	Mode        string    // "local" or "hosted"
	AssetPrefix string    // e.g. "/static/3f2a9c1b0d4e", without a trailing slash
	Services    []Service // the built-in services
	Config      PageConfig
	Hosted      *Hosted // what a hosted server lets people reach; nil in local mode

	// Lang is the page's language ("en" or "ko"), Langs the languages the
	// switcher offers (code and name in itself), and Messages the catalog
	// of Lang, which the page's scripts get too.
	Lang     string
	Langs    []Lang
	Messages map[string]string
	// Lessons is what the page's lesson panel is built from.
	Lessons any
}

// Lang is a language the page can be shown in.
type Lang struct{ Code, Name string }

// T returns the message for key in the page's language: the catalog's
// text with {name} placeholders replaced by args given as pairs.
func (d PageData) T(key string, args ...string) string {
	s, ok := d.Messages[key]
	if !ok {
		return key
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+args[i]+"}", args[i+1])
	}
	return s
}

// Hosted says what a hosted server's sessions may reach, for the page to
// tell people before they are refused.
type Hosted struct {
	PoolFirst, PoolLast int      // the loopback ports listeners get
	Allow               []string // the operator's allowlist, as rules
}

// reach is the message that says in a sentence or two what a hosted
// session may reach, and its placeholders' values as pairs.
func (h *Hosted) reach() (key string, args []string) {
	args = []string{"first", strconv.Itoa(h.PoolFirst), "last", strconv.Itoa(h.PoolLast)}
	if len(h.Allow) == 0 {
		return "page.hosted.reach", args
	}
	return "page.hosted.reach_allow", append(args, "allow", strings.Join(h.Allow, ", "))
}

// PageConfig is handed to the page's scripts.
type PageConfig struct {
	WebSocketPath string `json:"ws_path"`
	Subprotocol   string `json:"subprotocol"`
	Protocol      string `json:"protocol"`
	// Token binds the page's WebSocket to its cookie (see internal/server).
	Token string `json:"token,omitempty"`
	// Page says which page this is (docs/protocol.md §15.6): "live" (a
	// session of one's own), "watch" (someone's session, read-only) or
	// "replay" (a downloaded log, no WebSocket).
	Page string `json:"page"`
	// Session is the session a /s/{id} page resumes, if any.
	Session string `json:"session,omitempty"`
	// Watch is a watch page's link secret.
	Watch string `json:"watch,omitempty"`
}

// The pages PageConfig.Page names.
const (
	PageLive   = "live"
	PageWatch  = "watch"
	PageReplay = "replay"
)

// ServiceGroup is one service by name, with its TCP and UDP listeners on
// each address family.
type ServiceGroup struct {
	Name   string
	Addr   string  // the first listener's address, to show
	About  string  // what it teaches, in the page's language: TCP's and UDP's when they differ
	Abouts []About // the same, a message per protocol
	Items  []Service
}

// About is what a service teaches over one protocol, in the page's
// language.
type About struct {
	Proto string   // "TCP" or "UDP" when the service's protocols teach different things, else ""
	Key   string   // the message ("service.echo.tcp"), or "" for a service the catalog does not know
	Args  []string // its placeholders' values, as pairs
	Text  string
}

// serviceGroups groups the page's services by name, in the order they came.
func (d PageData) serviceGroups() []ServiceGroup {
	var out []ServiceGroup
	index := map[string]int{}
	for _, s := range d.Services {
		i, ok := index[s.Name]
		if !ok {
			i = len(out)
			index[s.Name] = i
			out = append(out, ServiceGroup{Name: s.Name, Addr: s.Addr})
		}
		g := &out[i]
		g.Items = append(g.Items, s)
	}
	for i := range out {
		g := &out[i]
		var protos []string
		for _, s := range g.Items {
			a := d.serviceAbout(s)
			a.Proto = strings.ToUpper(s.Proto)
			if !slices.Contains(protos, a.Proto) {
				protos = append(protos, a.Proto)
				g.Abouts = append(g.Abouts, a)
			}
		}
		if len(g.Abouts) == 1 {
			g.Abouts[0].Proto = "" // one protocol: no need to name it
		}
		var texts []string
		for _, a := range g.Abouts {
			if a.Proto != "" {
				texts = append(texts, a.Proto+": "+a.Text)
			} else {
				texts = append(texts, a.Text)
			}
		}
		g.About = strings.Join(texts, " ")
	}
	return out
}

// serviceAbout is what a service teaches, in the page's language: the
// message "service.<name>.<proto>". Its English is the service's own Go
// text with {placeholders} where that text has values (a rate, a share),
// and those values are read from the Go text. A service the catalog does
// not know, or whose Go text no longer reads as the English message, keeps
// its Go text.
func (d PageData) serviceAbout(s Service) About {
	key := "service." + s.Name + "." + s.Proto
	if _, ok := d.Messages[key]; !ok {
		return About{Text: s.About}
	}
	args, ok := readArgs(learn.Messages(learn.Langs[0])[key], s.About)
	if !ok {
		return About{Text: s.About}
	}
	return About{Key: key, Args: args, Text: d.T(key, args...)}
}

var placeholder = regexp.MustCompile(`\{[a-z_0-9]+\}`)

// readArgs reads text as an instance of message: the values that its
// {placeholders} stand for, as pairs, or false when text does not read as
// the message.
func readArgs(message, text string) ([]string, bool) {
	if message == "" {
		return nil, false
	}
	var pattern strings.Builder
	pattern.WriteString("^")
	var names []string
	last := 0
	for _, m := range placeholder.FindAllStringIndex(message, -1) {
		pattern.WriteString(regexp.QuoteMeta(message[last:m[0]]))
		pattern.WriteString("(.+?)")
		names = append(names, message[m[0]+1:m[1]-1])
		last = m[1]
	}
	pattern.WriteString(regexp.QuoteMeta(message[last:]) + "$")
	re, err := regexp.Compile(pattern.String())
	if err != nil {
		return nil, false
	}
	m := re.FindStringSubmatch(text)
	if m == nil {
		return nil, false
	}
	var args []string
	for i, name := range names {
		args = append(args, name, m[i+1])
	}
	return args, true
}

// serviceAction is what a service's one-click button does: the messages of
// its name and of its tooltip, and their placeholders' values.
func serviceAction(s Service) (label, title string, args []string) {
	args = []string{"name", s.Name, "button", serviceButton(s), "addr", s.Addr}
	if s.Proto == "udp" {
		return "service.udp.label", "service.udp.title", args
	}
	return "service.connect.label", "service.connect.title", args
}

// serviceCount says how many services run, for the collapsed panel: the
// message and its placeholders' values.
func serviceCount(ss []Service) (key string, args []string) {
	names := map[string]bool{}
	for _, s := range ss {
		names[s.Name] = true
	}
	n := len(names)
	if n == 1 {
		return "services.count.one", []string{"n", "1"}
	}
	return "services.count.other", []string{"n", strconv.Itoa(n)}
}

// serviceButton is a service button's short text: its protocol, and the
// address family when it is IPv6.
func serviceButton(s Service) string {
	t := strings.ToUpper(s.Proto)
	if strings.HasPrefix(s.Addr, "[") {
		t += " IPv6"
	}
	return t
}

// defaultConnectPort is the TCP echo's port, so that "Connect" works at once.
func defaultConnectPort(d PageData) string {
	for _, s := range d.Services {
		if s.Proto == "tcp" {
			if i := strings.LastIndexByte(s.Addr, ':'); i >= 0 {
				return s.Addr[i+1:]
			}
		}
	}
	return ""
}

// i18nArgs is a data-i18n-args attribute: the pairs (name, value, ...) as
// a JSON object, for i18n.js to fill the placeholders when it words the
// element again in another language.
func i18nArgs(pairs ...string) string {
	if len(pairs) == 0 {
		return ""
	}
	m := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}
