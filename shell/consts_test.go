package shell

import (
	"slices"
	"testing"
)

// Variables whose value is certain are resolved; every way a value could
// differ at run time leaves them unknown.
func TestConsts(t *testing.T) {
	env := map[string]string{"HOME": "/home/dev"}
	tests := []struct {
		src  string
		last []string // argv of the last command with a name; nil: its arguments are unknown
	}{
		{`X=1; echo $X`, []string{"echo", "1"}},
		{"X=1\necho \"$X\" ${X}", []string{"echo", "1", "1"}},
		{`d=build; rm -rf "$d/out"`, []string{"rm", "-rf", "build/out"}},
		{`echo $HOME/x`, []string{"echo", "/home/dev/x"}},
		{`X=1; echo "$(echo $X)"`, []string{"echo", "1"}}, // the substitution inherits X
		{`X='a b'; echo "$X"`, []string{"echo", "a b"}},
		{`HOME=/tmp; echo $HOME`, []string{"echo", "/tmp"}},

		{`echo $X; X=1`, nil},                         // used before it is set
		{`X=1; X=2; echo $X`, nil},                    // set twice
		{`f() { X=2; }; X=1; f; echo $X`, nil},        // set in a function
		{`X=1; read X; echo $X`, nil},                 // read
		{`X=1; eval 'X=2'; echo $X`, nil},             // eval
		{`X=1; source ./env.sh; echo $X`, nil},        // source
		{`X=1; . ./env.sh; echo $X`, nil},             // .
		{`X=1; export X=2; echo $X`, nil},             // declare and kin
		{`X=1; unset X; echo $X`, nil},                // unset
		{`X=1; printf -v X 2; echo $X`, nil},          // printf -v
		{`X=1; for X in a; do :; done; echo $X`, nil}, // a loop variable
		{`X=1; (( X++ )); echo $X`, nil},              // arithmetic
		{`X=1; : ${X:=2}; echo $X`, nil},              // ${X:=...}
		{`X=1; exec {X}>f; echo $X`, nil},             // a named descriptor
		{`X=1; $CMD; echo $X`, nil},                   // a command not known
		{`X=1; command read X; echo $X`, nil},         // read through command
		{`X=1 && echo $X`, nil},                       // in a list
		{`X=1 &` + "\n" + `echo $X`, nil},             // in the background
		{`X=1 true; echo $X`, nil},                    // for one command only
		{`X=$(date); echo $X`, nil},                   // value not static
		{`X='a b'; echo $X`, nil},                     // would be split
		{`X='*'; echo $X`, nil},                       // would be globbed
		{`X=; echo $X`, nil},                          // would vanish
		{`X=1; echo ${X:-2} ${#X}`, nil},              // operators
		{`IFS=:; X=1; echo $X`, nil},                  // IFS set
		{`X=1; v='X=5'; (( v )); echo $X`, nil},       // arithmetic assigns what values say
		{`X=1; [[ v -eq 1 ]]; echo $X`, nil},          // so does [[ -eq ]]
		{`X=1; echo ${a[v]}; echo $X`, nil},           // and a subscript
		{`X=1; echo ${s:v}; echo $X`, nil},            // and an offset
		{`cd /; echo $PWD`, nil},                      // PWD is never taken
		{`echo $USER`, nil},                           // not in the environment given
		{`X=1; RANDOM=4; echo $RANDOM`, nil},          // special
		{`X=1; sh -c 'echo $X'`, nil},                 // another shell
	}
	for _, tt := range tests {
		an, err := AnalyzeEnv(tt.src, env)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		// The last command that is not a bare assignment.
		var c Command
		for _, x := range an.Commands {
			if !x.Bare {
				c = x
			}
		}
		got := append([]string{c.Name}, c.Args...)
		switch {
		case tt.last == nil && len(c.DynamicArgs) == 0:
			t.Errorf("%s: %q resolved, want unknown", tt.src, got)
		case tt.last != nil && (c.Dynamic || !slices.Equal(got, tt.last)):
			t.Errorf("%s: %q (dynamic %v), want %q", tt.src, got, c.Dynamic, tt.last)
		}
	}
	// Without an environment, HOME is not taken for granted.
	if an, _ := Analyze(`echo $HOME`); !an.Commands[0].Dynamic {
		t.Error("echo $HOME resolved without an environment")
	}
}

// A for loop's body is analysed once for each word of the loop, when the
// variable is bound by that loop alone and nothing else may change it.
func TestLoopVariables(t *testing.T) {
	tests := []struct {
		src  string
		want [][]string // the argv of each command named cmd, in order; nil: unknown
	}{
		{`for i in 1 2 3; do cmd $i; done`, [][]string{{"cmd", "1"}, {"cmd", "2"}, {"cmd", "3"}}},
		{`for d in a 'b c'; do cmd "$d/x"; done`, [][]string{{"cmd", "a/x"}, {"cmd", "b c/x"}}},
		{`for i in {1..2}; do cmd "n$i"; done`, [][]string{{"cmd", "n1"}, {"cmd", "n2"}}},
		{`for f in *.go; do cmd "$f"; done`, [][]string{{"cmd", "*.go"}}}, // a path the pattern matches
		{`X=1; for i in a; do cmd $X $i; done`, [][]string{{"cmd", "1", "a"}}},
		{`for i in a b; do for j in c; do cmd $i$j; done; done`, [][]string{{"cmd", "ac"}, {"cmd", "bc"}}},

		{`for f in *.go; do cmd $f; done`, nil},                        // unquoted: a name with spaces splits
		{`for i in 'a b'; do cmd $i; done`, nil},                       // split
		{`for i in a; do i=x; cmd $i; done`, nil},                      // assigned in the body
		{`f() { i=x; }; for i in a; do f; cmd $i; done`, nil},          // in a function
		{`for i in a; do :; done; cmd $i`, nil},                        // after the loop: its last value
		{`for i in a b; do for i in c; do :; done; cmd $i; done`, nil}, // bound twice
		{`for i in $(ls); do cmd $i; done`, nil},                       // words not static
		{`for i in a; do read i; cmd $i; done`, nil},                   // read
		{`for i in a; do eval i=x; cmd $i; done`, nil},                 // eval
		{`for i; do cmd $i; done`, nil},                                // the positional parameters
		{`for i in {1..100}; do cmd $i; done`, nil},                    // too many to follow
		{`for i in a; do (( i++ )); cmd $i; done`, nil},                // arithmetic
		{`for i in a; do : ${i:=x}; cmd $i; done`, nil},                // ${i:=...}
		{`for RANDOM in a; do cmd $RANDOM; done`, nil},                 // special
		{`for i in a; do sh -c 'cmd $i'; done`, nil},                   // another shell
		{`for i in a; do cmd $i; done &` + "\n" + `i=b; cmd $i`, nil},  // assigned elsewhere

		// Code a new shell runs (-c) has its own variables and loops...
		{`sh -c 'for i in a b; do cmd "$i"; done'`, [][]string{{"cmd", "a"}, {"cmd", "b"}}},
		{`bash -c 'd=x; cmd $d'`, [][]string{{"cmd", "x"}}},
		{`find . -exec sh -c 'for f in a; do cmd "$f"; done' \;`, [][]string{{"cmd", "a"}}},
		// ...but not code the same shell runs, nor a remote one, nor where
		// a function could be exported to it.
		{`eval 'for i in a; do cmd $i; done'`, nil},
		{`ssh h 'for i in a; do cmd $i; done'`, nil},
		{`f() { i=x; }; export -f f; bash -c 'for i in a; do f; cmd $i; done'`, nil},
		{`X=1; sh -c 'cmd $X'`, nil},
	}
	for _, tt := range tests {
		an, err := Analyze(tt.src)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		var got [][]string
		dynamic := false
		for _, c := range an.Commands {
			if c.Name == "cmd" {
				got = append(got, append([]string{c.Name}, c.Args...))
				dynamic = dynamic || c.Dynamic
			}
		}
		switch {
		case tt.want == nil && !dynamic:
			t.Errorf("%s: %q resolved, want unknown", tt.src, got)
		case tt.want != nil && (dynamic || !slices.EqualFunc(got, tt.want, slices.Equal)):
			t.Errorf("%s: %q (dynamic %v), want %q", tt.src, got, dynamic, tt.want)
		}
	}
}

// What makes bash run code the analysis cannot see is found in code run
// by a nested shell as well as at the top level.
func TestNestedHazards(t *testing.T) {
	for _, src := range []string{
		`bash -c "PS4='\$(touch x)'; set -x; true"`,
		`sh -c 'read "a[$(touch x)]" <<< v'`,
		`bash -c 'v=a[\$(touch x)]; echo $(( v ))'`,
		`eval "PS4='\$(touch x)'"`,
	} {
		an, err := Analyze(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if !an.Dynamic {
			t.Errorf("%s: not dynamic (notes %q)", src, an.Notes)
		}
	}
}

// Code bash runs where the word-by-word analysis does not look is read
// where it is static, and the commands it runs are found, with the
// reason as their Via; the text stays dynamic.
func TestHiddenCodeFound(t *testing.T) {
	for _, tt := range []struct{ src, via string }{
		{`PS4='$(cmd x)'; set -x; true`, "PS4"},
		{`read 'a[$(cmd x)]' <<< v`, "subscript"},
		{`X='a[$(cmd x)]'; (( X ))`, "arithmetic"},
		{`let 'a[$(cmd x)]=1'`, "arithmetic"},
		{`[[ -v 'a[$(cmd x)]' ]]`, "subscript"},
		{"declare 'a[`cmd x`]=1'", "subscript"},
		{`bash -c "PS1='\$(cmd x)'"`, "PS1"},
	} {
		an, err := Analyze(tt.src)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		found := false
		for _, c := range an.Commands {
			found = found || c.Name == "cmd" && slices.Equal(c.Args, []string{"x"}) && slices.Contains(c.Via, tt.via)
		}
		if !found || !an.Dynamic {
			t.Errorf("%s: hidden cmd found %v (dynamic %v): %+v", tt.src, found, an.Dynamic, an.Commands)
		}
	}
}
