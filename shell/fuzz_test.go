package shell

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// FuzzAnalyze checks that Analyze never panics, finishes quickly, returns
// either a *ParseError or an Analysis that keeps its invariants, and gives
// the same answer twice.
func FuzzAnalyze(f *testing.F) {
	for _, tt := range analyzeTests {
		f.Add(tt.src)
	}
	for _, src := range benchCommands {
		f.Add(src)
	}
	f.Add("bash -c \"bash -c 'bash -c \\\"eval \\\\\\\"rm x\\\\\\\"\\\"'\"")
	f.Add("cat <<-EOF | sh\n\techo $'\\x41' {a,b}{1..3}\n\tEOF")
	f.Add("f() { (( x[$(id)] )) > o; }; coproc f; exec {fd}<> /dev/tcp/h/1")
	f.Fuzz(func(t *testing.T, src string) {
		// A slow input must crash the worker, so that the fuzzer records
		// it; an error reported after the fact would never come from a
		// hang. The bound is generous: workers share a loaded machine.
		watchdog := time.AfterFunc(10*time.Second, func() {
			panic(fmt.Sprintf("Analyze(%.300q) of %d bytes did not finish in 10s", src, len(src)))
		})
		an, err := Analyze(src)
		watchdog.Stop()
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Analyze(%q) error %T %v, want *ParseError", src, err, err)
			}
			if an != nil || pe.Msg == "" || pe.Err == nil {
				t.Fatalf("Analyze(%q) = %v, %+v: want no analysis and a message", src, an, pe)
			}
			return
		}
		checkInvariants(t, src, an)
		again, err := Analyze(src)
		if err != nil || !reflect.DeepEqual(an, again) {
			t.Errorf("Analyze(%q) is not deterministic", src)
		}
	})
}
