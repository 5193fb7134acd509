//go:build !unix

package session

import (
	"strconv"
	"syscall"
)

func errnoName(e syscall.Errno) string { return "errno " + strconv.Itoa(int(e)) }
