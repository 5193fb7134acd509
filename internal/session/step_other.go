//go:build !linux

package session

import "time"

// Step mode makes its system calls with Linux's interfaces; elsewhere every
// step-mode call is refused with this error, and live mode works as ever.
func errStepUnsupported() *Error {
	return Errorf(CodeBadState, "step mode needs a server running on Linux")
}

func (s *Session) stepUnsupported(req Req, op string, sock int) {
	s.log.Append(&Event{Type: TypeCall, Op: op, Sock: sock, ID: req.ID, Origin: req.Origin})
	s.fail(req, op, sock, errStepUnsupported())
}

func (s *Session) Socket(req Req, a SocketArgs) int { s.stepUnsupported(req, "socket", 0); return 0 }
func (s *Session) Step(req Req, sock int)           { s.stepUnsupported(req, "step", sock) }
func (s *Session) SetSockOpt(req Req, sock int, option string, value int) {
	s.stepUnsupported(req, "setsockopt", sock)
}
func (s *Session) SetTimeout(req Req, sock int, t *time.Duration) {
	s.stepUnsupported(req, "settimeout", sock)
}
func (s *Session) StepBind(req Req, sock int, a ListenArgs) { s.stepUnsupported(req, "bind", sock) }
func (s *Session) StepListen(req Req, sock, backlog int)    { s.stepUnsupported(req, "listen", sock) }
func (s *Session) Accept(req Req, sock int)                 { s.stepUnsupported(req, "accept", sock) }
func (s *Session) StepConnect(req Req, sock int, a ConnectArgs) {
	s.stepUnsupported(req, "connect", sock)
}
func (s *Session) Recv(req Req, sock, n int)                    { s.stepUnsupported(req, "recv", sock) }
func (s *Session) RecvFrom(req Req, sock, n int)                { s.stepUnsupported(req, "recvfrom", sock) }
func (s *Session) stepSend(req Req, sk *Socket, data []byte)    {}
func (s *Session) stepSendTo(req Req, sk *Socket, a SendToArgs) {}
func (s *Session) stepShutdown(req Req, sk *Socket, how string) {}
func (s *Session) closeBlocked(req Req, sk *Socket) bool        { return false }
