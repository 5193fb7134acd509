package web

import (
	"fmt"
	"slices"
	"strings"
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

// Reach says in a sentence or two what a hosted session may reach.
func (h *Hosted) Reach() string {
	s := fmt.Sprintf("This playground is shared and public. Sockets reach the built-in services below and servers listening on 127.0.0.1 ports %d–%d, yours or another visitor's", h.PoolFirst, h.PoolLast)
	if len(h.Allow) > 0 {
		s += ", and " + strings.Join(h.Allow, ", ")
	}
	return s + ". A server listens on 127.0.0.1 or ::1 with a port from that range (port 0 picks one); anything else is refused, with the reason."
}

// PageConfig is handed to the page's scripts.
type PageConfig struct {
	WebSocketPath string `json:"ws_path"`
	Subprotocol   string `json:"subprotocol"`
	Protocol      string `json:"protocol"`
	// Token binds the page's WebSocket to its cookie (see internal/server).
	Token string `json:"token,omitempty"`
}

// ServiceGroup is one service by name, with its TCP and UDP listeners on
// each address family.
type ServiceGroup struct {
	Name  string
	Addr  string // the first listener's address, to show
	About string // what it teaches; TCP's and UDP's when they differ
	Items []Service
}

// groupServices groups services by name, in the order they came.
func groupServices(ss []Service) []ServiceGroup {
	var out []ServiceGroup
	index := map[string]int{}
	for _, s := range ss {
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
		var abouts []string
		for _, s := range g.Items {
			about := strings.ToUpper(s.Proto) + ": " + s.About
			if !slices.Contains(abouts, about) {
				abouts = append(abouts, about)
			}
		}
		if len(abouts) == 1 {
			g.About = g.Items[0].About // one protocol: no need to name it
		} else {
			g.About = strings.Join(abouts, " ")
		}
	}
	return out
}
