package export

import (
	"bytes"
	"strings"
	"testing"

	"github.com/socketplayground/playground/internal/session"
)

// TestLogRoundTrip: a log written and read back is the same events, bytes
// included (non-UTF-8, NUL, empty), and the file is what §13 says.
func TestLogRoundTrip(t *testing.T) {
	v := 1
	evs := []*session.Event{
		{Seq: 1, T: 1795540293270811, Type: session.TypeCall, Sock: 1, ID: "1", Op: "connect", Host: "127.0.0.1", Port: 7},
		{Seq: 2, T: 1795540293270900, Type: session.TypeData, Sock: 1, Op: "recv", Auto: true, Len: 6, Data: []byte("안녕")},
		{Seq: 3, T: 1795540293271000, Type: session.TypeSent, Sock: 1, ID: "2", Op: "send", Len: 4, Data: []byte{0, 0xff, '\n', 0x80}},
		{Seq: 4, T: 1795540293271100, Type: session.TypeData, Sock: 2, Op: "recvfrom", Auto: true, Peer: "127.0.0.1:9", Data: []byte{}},
		{Seq: 5, T: 1795540293271200, Type: session.TypeResult, Sock: 1, Op: "setsockopt", Option: "SO_REUSEADDR", Value: &v},
		{Seq: 6, T: 1795540293271300, Type: session.TypeLesson, Lesson: &session.Lesson{ID: "endpoint", Action: "progress",
			Steps: []session.LessonStep{{Done: true, Seq: 5}, {}}}},
	}
	var buf bytes.Buffer
	if err := WriteLog(&buf, "S1", evs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(evs)+1 {
		t.Fatalf("%d lines, want a header and %d events:\n%s", len(lines), len(evs), buf.String())
	}
	if want := `{"format":"socket-playground-log","version":1,"session":"S1"}`; lines[0] != want {
		t.Errorf("header %s, want %s", lines[0], want)
	}
	if !strings.Contains(lines[2], `"data":"7JWI64WV"`) {
		t.Errorf("the bytes of 안녕 are not in base64 in %s", lines[2])
	}
	h, got, err := ReadLog(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if h.Session != "S1" || len(got) != len(evs) {
		t.Fatalf("read header %+v and %d events", h, len(got))
	}
	for i, e := range evs {
		g := got[i]
		if g.Seq != e.Seq || g.T != e.T || g.Type != e.Type || g.Sock != e.Sock || g.Op != e.Op || !bytes.Equal(g.Data, e.Data) {
			t.Errorf("event %d: read %+v, want %+v", i, g, e)
		}
	}
	if got[4].Value == nil || *got[4].Value != 1 || got[5].Lesson == nil || !got[5].Lesson.Steps[0].Done {
		t.Errorf("fields lost: %+v %+v", got[4], got[5].Lesson)
	}
}

func TestReadLogRefuses(t *testing.T) {
	for _, c := range []struct{ in, says string }{
		{"", "empty"},
		{`{"format":"other","version":1}`, `format is "other"`},
		{`{"format":"socket-playground-log","version":2}`, "version 2"},
		{"{\"format\":\"socket-playground-log\",\"version\":1}\n{\"seq\":1,\"data\":\"!!\"}", "line 2"},
		{"not json", "line 1"},
	} {
		if _, _, err := ReadLog(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("ReadLog(%q) = %v, want an error saying %q", c.in, err, c.says)
		}
	}
}
