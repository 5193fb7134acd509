package session

import (
	"slices"
	"testing"
)

// TestSyncGroups: sync lists the groups a socket joined and has not left,
// and none once it is closed.
func TestSyncGroups(t *testing.T) {
	var ss Sockets
	for _, e := range []*Event{
		{Type: TypeState, Sock: 1, Kind: KindUDP, State: StateBound},
		{Type: TypeResult, Op: "join", Sock: 1, Group: "239.255.1.1", Iface: "lo"},
		{Type: TypeResult, Op: "join", Sock: 1, Group: "239.255.1.2"},
		{Type: TypeResult, Op: "join", Sock: 1, Group: "239.255.1.3", Iface: "lo"},
		{Type: TypeResult, Op: "leave", Sock: 1, Group: "239.255.1.1", Iface: "lo"},
		{Type: TypeError, Op: "leave", Sock: 1, Group: "239.255.1.3"}, // refused: no change
	} {
		ss.Fold(e)
	}
	list := ss.List()
	want := []SockGroup{{Group: "239.255.1.2"}, {Group: "239.255.1.3", Iface: "lo"}}
	if len(list) != 1 || !slices.Equal(list[0].Groups, want) {
		t.Fatalf("sync lists %+v; want groups %v", list, want)
	}
	ss.Fold(&Event{Type: TypeState, Sock: 1, Kind: KindUDP, State: StateClosed})
	if list := ss.List(); len(list) != 0 {
		t.Fatalf("a closed socket still listed: %+v", list)
	}
}
