package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// What /proc says about the playground and the machine, beside /metrics.
// Linux only; elsewhere these read nothing and the report leaves them out.

// fdKinds counts a process's open descriptors by what they are: "socket",
// "pipe", "anon_inode" or "file".
func fdKinds(pid int) map[string]int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	kinds := map[string]int{}
	for _, n := range names {
		target, err := os.Readlink(dir + "/" + n.Name())
		if err != nil {
			continue // closed meanwhile
		}
		kind, _, ok := strings.Cut(target, ":")
		if !ok || strings.HasPrefix(target, "/") {
			kind = "file"
		}
		kinds[kind]++
	}
	return kinds
}

// machineCPU returns the machine's busy and total CPU time so far, in
// clock ticks, from the first line of /proc/stat.
func machineCPU() (busy, total uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	for i, v := range f[1:] {
		if i >= 8 { // guest time is already counted in user time
			break
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, true
}
