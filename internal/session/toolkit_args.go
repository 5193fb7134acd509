package session

import (
	"regexp"
	"time"
)

// The toolkit's arguments (protocol.md §16). The bridge validates them;
// the session checks what depends on the socket.

// TLSArgs are what a TLS connect asks for (ConnectArgs.TLS).
type TLSArgs struct {
	SNI    string   // the server name; "" means the connect's host
	Verify bool     // verify the chain and the name
	ALPN   []string // the protocols offered
}

// RepeatArgs are the arguments of Repeat.
type RepeatArgs struct {
	Data     *Template     // what each send carries: expanded afresh each time
	Count    int           // sends to make; 0 means until stopped
	Interval time.Duration // from one send's start to the next's; 0: as fast as flow control allows
	Host     string        // UDP: the destination
	Port     int
	Family   string
}

// RuleArgs are the arguments of Respond.
type RuleArgs struct {
	Match   string         // "contains", "equals" or "regex"
	Pattern []byte         // contains, equals: the bytes; regex: its source
	Regexp  *regexp.Regexp // regex: Pattern compiled
	Reply   *Template      // what a firing sends
	// As the request spelled them, for the call event.
	PatternSpelled, ReplySpelled Spelled
}

// GroupArgs are the arguments of JoinGroup and LeaveGroup.
type GroupArgs struct {
	Group string // a multicast address
	Iface string // an interface name; "" lets the kernel choose
}

// MaxRules is the most responder rules one socket may have.
const MaxRules = 16

// MaxReply is the largest reply a responder may send, in bytes.
const MaxReply = 64 << 10

// MaxPattern is the largest pattern a responder may look for, in bytes.
const MaxPattern = 4096

// MaxRepeat is the most sends one repeat may be asked for.
const MaxRepeat = 1_000_000

// MaxInterval is the longest interval between a repeat's sends.
const MaxInterval = time.Hour
