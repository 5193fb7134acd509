//go:build !linux

package kernel

import (
	"errors"
	"testing"
)

func TestUnsupported(t *testing.T) {
	if _, err := Info(nil); !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Info: %v, want ErrUnsupported", err)
	}
	if _, err := List(Filter{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("List: %v, want ErrUnsupported", err)
	}
}
