package session

import (
	"encoding/json"
	"fmt"
	"unsafe"
)

// TLSInfo is what a TLS connect asked for and what it negotiated
// (protocol.md §16.4). A call event has the asked-for fields (SNI, Verify,
// ALPN); a result the negotiated ones; an error the chain, if the server
// sent one.
type TLSInfo struct {
	// Asked for (call).
	Verify *bool    `json:"verify,omitempty"`
	Offer  []string `json:"alpn_offer,omitempty"` // the ALPN protocols offered

	// Both: the server name sent (absent for an IP address).
	SNI string `json:"sni,omitempty"`

	// Negotiated (result).
	Version     string `json:"version,omitempty"`
	Cipher      string `json:"cipher,omitempty"`
	ALPN        string `json:"alpn,omitempty"`
	Verified    bool   `json:"verified,omitempty"`
	HandshakeUS int64  `json:"handshake_us,omitempty"`
	Chain       []Cert `json:"chain,omitempty"`
}

// Cert is one certificate of a TLS peer's chain, as a person reads it.
type Cert struct {
	Subject   string   `json:"subject"`
	Issuer    string   `json:"issuer"`
	Serial    string   `json:"serial,omitempty"`
	NotBefore string   `json:"not_before"`
	NotAfter  string   `json:"not_after"`
	DNS       []string `json:"dns,omitempty"`
	IPs       []string `json:"ips,omitempty"`
	Key       string   `json:"key,omitempty"`
	SHA256    string   `json:"sha256"`
	CA        bool     `json:"ca,omitempty"`
}

func (t *TLSInfo) size() int64 {
	if t == nil {
		return 0
	}
	n := int64(unsafe.Sizeof(TLSInfo{})) + int64(len(t.SNI)+len(t.Version)+len(t.Cipher)+len(t.ALPN))
	for _, o := range t.Offer {
		n += 16 + int64(len(o))
	}
	for _, c := range t.Chain {
		n += int64(unsafe.Sizeof(Cert{})) + int64(len(c.Subject)+len(c.Issuer)+len(c.Serial)+len(c.NotBefore)+len(c.NotAfter)+len(c.Key)+len(c.SHA256))
		for _, d := range c.DNS {
			n += 16 + int64(len(d))
		}
		for _, ip := range c.IPs {
			n += 16 + int64(len(ip))
		}
	}
	return n
}

// Spelled is a payload as a request spelled it (protocol.md §4.3, §16.1):
// Kind is "text", "hex", "escaped", "base64" or "template", and Text what
// followed. In JSON it is spelled as in a request: {"hex": "50 49"}.
type Spelled struct {
	Kind string
	Text string
}

// MarshalJSON spells s as a request's payload object.
func (s Spelled) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{s.Kind: s.Text})
}

// UnmarshalJSON reads a payload object with exactly one field.
func (s *Spelled) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if len(m) != 1 {
		return fmt.Errorf("a spelled payload has exactly one field, not %d", len(m))
	}
	for k, v := range m {
		s.Kind, s.Text = k, v
	}
	return nil
}

func (s *Spelled) size() int64 {
	if s == nil {
		return 0
	}
	return int64(unsafe.Sizeof(Spelled{})) + int64(len(s.Kind)+len(s.Text))
}
