package linux

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// tracer prints how long each phase of a run took, on the monotonic clock
// that the parent and the init share, when CORDON_TRACE is set. It is for
// finding where start-up time goes; off, it costs a nil check.
type tracer struct {
	who  string
	w    io.Writer
	last int64
}

func newTracer(who string, on bool) *tracer {
	if !on {
		return nil
	}
	return &tracer{who: who, w: os.Stderr}
}

func monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func (t *tracer) mark(phase string) {
	if t == nil {
		return
	}
	now := monotonic()
	d := int64(0)
	if t.last != 0 {
		d = now - t.last
	}
	t.last = now
	fmt.Fprintf(t.w, "trace %d.%06d %-6s %-22s +%dµs\n", now/1e9%1000, now/1e3%1e6, t.who, phase, d/1000)
}
