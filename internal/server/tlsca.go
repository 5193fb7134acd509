package server

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// loadCA reads the certificates of the PEM file path (Config.TLSCA) into a
// pool. An empty path is no file: nil, the system's roots only. Every PEM
// block must be a certificate that parses, so a typo in the file is found
// at start, not at a person's first TLS connect.
func loadCA(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-tls-ca %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		n++
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("-tls-ca %s: block %d is a %q, not a CERTIFICATE: the file must hold only PEM certificates of the authorities to trust", path, n, blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("-tls-ca %s: certificate %d: %w", path, n, err)
		}
		pool.AddCert(c)
	}
	if n == 0 {
		return nil, fmt.Errorf("-tls-ca %s: no PEM certificate in it (want blocks that start with -----BEGIN CERTIFICATE-----)", path)
	}
	return pool, nil
}
