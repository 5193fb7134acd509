// Package badnet is a proxy that makes the network misbehave on purpose.
//
// A person places a Proxy between two sockets: it listens on a new port and
// forwards to a target, and on the way it adds latency and jitter, caps the
// bandwidth, splits TCP writes into small pieces or coalesces them into one,
// drops and reorders UDP datagrams, and resets connections on demand. The
// knobs (Knobs) change while data flows. Every chunk the proxy writes, drops
// or holds back is reported as its own Event, so a person sees one send
// become three receives.
//
// What it must never do:
//   - reach an address the caller did not allow: every TCP connection and
//     every UDP datagram to the target is passed to Config.Check first, with
//     the address resolved once at Start, and the proxy dials exactly the
//     address it checked;
//   - reorder a TCP stream, whatever the jitter;
//   - hold an unbounded amount of data: each direction holds at most about
//     1 MiB, after which TCP flow control pushes back on the sender (UDP
//     datagrams beyond it are dropped, visibly);
//   - log payload bytes (it has no logger: everything goes to Observe);
//   - outlive Close: every goroutine a Proxy starts has ended when Close
//     returns.
//
// It uses real sockets and real time; nothing in it is simulated.
package badnet
