// Command attack makes one real attempt to get out of a sandbox and says
// whether the kernel let it through.
//
//	attack NAME [ARGS...]
//
// Every attack is carried out with the system calls an intruder would use,
// never by reading a flag that claims a protection is on, and prints exactly
// one line:
//
//	ESCAPED <detail>   exit 1: the attempt got through
//	BLOCKED <detail>   exit 0: the kernel refused it (the errno says how)
//	ERROR <detail>     exit 2: the attempt could not be made at all
//
// Two more answers exist for commands whose verdict belongs to someone
// else. STARTED (exit 0) means a process meant to outlive the run was
// started; only an observer outside the sandbox can tell whether it did.
// OK and FAIL (exit 0 and 1) answer the few ordinary tasks kept here to
// show the sandbox still lets normal work through.
//
// The sandbox's escape tests run this binary inside a sandbox and expect
// BLOCKED; run unsandboxed (as root where the attack needs it) the same
// attacks must say ESCAPED, or they would prove nothing. Attacks that could
// harm the host they run on (forkbomb, membomb, diskfill, flood, tiocsti,
// reboot, module, swapon, acct) are never to be run outside a sandbox.
//
// The binary is built with CGO_ENABLED=0 so it runs in any sandbox view that
// can see it, without a C library.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// verdict is the first word of the one line an attack prints.
type verdict string

const (
	escaped verdict = "ESCAPED"
	blocked verdict = "BLOCKED"
	broken  verdict = "ERROR"
	started verdict = "STARTED"
	ok      verdict = "OK"
	failed  verdict = "FAIL"
)

func (v verdict) exitCode() int {
	switch v {
	case escaped, failed:
		return 1
	case broken:
		return 2
	}
	return 0
}

// outcome is what an attack found.
type outcome struct {
	verdict verdict
	detail  string
}

func escapedf(format string, a ...any) outcome {
	return outcome{escaped, fmt.Sprintf(format, a...)}
}

func blockedf(format string, a ...any) outcome {
	return outcome{blocked, fmt.Sprintf(format, a...)}
}

func errorf(format string, a ...any) outcome {
	return outcome{broken, fmt.Sprintf(format, a...)}
}

// attack is one entry of the table: what to run and how to call it.
type attack struct {
	args string // the arguments it takes, for the usage text
	run  func(args []string) outcome
	// min is how many arguments it needs.
	min int
}

// attacks maps a name to its attack; each theme's file contributes a table.
func attacks() map[string]attack {
	all := map[string]attack{}
	for _, t := range []map[string]attack{fsAttacks, procAttacks, netAttacks, kernelAttacks, limitAttacks} {
		for name, a := range t {
			if _, dup := all[name]; dup {
				panic("attack " + name + " is defined twice")
			}
			all[name] = a
		}
	}
	return all
}

func main() {
	// A process started by an attack to outlive the sandbox re-enters here
	// under a name no user types.
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "_") {
		if child, found := children[os.Args[1]]; found {
			child(os.Args[2:])
			os.Exit(0)
		}
	}
	all := attacks()
	if len(os.Args) < 2 {
		usage(all)
		os.Exit(2)
	}
	a, found := all[os.Args[1]]
	if !found {
		report(errorf("unknown attack %q (run without arguments for the list)", os.Args[1]))
	}
	args := os.Args[2:]
	if len(args) < a.min {
		report(errorf("%s needs arguments: %s", os.Args[1], a.args))
	}
	report(a.run(args))
}

// report prints the verdict line and exits with the verdict's status.
func report(o outcome) {
	line := string(o.verdict)
	if o.detail != "" {
		line += " " + oneLine(o.detail)
	}
	fmt.Println(line)
	os.Exit(o.verdict.exitCode())
}

func usage(all map[string]attack) {
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(os.Stderr, "usage: attack NAME [ARGS...]")
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %s %s\n", n, all[n].args)
	}
}

// oneLine keeps the verdict on one line whatever the detail quotes.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// errName names an error by its errno where it has one (EPERM, ENOSYS…),
// which is what tells a seccomp refusal from a Landlock or permission one.
func errName(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		if n := unix.ErrnoName(e); n != "" {
			return n
		}
		return fmt.Sprintf("errno %d", int(e))
	}
	return err.Error()
}

// attempts collects the steps of an attack that tries several ways in; the
// attack escaped when any one step got through.
type attempts struct {
	through []string
	refused []string
}

// got records a step that got through.
func (a *attempts) got(step, format string, args ...any) {
	a.through = append(a.through, step+": "+fmt.Sprintf(format, args...))
}

// deny records a step the kernel refused.
func (a *attempts) deny(step string, err error) {
	a.refused = append(a.refused, step+": "+errName(err))
}

// note records a step that did not get through for a reason of its own.
func (a *attempts) note(step, format string, args ...any) {
	a.refused = append(a.refused, step+": "+fmt.Sprintf(format, args...))
}

// check records step as through when err is nil and refused otherwise.
func (a *attempts) check(step string, err error) bool {
	if err != nil {
		a.deny(step, err)
		return false
	}
	a.got(step, "succeeded")
	return true
}

// privileged records a step whose call the kernel gates on a capability
// before looking at its arguments. The arguments are chosen to be harmless
// or invalid, so success or any error other than EPERM, EACCES or ENOSYS
// means the call got past both the seccomp filter and the capability check:
// the real call with real arguments would have worked.
func (a *attempts) privileged(step string, err error) {
	switch {
	case err == nil:
		a.got(step, "succeeded")
	case refusal(err):
		a.deny(step, err)
	default:
		a.got(step, "passed the privilege check (%s)", errName(err))
	}
}

// refusal reports whether err is how a filter, a missing capability or a
// permission check says no.
func refusal(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOSYS)
}

func (a *attempts) outcome() outcome {
	if len(a.through) > 0 {
		d := strings.Join(a.through, "; ")
		if len(a.refused) > 0 {
			d += " (refused: " + strings.Join(a.refused, "; ") + ")"
		}
		return escapedf("%s", d)
	}
	if len(a.refused) == 0 {
		return errorf("nothing was attempted")
	}
	return blockedf("%s", strings.Join(a.refused, "; "))
}
