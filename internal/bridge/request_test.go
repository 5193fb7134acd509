package bridge

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/socketplayground/playground/internal/session"
)

func frame(header string, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(header)))
	return append(append(b, header...), payload...)
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name   string
		binary bool
		msg    string
		want   *Request
		code   session.Code
	}{
		{name: "connect", msg: `{"id":"1","op":"connect","host":"example.test","port":7,"timeout_ms":250,"family":"ip6"}`,
			want: &Request{ID: "1", Op: "connect", Host: "example.test", Port: 7, Timeout: 250 * time.Millisecond, Family: "ip6"}},
		{name: "numeric id", msg: `{"id":42,"op":"close","sock":3,"now":true}`, want: &Request{ID: "42", Op: "close", Sock: 3, Now: true}},
		{name: "listen port 0", msg: `{"op":"listen","host":"::1","port":0}`, want: &Request{Op: "listen", Host: "::1"}},
		{name: "send text", msg: `{"op":"send","sock":1,"data":{"text":"안녕"}}`, want: &Request{Op: "send", Sock: 1, Data: []byte("안녕")}},
		{name: "send hex", msg: `{"op":"send","sock":1,"data":{"hex":"00 ff\nAb"}}`, want: &Request{Op: "send", Sock: 1, Data: []byte{0, 0xff, 0xab}}},
		{name: "send escaped", msg: `{"op":"send","sock":1,"data":{"escaped":"a\\r\\n\\t\\0\\\\\\x7F"}}`, want: &Request{Op: "send", Sock: 1, Data: []byte("a\r\n\t\x00\\\x7f")}},
		{name: "send base64", msg: `{"op":"send","sock":1,"data":{"base64":"AP8="}}`, want: &Request{Op: "send", Sock: 1, Data: []byte{0, 0xff}}},
		{name: "sendto", msg: `{"op":"sendto","sock":2,"host":"127.0.0.1","port":9,"data":{"text":""}}`, want: &Request{Op: "sendto", Sock: 2, Host: "127.0.0.1", Port: 9, Data: []byte{}}},
		{name: "shutdown", msg: `{"op":"shutdown","sock":2,"how":"write"}`, want: &Request{Op: "shutdown", Sock: 2, How: "write"}},

		{name: "not json", msg: `{"op":`, code: session.CodeBadRequest},
		{name: "array", msg: `[1]`, code: session.CodeBadRequest},
		{name: "two objects", msg: `{"op":"close","sock":1}{}`, code: session.CodeBadRequest},
		{name: "no op", msg: `{"sock":1}`, code: session.CodeMissingField},
		{name: "unknown op", msg: `{"op":"poll"}`, code: session.CodeUnknownOp},
		{name: "unknown field", msg: `{"op":"close","sock":1,"colour":"red"}`, code: session.CodeBadField},
		{name: "field of another op", msg: `{"op":"close","sock":1,"how":"read"}`, code: session.CodeBadField},
		{name: "missing port", msg: `{"op":"connect","host":"h"}`, code: session.CodeMissingField},
		{name: "port as string", msg: `{"op":"connect","host":"h","port":"80"}`, code: session.CodeBadField},
		{name: "port fraction", msg: `{"op":"connect","host":"h","port":1.5}`, code: session.CodeBadField},
		{name: "port too big", msg: `{"op":"listen","host":"h","port":65536}`, code: session.CodePortRange},
		{name: "port negative", msg: `{"op":"bind","host":"h","port":-1}`, code: session.CodePortRange},
		{name: "connect port 0", msg: `{"op":"connect","host":"h","port":0}`, code: session.CodePortRange},
		{name: "empty host", msg: `{"op":"connect","host":"","port":1}`, code: session.CodeBadField},
		{name: "bad family", msg: `{"op":"connect","host":"h","port":1,"family":"ipx"}`, code: session.CodeBadField},
		{name: "timeout 0", msg: `{"op":"connect","host":"h","port":1,"timeout_ms":0}`, code: session.CodeBadField},
		{name: "timeout huge", msg: `{"op":"connect","host":"h","port":1,"timeout_ms":99999999}`, code: session.CodeBadField},
		{name: "bad how", msg: `{"op":"shutdown","sock":1,"how":"sideways"}`, code: session.CodeBadField},
		{name: "sock 0", msg: `{"op":"close","sock":0}`, code: session.CodeBadField},
		{name: "long id", msg: `{"id":"` + string(bytes.Repeat([]byte("x"), 65)) + `","op":"close","sock":1}`, code: session.CodeBadField},
		{name: "odd hex", msg: `{"op":"send","sock":1,"data":{"hex":"abc"}}`, code: session.CodeBadHex},
		{name: "not hex", msg: `{"op":"send","sock":1,"data":{"hex":"zz"}}`, code: session.CodeBadHex},
		{name: "unknown escape", msg: `{"op":"send","sock":1,"data":{"escaped":"\\q"}}`, code: session.CodeBadEscape},
		{name: "short \\x", msg: `{"op":"send","sock":1,"data":{"escaped":"\\x4"}}`, code: session.CodeBadEscape},
		{name: "trailing backslash", msg: `{"op":"send","sock":1,"data":{"escaped":"a\\"}}`, code: session.CodeBadEscape},
		{name: "two spellings", msg: `{"op":"send","sock":1,"data":{"text":"a","hex":"61"}}`, code: session.CodeBadField},
		{name: "no spelling", msg: `{"op":"send","sock":1,"data":{}}`, code: session.CodeBadField},
		{name: "bad base64", msg: `{"op":"send","sock":1,"data":{"base64":"!!"}}`, code: session.CodeBadField},
		{name: "send without data", msg: `{"op":"send","sock":1}`, code: session.CodeMissingField},
		{name: "lesson as number", msg: `{"op":"lesson","lesson":1}`, code: session.CodeBadField},
		{name: "step as string", msg: `{"op":"answer","lesson":"endpoint","step":"3","answer":"5"}`, code: session.CodeBadField},
		{name: "step fraction", msg: `{"op":"answer","lesson":"endpoint","step":2.5,"answer":"5"}`, code: session.CodeBadField},
		{name: "answer as number", msg: `{"op":"answer","lesson":"endpoint","step":3,"answer":5}`, code: session.CodeBadField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.binary, []byte(tt.msg))
			if tt.want != nil {
				if err != nil {
					t.Fatalf("Decode(%s) failed: %v", tt.msg, err)
				}
				if !equalRequest(got, tt.want) {
					t.Fatalf("Decode(%s) = %+v, want %+v", tt.msg, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode(%s) = %+v, want error %s", tt.msg, got, tt.code)
			}
			if err.Err.Code != tt.code || err.Err.Message == "" {
				t.Fatalf("Decode(%s) error %v, want code %s", tt.msg, err, tt.code)
			}
		})
	}
}

func TestDecodeErrorNamesTheRequest(t *testing.T) {
	for _, msg := range []string{
		`{"id":"r7","op":"send","sock":3,"data":{"hex":"0"}}`,
		`{"id":"r7","op":"send","sock":3,"data":{"text":5}}`,
		`{"data":{"text":"x"},"sock":3,"colour":"red","op":"send","id":"r7"}`,
		`{"id":"r7","op":"send","sock":3,"data":{"text":"x"}} {}`,
	} {
		_, err := Decode(false, []byte(msg))
		if err == nil || err.ID != "r7" || err.Op != "send" || err.Sock != 3 {
			t.Errorf("%s: error %+v does not name request r7, op send, sock 3", msg, err)
		}
	}
}

func TestDecodeBinary(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	r, err := Decode(true, frame(`{"id":"b","op":"sendto","sock":4,"host":"::1","port":7}`, all))
	if err != nil || !bytes.Equal(r.Data, all) || r.Port != 7 || r.Sock != 4 {
		t.Fatalf("binary sendto: %+v, %v", r, err)
	}
	r, err = Decode(true, frame(`{"op":"send","sock":1}`, nil))
	if err != nil || r.Data == nil || len(r.Data) != 0 {
		t.Fatalf("empty binary send: %+v, %v", r, err)
	}
	for name, msg := range map[string][]byte{
		"short":           {0, 0},
		"length past end": frame(`{"op":"send","sock":1}`, nil)[:10],
		"header too big":  binary.BigEndian.AppendUint32(nil, MaxHeader+1),
	} {
		if _, err := Decode(true, msg); err == nil || err.Err.Code != session.CodeBadRequest {
			t.Errorf("%s: %v, want bad_request", name, err)
		}
	}
	if _, err := Decode(true, frame(`{"op":"send","sock":1,"data":{"text":"x"}}`, []byte("y"))); err == nil || err.Err.Code != session.CodeBadField {
		t.Errorf("binary with data in the header: %v, want bad_field", err)
	}
	if _, err := Decode(true, frame(`{"op":"close","sock":1}`, []byte("y"))); err == nil || err.Err.Code != session.CodeBadField {
		t.Errorf("binary close with a payload: %v, want bad_field", err)
	}
}

// The payload must not alias the message buffer, which is reused.
func TestDecodeCopiesPayload(t *testing.T) {
	msg := frame(`{"op":"send","sock":1}`, []byte("abc"))
	r, _ := Decode(true, msg)
	msg[len(msg)-1] = 'X'
	if string(r.Data) != "abc" {
		t.Fatalf("payload changed with the message buffer: %q", r.Data)
	}
}

func equalRequest(a, b *Request) bool {
	return a.ID == b.ID && a.Op == b.Op && a.Sock == b.Sock && a.Host == b.Host && a.Port == b.Port &&
		a.Family == b.Family && a.Timeout == b.Timeout && a.How == b.How && a.Now == b.Now &&
		bytes.Equal(a.Data, b.Data) && (a.Data == nil) == (b.Data == nil)
}

// FuzzDecode: no message makes Decode panic; it returns a request or an
// error with a code and a message, never both or neither; valid requests
// satisfy the documented ranges.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","op":"connect","host":"127.0.0.1","port":7}`,
		`{"op":"send","sock":1,"data":{"escaped":"\\x00\\r\\n"}}`,
		`{"op":"sendto","sock":1,"host":"::1","port":9,"data":{"hex":"ff 00"}}`,
		`{"op":"shutdown","sock":1,"how":"both"}`, `{"op":"close","sock":1,"now":true}`, `{`, `[]`, `null`,
	} {
		f.Add(false, []byte(s))
	}
	f.Add(true, frame(`{"op":"send","sock":1}`, []byte{0, 1, 2}))
	f.Add(true, []byte{0, 0, 0, 200, '{'})
	f.Fuzz(func(t *testing.T, bin bool, msg []byte) {
		r, err := Decode(bin, msg)
		if (r == nil) == (err == nil) {
			t.Fatalf("Decode returned %v and %v", r, err)
		}
		if err != nil {
			if err.Err == nil || err.Err.Code == "" || err.Err.Message == "" || !utf8.ValidString(err.Err.Message) {
				t.Fatalf("error without code or message: %+v", err)
			}
			return
		}
		if _, ok := ops[r.Op]; !ok || r.Port < 0 || r.Port > 65535 || r.Timeout < 0 || r.Timeout > MaxTimeout || len(r.ID) > 64 {
			t.Fatalf("accepted an out-of-range request: %+v", r)
		}
		if (r.Op == "send" || r.Op == "sendto") && r.Data == nil {
			t.Fatalf("accepted %s without data", r.Op)
		}
	})
}
