package export

import "github.com/socketplayground/playground/internal/session"

// errnoInfo is what the generated code knows about one Linux errno: its
// number, the exception Python raises for it, and strerror's text.
type errnoInfo struct {
	num  int
	py   string
	text string
}

// errnos are the errno names the session reports (session.Error.Errno)
// that the generated code can expect by name: Python by exception class,
// Go as the syscall package's constant of the same name.
var errnos = map[string]errnoInfo{
	"EPERM":         {1, "PermissionError", "Operation not permitted"},
	"EBADF":         {9, "OSError", "Bad file descriptor"},
	"EAGAIN":        {11, "BlockingIOError", "Resource temporarily unavailable"},
	"EWOULDBLOCK":   {11, "BlockingIOError", "Resource temporarily unavailable"},
	"EACCES":        {13, "PermissionError", "Permission denied"},
	"EINVAL":        {22, "OSError", "Invalid argument"},
	"EPIPE":         {32, "BrokenPipeError", "Broken pipe"},
	"EMSGSIZE":      {90, "OSError", "Message too long"},
	"EOPNOTSUPP":    {95, "OSError", "Operation not supported"},
	"EAFNOSUPPORT":  {97, "OSError", "Address family not supported by protocol"},
	"EADDRINUSE":    {98, "OSError", "Address already in use"},
	"EADDRNOTAVAIL": {99, "OSError", "Cannot assign requested address"},
	"ENETDOWN":      {100, "OSError", "Network is down"},
	"ENETUNREACH":   {101, "OSError", "Network is unreachable"},
	"ECONNABORTED":  {103, "ConnectionAbortedError", "Software caused connection abort"},
	"ECONNRESET":    {104, "ConnectionResetError", "Connection reset by peer"},
	"ENOBUFS":       {105, "OSError", "No buffer space available"},
	"EISCONN":       {106, "OSError", "Transport endpoint is already connected"},
	"ENOTCONN":      {107, "OSError", "Transport endpoint is not connected"},
	"ETIMEDOUT":     {110, "TimeoutError", "Connection timed out"},
	"ECONNREFUSED":  {111, "ConnectionRefusedError", "Connection refused"},
	"EHOSTDOWN":     {112, "OSError", "Host is down"},
	"EHOSTUNREACH":  {113, "OSError", "No route to host"},
	"EALREADY":      {114, "BlockingIOError", "Operation already in progress"},
	"EINPROGRESS":   {115, "BlockingIOError", "Operation now in progress"},
}

// failure is how a call failed in the session, when a program making the
// same call would fail the same way: by an errno, or by one of the codes
// the socket API itself has (a timeout, a non-blocking call that would
// block, a name that does not resolve).
type failure struct {
	errno   string       // a key of errnos, or ""
	code    session.Code // the session's code
	message string       // the session's message, for comments
}

// kernelFailure reports whether an error event is a failure a program
// would see too. The others are the playground's own refusals (its policy,
// its limits, a socket it knows has ended): no system call was made, so a
// program makes none either.
func kernelFailure(e *session.Event) (failure, bool) {
	f := failure{errno: e.Errno, code: e.Code, message: e.Message}
	if _, ok := errnos[e.Errno]; ok {
		return f, true
	}
	f.errno = ""
	switch e.Code {
	case session.CodeTimeout, session.CodeWouldBlock, session.CodeInProgress, session.CodeNameNotFound, session.CodeTLS:
		return f, true
	}
	return f, false
}

// python is the exception Python raises, as its traceback's last line
// says it: "ConnectionRefusedError: [Errno 111] Connection refused".
func (f failure) python() string {
	if e, ok := errnos[f.errno]; ok {
		return e.py + ": [Errno " + itoa(e.num) + "] " + e.text
	}
	switch f.code {
	case session.CodeTimeout:
		return "TimeoutError: timed out"
	case session.CodeWouldBlock:
		return "BlockingIOError: [Errno 11] Resource temporarily unavailable"
	case session.CodeInProgress:
		return "BlockingIOError: [Errno 115] Operation now in progress"
	case session.CodeNameNotFound:
		return "socket.gaierror: [Errno -2] Name or service not known"
	case session.CodeTLS:
		return "ssl.SSLError: " + f.message
	}
	return "OSError: " + f.message
}

// pythonClass is the exception class an except clause names.
func (f failure) pythonClass() string {
	if e, ok := errnos[f.errno]; ok {
		return e.py
	}
	switch f.code {
	case session.CodeTimeout:
		return "TimeoutError"
	case session.CodeWouldBlock, session.CodeInProgress:
		return "BlockingIOError"
	case session.CodeNameNotFound:
		return "socket.gaierror"
	case session.CodeTLS:
		return "ssl.SSLError"
	}
	return "OSError"
}

// goText is the error as Go prints a syscall.Errno: "connection refused
// (ECONNREFUSED)".
func (f failure) goText() string {
	if e, ok := errnos[f.errno]; ok {
		return lowerFirst(e.text) + " (" + f.errno + ")"
	}
	switch f.code {
	case session.CodeTimeout:
		return "timed out"
	case session.CodeWouldBlock:
		return "resource temporarily unavailable (EAGAIN)"
	case session.CodeInProgress:
		return "operation now in progress (EINPROGRESS)"
	case session.CodeNameNotFound:
		return "no such host"
	}
	return f.message
}

// name is the errno's name, or the session's code: "ECONNREFUSED", "timeout".
func (f failure) name() string {
	if f.errno != "" {
		return f.errno
	}
	return string(f.code)
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
