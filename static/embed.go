// Package static holds the browser assets (CSS, ES modules), embedded into
// the binary. It has no behaviour of its own.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

//go:embed css js img
var FS embed.FS

// Version is a hash of every embedded file. Asset URLs carry it, so a
// browser may cache them forever and still never run a stale script.
var Version = func() string {
	h := sha256.New()
	fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := FS.ReadFile(path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()
