// Package policy decides whether a session may do an operation now: which
// targets it may reach, where it may listen, how much it may send.
//
// A session asks on every operation and on every UDP datagram, after DNS
// resolution and with the exact address the kernel will use — never once at
// the start of a session, because a name can resolve differently later and
// a session's history changes what it may do. It asks Reserve before a
// listen or bind, Release when such a socket closes, Wait before moving
// bytes, and End when the session ends.
//
// This package must never perform network I/O itself: no DNS, no dialing.
// The only thing it reads from the system is the host's interface addresses
// (net.InterfaceAddrs), once, in Hosted, when Config.OwnAddrs is nil.
//
// # Local mode
//
// Local() (and the zero Policy) is for a person's own machine: every action
// is allowed, except one that names no address where it needs one (every
// operation but send, recv, socket and setsockopt), refused with Rule
// "no_address". Reserve
// returns the address unchanged; Release, End and Wait do nothing; there is
// no pool and there are no limits.
//
// # Hosted mode
//
// Hosted(Config) is for a server open to strangers. It reaches only the
// built-in services, listeners in its own loopback pool, and the operator's
// allowlist, at a bounded rate.
//
// Addresses are unmapped first (::ffff:10.0.0.1 is 10.0.0.1). A NAT64
// address in 64:ff9b::/96 is judged by the IPv4 address in its last 32
// bits: the NAT64 form of a refused address is refused by the same rule,
// the NAT64 form of a public address is treated like it; the NAT64 form of
// a loopback address is always refused. The local-use NAT64 prefix
// 64:ff9b:1::/48, 6to4 (2002::/16) and Teredo (2001::/32) carry IPv4
// addresses in layouts that depend on the gateway, so they are refused as
// "reserved" (unless a prefix rule inside them opens them).
//
// Before a name is resolved, CheckName allows only "localhost" and the
// allowlist's host names ("name" otherwise), so the server's resolver tells
// strangers nothing about names inside its network.
//
// OpConnect and OpSendTo (a new target) go through these steps in order; the
// first that decides wins:
//
//  1. Rates. OpConnect counts one attempt per Check against
//     ConnectsPerMinute (whatever the later steps decide; an attempt refused
//     by this rate is not counted, so RetryAfter is exact): over it,
//     "connect_rate". Then a target (address and port, built-in services
//     included) not reached in the last hour, when the session already
//     reached TargetsPerHour others: "target_rate". Only allowed targets are
//     remembered.
//  2. A built-in service's exact address and port: allowed.
//  3. Loopback (127.0.0.0/8, ::1): allowed only at a pool port some session
//     (any session: two people can pair) currently holds; else
//     "loopback_port". The allowlist never opens loopback.
//  4. Refused whatever the allowlist says: the unspecified address
//     ("unspecified"), multicast 224.0.0.0/4 and ff00::/8 ("multicast"), the
//     limited broadcast 255.255.255.255 ("broadcast"), cloud metadata and
//     credential endpoints 169.254.169.254, 169.254.170.2, 169.254.170.23,
//     169.254.0.23, 100.100.100.200, 168.63.129.16, fd00:ec2::254 and
//     fd00:ec2::23 ("metadata"), and the mail ports 25, 465 and 587 on every
//     address ("smtp").
//  5. The allowlist (Config.Allow, see ParseRule): a rule whose ports
//     include the port, and either a host rule whose name equals the name
//     the person typed (Action.Host; case-insensitive, trailing dot ignored)
//     with a public address, or a prefix rule containing the address.
//     A host rule never reaches a non-public address, so a name rebound to
//     10.x is refused by that address's own rule. A prefix rule reaches a
//     non-public address only when the whole prefix lies inside its range
//     (10.1.0.0/16 opens itself; 0.0.0.0/0 opens only public addresses):
//     opening a private range is the operator's explicit choice.
//  6. Everything else is refused by its most specific class: this host's own
//     addresses ("own_address"); private 10.0.0.0/8, 172.16.0.0/12,
//     192.168.0.0/16, fc00::/7, fec0::/10 ("private"); link-local
//     169.254.0.0/16, fe80::/10 ("link_local"); shared 100.64.0.0/10
//     ("cgnat"); 0.0.0.0/8, 192.0.0.0/24, 192.0.2.0/24, 198.18.0.0/15,
//     198.51.100.0/24, 203.0.113.0/24, 240.0.0.0/4, 2001:db8::/32,
//     3fff::/20, 2001:2::/48, 100::/64, ::/96, and the transition
//     prefixes 64:ff9b:1::/48, 2002::/16, 2001::/32 ("reserved"); any other
//     public address ("not_allowed").
//
// OpSendTo then applies the byte quota like OpSend.
//
// OpSend (bytes on a connected socket; Addr is the peer) re-checks steps 4
// to 6, with loopback allowed at a service port, anywhere in the pool range
// (a pairing connection outlives its listener), or at a remote this session
// accepted; a peer the session was allowed to connect to stays allowed. Then
// the byte quota: if the session's bytes plus Bytes would pass
// BytesPerSession, "byte_quota" and nothing is counted; else Bytes count.
//
// OpRecv counts Bytes (its Addr may be invalid) and returns "byte_quota"
// once the total has passed BytesPerSession; the bytes are not taken back,
// the caller stops reading.
//
// OpListen and OpBind are allowed only on a loopback address whose port this
// session holds (Reserve gave it): else "not_loopback", "outside_pool" or
// "port_taken". OpAccept is allowed only from a loopback address, else
// "not_loopback". OpSocket is allowed (the session's socket limit counts
// it); OpSetsockopt is allowed but for Option "SO_BROADCAST" ("broadcast")
// and the multicast options "IP_MULTICAST_TTL", "IP_MULTICAST_LOOP" and
// "IP_MULTICAST_IF" ("multicast"). OpJoin (joining or leaving a multicast
// group; Addr is the group) is always refused: "multicast". With step 4's
// refusal of multicast and broadcast destinations, a hosted session neither
// sends to nor listens on a group, and sends no broadcast.
// Any other action without an address (but send and recv) is "no_address".
//
// Reserve (OpListen, OpBind) takes a loopback address (else "not_loopback";
// for 0.0.0.0 or :: the reason suggests 127.0.0.1 or ::1). Port 0 picks a
// free pool port from a random start ("pool_exhausted" when none is free);
// an explicit port must be in the pool ("outside_pool") and not held by
// another session ("port_taken"). A session may reserve a port it already
// holds again — its TCP listener and UDP socket on one port, or a retry after
// the kernel said EADDRINUSE — which changes nothing. A session holding
// ListenersPerSession ports gets "listeners". Ports are held by number, for
// both families, until one Release (the caller releases when its last
// socket on the port closes) or End.
//
// Denied.Rule is a stable key for metrics; Denied.Reason is for the person
// and names the address; Denied.RetryAfter is set for the rate rules only.
//
// # Defaults
//
// The listener pool is 30000–31999 (DefaultPoolFirst, DefaultPoolLast):
// below Linux's ephemeral range (32768–60999), so the kernel never hands a
// pool port to an outgoing connection or to a service started on port 0.
// DefaultHostedLimits: 60 connects per session per sliding minute, 30
// distinct targets per session per sliding hour, 256 KiB/s per session
// through Wait (token bucket, burst one second's worth, at least 64 KiB), 64
// MiB per session in total (both directions), 4 pool ports held at once per
// session. A zero Limits field takes its default; a negative one means no
// limit.
package policy
