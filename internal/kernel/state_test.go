package kernel

import "testing"

func TestStateString(t *testing.T) {
	tests := []struct {
		s    State
		want string
	}{
		{StateEstablished, "ESTABLISHED"},
		{StateSynSent, "SYN_SENT"},
		{StateSynRecv, "SYN_RECV"},
		{StateFinWait1, "FIN_WAIT1"},
		{StateFinWait2, "FIN_WAIT2"},
		{StateTimeWait, "TIME_WAIT"},
		{StateClose, "CLOSE"},
		{StateCloseWait, "CLOSE_WAIT"},
		{StateLastAck, "LAST_ACK"},
		{StateListen, "LISTEN"},
		{StateClosing, "CLOSING"},
		{StateNewSynRecv, "NEW_SYN_RECV"},
		{0, "State(0)"},
		{13, "State(13)"},
		{255, "State(255)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("State(%d).String() = %q, want %q", uint8(tt.s), got, tt.want)
		}
	}
}

// TestStateNumbers pins the values of include/net/tcp_states.h, which the
// kernel sends and this package converts without a table.
func TestStateNumbers(t *testing.T) {
	want := []State{
		StateEstablished, StateSynSent, StateSynRecv, StateFinWait1, StateFinWait2,
		StateTimeWait, StateClose, StateCloseWait, StateLastAck, StateListen,
		StateClosing, StateNewSynRecv,
	}
	for i, s := range want {
		if int(s) != i+1 {
			t.Errorf("%v = %d, want %d", s, s, i+1)
		}
	}
}
