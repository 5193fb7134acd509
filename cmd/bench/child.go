package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// childProc is this executable re-run in another role. It reads lines from
// its stdin and answers on its stdout; its stderr is the bench's. It treats
// the end of its stdin as "the bench is gone" and exits.
type childProc struct {
	role  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string   // the child's stdout, line by line; closed at EOF
	done  chan struct{} // closed once the child has exited and been waited for
	err   error         // how it exited; valid after done
}

// childStopTimeout is how long a child may take to exit once told to.
const childStopTimeout = 30 * time.Second

// startChild starts this executable in role with args and extra environment
// variables. If ctx ends first, the child is sent SIGTERM, then killed.
func startChild(ctx context.Context, role string, env []string, args ...string) (*childProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(append(os.Environ(), roleEnv+"="+role), env...)
	cmd.Stderr = os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = childStopTimeout
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the %s child: %w", role, err)
	}
	p := &childProc{role: role, cmd: cmd, stdin: stdin, lines: make(chan string, 64), done: make(chan struct{})}
	go p.readStdout(stdout)
	return p, nil
}

// readStdout passes the child's output on line by line, then waits for it,
// as os/exec requires: every read before Wait.
func (p *childProc) readStdout(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.lines <- sc.Text() // the children only answer what they are asked
	}
	close(p.lines)
	p.err = p.cmd.Wait()
	close(p.done)
}

func (p *childProc) pid() int { return p.cmd.Process.Pid }

// readLine returns the child's next line of output.
func (p *childProc) readLine(ctx context.Context, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-p.lines:
		if !ok {
			<-p.done
			return "", fmt.Errorf("the %s child exited: %v", p.role, p.err)
		}
		return line, nil
	case <-t.C:
		return "", fmt.Errorf("the %s child said nothing for %v", p.role, timeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// writeLine sends the child one line on its stdin.
func (p *childProc) writeLine(line string) error {
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

// stop sends sig (if not nil), closes the child's stdin and waits for it to
// exit, killing it if it takes longer than childStopTimeout. It is safe to
// call more than once.
func (p *childProc) stop(sig os.Signal) error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	if sig != nil {
		p.cmd.Process.Signal(sig)
	}
	p.stdin.Close()
	t := time.NewTimer(childStopTimeout)
	defer t.Stop()
	lines := p.lines
	for {
		select {
		case _, ok := <-lines: // drain what it says on its way out
			if !ok {
				lines = nil
			}
		case <-p.done:
			return p.exitErr()
		case <-t.C:
			p.cmd.Process.Kill()
			<-p.done
			return fmt.Errorf("the %s child did not exit within %v of being told to; killed it", p.role, childStopTimeout)
		}
	}
}

func (p *childProc) exitErr() error {
	if p.err != nil && !errors.Is(p.err, context.Canceled) {
		return fmt.Errorf("the %s child: %w", p.role, p.err)
	}
	return nil
}
