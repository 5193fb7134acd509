package policy

import (
	"fmt"
	"net/netip"
)

// Op names the socket operation being checked.
type Op string

const (
	OpConnect Op = "connect" // dial Addr
	OpListen  Op = "listen"  // listen on Addr
	OpAccept  Op = "accept"  // accept a connection from Addr
	OpBind    Op = "bind"    // bind a UDP socket to Addr
	OpSend    Op = "send"    // send Bytes on a connected socket to Addr
	OpSendTo  Op = "sendto"  // send one datagram of Bytes to Addr
)

// Action is one operation a session wants to perform.
type Action struct {
	Session string         // the session's id
	Op      Op             // what it wants to do
	Addr    netip.AddrPort // the resolved address involved
	Bytes   int            // payload size, for send and sendto
}

// Denied is the error returned for a refused action. Reason is written for
// the person whose action was refused.
type Denied struct {
	Action Action
	Reason string
}

func (d *Denied) Error() string {
	return fmt.Sprintf("policy: %s %s refused: %s", d.Action.Op, d.Action.Addr, d.Reason)
}

// Policy is the set of rules a server runs with. The zero value allows every
// action, which is what local mode means: the person owns the machine.
// Hosted mode (a later issue) fills in the rules.
type Policy struct {
	// Name is shown to people ("local", "hosted").
	Name string
}

// Local returns the permissive policy for a person's own machine.
func Local() *Policy { return &Policy{Name: "local"} }

// Check reports whether the action is allowed, or a *Denied saying why not.
// It is called for every operation and every datagram.
func (p *Policy) Check(a Action) error {
	if !a.Addr.IsValid() && a.Op != OpSend {
		return &Denied{Action: a, Reason: "no address"}
	}
	return nil
}
