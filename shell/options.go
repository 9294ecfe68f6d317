package shell

import "strings"

// optionSpec describes the getopt-style options of a command: which of
// them take a value. Options not listed are taken as flags without one.
// Specs are declared as package variables and never modified.
type optionSpec struct {
	values   string   // short options taking a value, attached ("-uroot") or as the next word
	optional string   // short options whose value, if any, is attached ("-i.bak")
	long     []string // long options taking a value, as "--name=value" or "--name value"
}

// option is one option read by scanOptions.
type option struct {
	name     string // the letter of a short option, or the name of a long one
	value    arg
	hasValue bool
}

// scanOptions reads the options at the start of args. It returns them with
// the index of the first operand, and end set if "--" ended them. It stops
// at "--" (skipping it), at "-", at the first word that does not start
// with "-", and at a word that is not statically known, which may well be
// the operand.
func scanOptions(args []arg, spec *optionSpec) (opts []option, n int, end bool) {
	for n < len(args) {
		w := args[n]
		s := w.val
		if w.dyn || len(s) < 2 || s[0] != '-' {
			break
		}
		n++
		if s == "--" {
			return opts, n, true
		}
		if strings.HasPrefix(s, "--") {
			name, val, eq := strings.Cut(s[2:], "=")
			o := option{name: name}
			full, takes := spec.longName(name)
			if takes {
				o.name = full
			}
			switch {
			case eq:
				o.value, o.hasValue = arg{val: val, pos: w.pos}, true
			case takes && n < len(args):
				o.value, o.hasValue = args[n], true
				n++
			}
			opts = append(opts, o)
			continue
		}
		for k := 1; k < len(s); k++ {
			c := s[k]
			o := option{name: s[k : k+1]}
			switch {
			case strings.IndexByte(spec.values, c) >= 0:
				if k+1 < len(s) {
					o.value, o.hasValue = arg{val: s[k+1:], pos: w.pos}, true
				} else if n < len(args) {
					o.value, o.hasValue = args[n], true
					n++
				}
				k = len(s)
			case strings.IndexByte(spec.optional, c) >= 0:
				if k+1 < len(s) {
					o.value, o.hasValue = arg{val: s[k+1:], pos: w.pos}, true
				}
				k = len(s)
			}
			opts = append(opts, o)
		}
	}
	return opts, n, false
}

// scanAll reads options anywhere among args, as GNU getopt does for
// commands that permute their arguments (sed, su, vim). It returns the
// options and the operands.
func scanAll(args []arg, spec *optionSpec) (opts []option, operands []arg) {
	for len(args) > 0 {
		o, n, end := scanOptions(args, spec)
		opts = append(opts, o...)
		args = args[n:]
		if end {
			return opts, append(operands, args...)
		}
		if len(args) > 0 {
			operands = append(operands, args[0])
			args = args[1:]
		}
	}
	return opts, operands
}

// longName resolves a long option name that takes a value, accepting the
// unambiguous abbreviations getopt_long accepts. An abbreviation shared
// by several such options resolves to the first; getopt would reject it,
// so nothing runs either way.
func (spec *optionSpec) longName(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	for _, l := range spec.long {
		if l == name {
			return l, true
		}
	}
	for _, l := range spec.long {
		if strings.HasPrefix(l, name) {
			return l, true
		}
	}
	return name, false
}

// has reports whether one of the named options was given.
func has(opts []option, names ...string) bool {
	for _, o := range opts {
		for _, n := range names {
			if o.name == n {
				return true
			}
		}
	}
	return false
}

// leadingAssigns splits the NAME=value words at the start of args, which
// env and sudo put in the environment of the command that follows.
func leadingAssigns(args []arg) ([]Assign, []arg) {
	var as []Assign
	for len(args) > 0 {
		x := args[0]
		// The source text of a dynamic word still shows a literal name.
		name, val, ok := strings.Cut(x.val, "=")
		if !ok || !validName(name) {
			break
		}
		as = append(as, Assign{Name: name, Value: val, Dynamic: x.dyn})
		args = args[1:]
	}
	return as, args
}

// validName reports whether s is a shell variable name.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
