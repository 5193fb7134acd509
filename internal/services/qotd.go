package services

import (
	"context"
	"net"
	"sync/atomic"
)

// quotes are qotd's quotes: public domain (published before 1930), about
// sending messages and machines that compute, in plain ASCII, each one
// line under RFC 865's 512 characters.
var quotes = []string{
	`"We are in great haste to construct a magnetic telegraph from Maine to Texas; but Maine and Texas, it may be, have nothing important to communicate." -- Henry David Thoreau, Walden (1854)`,
	`"What hath God wrought" -- the first message on Samuel Morse's telegraph line from Washington to Baltimore (1844)`,
	`"Mr. Watson -- come here -- I want to see you." -- Alexander Graham Bell, the first words over a telephone (1876)`,
	`"We may say most aptly that the Analytical Engine weaves algebraical patterns just as the Jacquard-loom weaves flowers and leaves." -- Ada Lovelace, Note A (1843)`,
	`"The Analytical Engine has no pretensions whatever to originate anything. It can do whatever we know how to order it to perform." -- Ada Lovelace, Note G (1843)`,
	`"On two occasions I have been asked, -- 'Pray, Mr. Babbage, if you put into the machine wrong figures, will the right answers come out?' In one case a member of the Upper, and in the other a member of the Lower, House put this question. I am not able rightly to apprehend the kind of confusion of ideas that could provoke such a question." -- Charles Babbage, Passages from the Life of a Philosopher (1864)`,
	`"When wireless is perfectly applied the whole earth will be converted into a huge brain, which in fact it is, all things being particles of a real and rhythmic whole." -- Nikola Tesla, Collier's (1926)`,
}

// newQotd is RFC 865: one quote, as a line ending in CRLF. TCP sends it on
// connect and closes; UDP answers any datagram with one. Each answer takes
// the next quote in the list, round and round.
func newQotd(settings) service {
	q := &qotd{}
	return service{
		tcp:      q.serveTCP,
		tcpAbout: "Sends a short quote and closes: connect again for another (RFC 865).",
		udp:      func([]byte) []byte { return q.next() },
		udpAbout: "Answers any datagram with a quote in one datagram (RFC 865).",
	}
}

type qotd struct {
	n atomic.Uint64 // answers given
}

func (q *qotd) next() []byte {
	i := (q.n.Add(1) - 1) % uint64(len(quotes))
	return []byte(quotes[i] + "\r\n")
}

func (q *qotd) serveTCP(_ context.Context, c net.Conn) {
	c.Write(q.next())
	finish(c)
}
