package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// system describes the machine the bench runs on.
type system struct {
	goVersion  string
	goos       string
	gomaxprocs int
	numCPU     int
	cpuModel   string
	openFiles  string // the bench's RLIMIT_NOFILE, from /proc/self/limits
}

func readSystem() system {
	return system{
		goVersion:  runtime.Version(),
		goos:       runtime.GOOS + "/" + runtime.GOARCH,
		gomaxprocs: runtime.GOMAXPROCS(0),
		numCPU:     runtime.NumCPU(),
		cpuModel:   cpuModel(),
		openFiles:  openFilesLimit(os.Getpid()),
	}
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	v, err := procField("/proc/cpuinfo", "model name", ":")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return v
}

// openFilesLimit returns a process's RLIMIT_NOFILE as "soft N, hard M".
func openFilesLimit(pid int) string {
	soft, hard, err := openFiles(pid)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return fmt.Sprintf("soft %d, hard %d", soft, hard)
}

// openFiles returns a process's RLIMIT_NOFILE from /proc/PID/limits.
func openFiles(pid int) (soft, hard int64, err error) {
	v, err := procField(fmt.Sprintf("/proc/%d/limits", pid), "Max open files", "")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(v)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("max open files is %q", v)
	}
	if soft, err = strconv.ParseInt(f[0], 10, 64); err == nil {
		hard, err = strconv.ParseInt(f[1], 10, 64)
	}
	return soft, hard, err
}

// rssKiB returns a process's resident set size (VmRSS) in KiB.
func rssKiB(pid int) (int64, error) {
	v, err := procField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS", ":")
	if err != nil {
		return 0, err
	}
	kb, unit, _ := strings.Cut(v, " ")
	if unit != "kB" {
		return 0, fmt.Errorf("VmRSS is %q, want a number of kB", v)
	}
	return strconv.ParseInt(kb, 10, 64)
}

// countFDs returns how many file descriptors a process has open.
func countFDs(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	return len(names), err
}

// procField returns the value of the first line of a /proc file that starts
// with key, after sep (or after the key if sep is empty), trimmed.
func procField(path, key, sep string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, key)
		if !ok {
			continue
		}
		if sep != "" {
			if _, rest, ok = strings.Cut(rest, sep); !ok {
				continue
			}
		}
		return strings.TrimSpace(rest), nil
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no %q in %s", key, path)
}

// selfCPU returns the CPU time (user + system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
