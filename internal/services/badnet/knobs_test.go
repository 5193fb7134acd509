package badnet_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/socketplayground/playground/internal/services/badnet"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		knobs badnet.Knobs
		knob  string // the KnobError's Knob, "" for valid knobs
		msg   string
	}{
		{"zero", badnet.Knobs{}, "", ""},
		{"everything", badnet.Knobs{Latency: time.Second, Jitter: time.Second, Bandwidth: 1, Split: 1,
			SplitGap: time.Second, Coalesce: time.Second, Loss: 1, Reorder: 1}, "", ""},
		{"latency negative", badnet.Knobs{Latency: -time.Millisecond}, "Latency", "latency must not be negative"},
		{"latency too long", badnet.Knobs{Latency: badnet.MaxDelay + 1}, "Latency", "latency must be at most 1m0s"},
		{"jitter negative", badnet.Knobs{Jitter: -1}, "Jitter", "jitter must not be negative"},
		{"split gap negative", badnet.Knobs{SplitGap: -1}, "SplitGap", "split gap must not be negative"},
		{"coalesce too long", badnet.Knobs{Coalesce: time.Hour}, "Coalesce", "coalesce must be at most"},
		{"bandwidth negative", badnet.Knobs{Bandwidth: -5}, "Bandwidth", "bandwidth must not be negative"},
		{"split negative", badnet.Knobs{Split: -1}, "Split", "split must not be negative"},
		{"loss above 1", badnet.Knobs{Loss: 1.5}, "Loss", "loss must be between 0 and 1 (got 1.5)"},
		{"loss negative", badnet.Knobs{Loss: -0.1}, "Loss", "loss must be between 0 and 1"},
		{"loss NaN", badnet.Knobs{Loss: math.NaN()}, "Loss", "loss must be between 0 and 1 (got NaN)"},
		{"reorder above 1", badnet.Knobs{Reorder: 2}, "Reorder", "reorder must be between 0 and 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.knobs.Validate()
			if tc.knob == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ke *badnet.KnobError
			if !errors.As(err, &ke) {
				t.Fatalf("Validate() = %v, want a *KnobError", err)
			}
			if ke.Knob != tc.knob || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Validate() = %q (knob %s), want knob %s and %q", err, ke.Knob, tc.knob, tc.msg)
			}
		})
	}
}

func TestValidateReportsEveryKnob(t *testing.T) {
	err := badnet.Knobs{Latency: -1, Loss: 2, Split: -1}.Validate()
	for _, want := range []string{"latency", "loss", "split"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
}

func TestSetRejectsInvalidKnobs(t *testing.T) {
	p, _ := startProxy(t, badnet.Config{Network: "tcp", Target: tcpEcho(t), Knobs: badnet.Knobs{Latency: time.Millisecond}})
	if err := p.Set(badnet.Knobs{Loss: -1}); err == nil {
		t.Fatal("Set accepted loss -1")
	}
	if got := p.Knobs(); got != (badnet.Knobs{Latency: time.Millisecond}) {
		t.Errorf("after a refused Set, Knobs() = %+v, want the old knobs", got)
	}
	if err := p.Set(badnet.Knobs{Split: 3}); err != nil {
		t.Fatal(err)
	}
	if got := p.Knobs(); got != (badnet.Knobs{Split: 3}) {
		t.Errorf("Knobs() = %+v, want Split 3", got)
	}
}
