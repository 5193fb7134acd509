package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/socketplayground/playground/internal/bridge"
)

// cookieName is the cookie that identifies a browser to the playground. The
// page's token is derived from it, so a WebSocket can prove it was opened
// by a page this server rendered for this browser.
const cookieName = "playground"

// tokens makes and checks per-page tokens: HMAC-SHA256 of the cookie under
// a key that lives as long as the process.
type tokens struct{ key []byte }

func newTokens(key []byte) *tokens {
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
	}
	return &tokens{key: key}
}

func (t *tokens) token(cookie string) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("ws:" + cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (t *tokens) valid(cookie, token string) bool {
	if cookie == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(t.token(cookie)), []byte(token))
}

// newCookieValue returns a fresh, unguessable cookie value (128 bits).
func newCookieValue() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// pageCookie returns the browser's cookie value, setting a new cookie on w
// when the request has none (or a malformed one).
func (s *server) pageCookie(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(cookieName); err == nil && len(c.Value) == 22 {
		return c.Value
	}
	v := newCookieValue()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: v, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.cfg.Mode == ModeHosted})
	return v
}

// clientIP is the address of the person behind r: the peer's address, or,
// when the peer is a trusted proxy, the nearest address in X-Forwarded-For
// that is not itself a trusted proxy. A header from any other peer is
// ignored, since anyone can write it.
func (s *server) clientIP(r *http.Request) netip.Addr {
	peer := remoteAddr(r)
	if !s.trusted(peer) {
		return peer
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a malformed hop: trust nothing further
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
	}
	return peer
}

func (s *server) trusted(a netip.Addr) bool {
	return slices.ContainsFunc(s.cfg.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(a) })
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// ipKey groups client addresses the way a session cap counts them: an IPv4
// address on its own, an IPv6 address by its /64, which one subscriber
// usually holds whole.
func ipKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// sessionCount counts open sessions (or watchers) per client and in total.
type sessionCount struct {
	mu    sync.Mutex
	total int
	perIP map[string]int
}

// admit counts a new session from key, unless that would pass perIP or
// total (a limit below 1 is no limit); it says which limit refused it.
func (c *sessionCount) admit(key string, perIP, total int) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if total > 0 && c.total >= total {
		return "sessions", false
	}
	if perIP > 0 && c.perIP[key] >= perIP {
		return "sessions_per_ip", false
	}
	c.total++
	c.perIP[key]++
	return "", true
}

func (c *sessionCount) leave(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.perIP[key]--; c.perIP[key] <= 0 {
		delete(c.perIP, key)
	}
}

// admitWS guards the WebSocket upgrade: the Origin and token rules, then
// the session caps. Every refusal is an HTTP error before the upgrade, so
// no session and no socket is ever created for it.
func (s *server) admitWS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := s.checkOrigin(r); why != "" {
			s.metrics.UpgradeRefused(why)
			s.log.Info("websocket upgrade refused", "why", why, "origin", r.Header.Get("Origin"), "client", s.clientIP(r).String())
			http.Error(w, refusals[why], http.StatusForbidden)
			return
		}
		ip := s.clientIP(r)
		ctx := bridge.WithClient(r.Context(), ip.String())
		switch bridge.Kind(r.URL.Query()) {
		case bridge.KindResume:
			// The session is counted already, from its start to its end.
		case bridge.KindWatch:
			key := ipKey(ip)
			if why, ok := s.watchers.admit(key, s.caps.WatchersPerIP, s.caps.Watchers); !ok {
				s.metrics.UpgradeRefused("watchers")
				s.log.Info("websocket upgrade refused", "why", "watchers", "client", ip.String())
				w.Header().Set("Retry-After", "30")
				msg := fmt.Sprintf("The playground has as many watchers as it may (%d). Try again in a minute.", s.caps.Watchers)
				if why == "sessions_per_ip" {
					msg = fmt.Sprintf("Too many watchers from your address: at most %d at once.", s.caps.WatchersPerIP)
				}
				http.Error(w, msg, http.StatusTooManyRequests)
				return
			}
			defer s.watchers.leave(key)
		default:
			key := ipKey(ip)
			caps := s.caps
			if why, ok := s.count.admit(key, caps.SessionsPerIP, caps.Sessions); !ok {
				s.metrics.UpgradeRefused(why)
				s.log.Info("websocket upgrade refused", "why", why, "client", ip.String())
				w.Header().Set("Retry-After", "30")
				msg := fmt.Sprintf("Too many sessions from your address: at most %d at once. Close another playground tab, or end a session, and try again.", caps.SessionsPerIP)
				if why == "sessions" {
					msg = fmt.Sprintf("The playground is full: %d sessions are open. Try again in a minute.", caps.Sessions)
				}
				http.Error(w, msg, http.StatusTooManyRequests)
				return
			}
			// The session counts until it ends, which may be after this
			// request (its grace period): the bridge gives it back.
			ctx = bridge.WithAdmission(ctx, func() { s.count.leave(key) })
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

var refusals = map[string]string{
	"origin":  "This WebSocket was opened by a page from another origin. Only the playground's own page may open one.",
	"token":   "This WebSocket carries no valid page token. Open the playground's page and connect from there.",
	"missing": "This WebSocket request has no Origin header and no page token.",
}

// checkOrigin applies the Origin and token rules, and returns "" or why
// the request is refused:
//   - an Origin must be exactly the page's own (scheme://host, or one of
//     Config.Origins); browsers always send one, so a page from another
//     site is refused here;
//   - hosted mode also wants the page's token, bound to the cookie; it is
//     what lets a program without an Origin in;
//   - local mode lets a request without Origin in: no browser sends one,
//     so it is a program on this machine, which could open sockets itself.
func (s *server) checkOrigin(r *http.Request) string {
	origin := r.Header.Get("Origin")
	if origin != "" && !s.originAllowed(r, origin) {
		return "origin"
	}
	if s.cfg.Mode != ModeHosted {
		return ""
	}
	cookie := ""
	if c, err := r.Cookie(cookieName); err == nil {
		cookie = c.Value
	}
	token := r.URL.Query().Get("token")
	if !s.tokens.valid(cookie, token) {
		if origin == "" && token == "" {
			return "missing"
		}
		return "token"
	}
	return ""
}

func (s *server) originAllowed(r *http.Request, origin string) bool {
	if len(s.cfg.Origins) > 0 {
		return slices.Contains(s.cfg.Origins, origin)
	}
	scheme := "http"
	if r.TLS != nil || (s.trusted(remoteAddr(r)) && r.Header.Get("X-Forwarded-Proto") == "https") {
		scheme = "https"
	}
	return origin == scheme+"://"+strings.ToLower(r.Host)
}
