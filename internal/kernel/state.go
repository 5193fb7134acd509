package kernel

import "strconv"

// State is a TCP state, numbered as in the Linux kernel's
// include/net/tcp_states.h, so a value read from the kernel converts
// directly.
type State uint8

// The TCP states. The zero State is not a state.
const (
	StateEstablished State = 1
	StateSynSent     State = 2
	StateSynRecv     State = 3
	StateFinWait1    State = 4
	StateFinWait2    State = 5
	StateTimeWait    State = 6
	StateClose       State = 7
	StateCloseWait   State = 8
	StateLastAck     State = 9
	StateListen      State = 10
	StateClosing     State = 11
	// StateNewSynRecv is the kernel's internal state of a connection
	// request (a SYN answered, no ACK yet). The kernel reports such
	// requests as StateSynRecv, so it rarely appears in results.
	StateNewSynRecv State = 12
)

var stateNames = [...]string{
	StateEstablished: "ESTABLISHED",
	StateSynSent:     "SYN_SENT",
	StateSynRecv:     "SYN_RECV",
	StateFinWait1:    "FIN_WAIT1",
	StateFinWait2:    "FIN_WAIT2",
	StateTimeWait:    "TIME_WAIT",
	StateClose:       "CLOSE",
	StateCloseWait:   "CLOSE_WAIT",
	StateLastAck:     "LAST_ACK",
	StateListen:      "LISTEN",
	StateClosing:     "CLOSING",
	StateNewSynRecv:  "NEW_SYN_RECV",
}

// String returns the state's name as netstat and ss spell it, such as
// "TIME_WAIT", or "State(n)" for a number that is not a known state.
func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}
