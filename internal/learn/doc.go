// Package learn is what the playground teaches with: the guided lessons,
// whose checks are predicates over a session's event log; and the message
// catalogs (English and Korean) every text of the page comes from.
package learn
