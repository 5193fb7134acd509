package session

// Stubs for the toolkit's operations (protocol.md §16), each replaced by its
// real implementation in its own file; this file goes when the last does.

func (s *Session) notBuilt(req Req, op string, sock int) {
	s.log.Append(&Event{Type: TypeCall, Op: op, Sock: sock, ID: req.ID, Origin: req.Origin})
	s.fail(req, op, sock, Errorf(CodeBadState, "%s is not built yet", op))
}

// Repeat sends a.Data a.Count times on sock (protocol.md §16.2).
func (s *Session) Repeat(req Req, sock int, a RepeatArgs) { s.notBuilt(req, "repeat", sock) }

// Stop ends the repeat running on sock.
func (s *Session) Stop(req Req, sock int) { s.notBuilt(req, "stop", sock) }

// SendTemplate is Send with a template, expanded once (protocol.md §16.1).
func (s *Session) SendTemplate(req Req, sock int, t *Template) { s.notBuilt(req, "send", sock) }

// SendToTemplate is SendTo with a template, expanded once.
func (s *Session) SendToTemplate(req Req, sock int, a SendToArgs, t *Template) {
	s.notBuilt(req, "sendto", sock)
}

// heard gives a data event on sk to sk's responders (protocol.md §16.3).
// It is called after the event is logged, without sk.mu held.
func (s *Session) heard(sk *Socket, e *Event) {}

// Respond adds a responder rule to sock (protocol.md §16.3).
func (s *Session) Respond(req Req, sock int, a RuleArgs) { s.notBuilt(req, "respond", sock) }

// Unrespond removes rule from sock.
func (s *Session) Unrespond(req Req, sock, rule int) { s.notBuilt(req, "unrespond", sock) }

// JoinGroup makes the UDP socket sock a member of a multicast group
// (op "join") or ends that (op "leave"); protocol.md §16.5.
func (s *Session) JoinGroup(req Req, op string, sock int, a GroupArgs) { s.notBuilt(req, op, sock) }

// SetMulticastIf is setsockopt IP_MULTICAST_IF with an interface name.
func (s *Session) SetMulticastIf(req Req, sock int, iface string) {
	s.notBuilt(req, "setsockopt", sock)
}
