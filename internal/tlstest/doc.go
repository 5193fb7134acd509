// Package tlstest makes what tests of TLS connections need, on loopback
// only: a certificate authority and the certificates it issues, generated
// afresh in each test, and a TLS echo server. It is for tests; nothing in
// the program imports it.
package tlstest
