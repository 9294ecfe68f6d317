package shell

import (
	"slices"
	"testing"
)

func TestAnalyzeRedirects(t *testing.T) {
	tests := []struct {
		src  string
		cmd  int // index of the command whose redirections are checked
		want []Redirect
	}{
		{"echo hi > out.txt", 0, []Redirect{{Op: ">", FD: 1, Target: "out.txt"}}},
		{"echo hi >> ~/log", 0, []Redirect{{Op: ">>", FD: 1, Target: "~/log"}}},
		{"make 2> err.log", 0, []Redirect{{Op: ">", FD: 2, Target: "err.log"}}},
		{"make >| out", 0, []Redirect{{Op: ">|", FD: 1, Target: "out"}}},
		{"make &> all.log", 0, []Redirect{{Op: "&>", FD: 1, Target: "all.log"}}},
		{"make &>> all.log", 0, []Redirect{{Op: "&>>", FD: 1, Target: "all.log"}}},
		{"go test 2>&1", 0, []Redirect{{Op: ">&", FD: 2, Target: "1"}}},
		{"echo x >& /etc/passwd", 0, []Redirect{{Op: ">&", FD: 1, Target: "/etc/passwd"}}},
		{"exec 3<&-", 0, []Redirect{{Op: "<&", FD: 3, Target: "-"}}},
		{"sort < in.txt", 0, []Redirect{{Op: "<", FD: 0, Target: "in.txt"}}},
		{"exec 3<> /dev/tcp/h/80", 0, []Redirect{{Op: "<>", FD: 3, Target: "/dev/tcp/h/80"}}},
		{"cat <<< 'hi there'", 0, []Redirect{{Op: "<<<", FD: 0, Target: "hi there"}}},
		{"cat <<EOF\na $HOME\nEOF", 0, []Redirect{{Op: "<<", FD: 0, Dynamic: true}}},
		{"cat <<'EOF'\na $HOME\nEOF", 0, []Redirect{{Op: "<<", FD: 0, Target: "a $HOME\n"}}},
		{"cat <<EOF\na \\$HOME\nEOF", 0, []Redirect{{Op: "<<", FD: 0, Target: "a $HOME\n"}}},
		{"cat <<-EOF\n\tx\n\tEOF", 0, []Redirect{{Op: "<<-", FD: 0, Target: "x\n"}}},
		{`echo > "my file"`, 0, []Redirect{{Op: ">", FD: 1, Target: "my file"}}},
		{`echo > $out`, 0, []Redirect{{Op: ">", FD: 1, Dynamic: true}}},
		{`echo > *.txt`, 0, []Redirect{{Op: ">", FD: 1, Dynamic: true}}},
		{`exec {fd}> lock`, 0, []Redirect{{Op: ">", FD: -1, Target: "lock"}}},
		{"> /etc/passwd", 0, []Redirect{{Op: ">", FD: 1, Target: "/etc/passwd"}}},
		{"(( n )) > f", 0, []Redirect{{Op: ">", FD: 1, Target: "f"}}},
		{"{ echo a; echo b > b; } > out", 1, []Redirect{
			{Op: ">", FD: 1, Target: "b"}, {Op: ">", FD: 1, Target: "out", Inherited: true}}},
		{"while read l; do echo $l; done < in > out", 0, []Redirect{
			{Op: "<", FD: 0, Target: "in", Inherited: true}, {Op: ">", FD: 1, Target: "out", Inherited: true}}},
		{"( ( ls ) > a ) 2> b", 0, []Redirect{
			{Op: ">", FD: 2, Target: "b", Inherited: true}, {Op: ">", FD: 1, Target: "a", Inherited: true}}},
		{"if true; then :; fi > f", 0, []Redirect{{Op: ">", FD: 1, Target: "f", Inherited: true}}},
		// A function body runs when called; the redirection of the body's
		// block still applies to it.
		{"f() { ls; } > out", 0, []Redirect{{Op: ">", FD: 1, Target: "out", Inherited: true}}},
		// Substitutions run in the outer shell, not under the redirection.
		{"{ echo $(id); } > out", 1, nil},
		// Wrapped commands do not repeat the wrapper's redirections.
		{"sudo tee /etc/x < in > /dev/null", 1, nil},
	}
	for _, tt := range tests {
		an, err := Analyze(tt.src)
		if err != nil {
			t.Fatalf("Analyze(%q): %v", tt.src, err)
		}
		checkInvariants(t, tt.src, an)
		if tt.cmd >= len(an.Commands) {
			t.Errorf("Analyze(%q): %d commands, want more than %d", tt.src, len(an.Commands), tt.cmd)
			continue
		}
		if got := an.Commands[tt.cmd].Redirects; !slices.Equal(got, tt.want) {
			t.Errorf("Analyze(%q).Commands[%d].Redirects =\n\t%+v\nwant\n\t%+v", tt.src, tt.cmd, got, tt.want)
		}
	}
}

func TestRedirectWriteRead(t *testing.T) {
	tests := []struct {
		r           Redirect
		write, read bool
	}{
		{Redirect{Op: ">", Target: "f"}, true, false},
		{Redirect{Op: ">>", Target: "f"}, true, false},
		{Redirect{Op: ">|", Target: "f"}, true, false},
		{Redirect{Op: "&>", Target: "f"}, true, false},
		{Redirect{Op: "&>>", Target: "f"}, true, false},
		{Redirect{Op: "<>", Target: "f"}, true, true},
		{Redirect{Op: "<", Target: "f"}, false, true},
		{Redirect{Op: ">&", Target: "1"}, false, false},
		{Redirect{Op: ">&", Target: "-"}, false, false},
		{Redirect{Op: ">&", Target: "3-"}, false, false},
		{Redirect{Op: ">&", Target: "f"}, true, false},
		{Redirect{Op: ">&", Dynamic: true}, true, false},
		{Redirect{Op: "<&", Target: "0"}, false, false},
		{Redirect{Op: "<&", Target: "f"}, false, true},
		{Redirect{Op: "<<", Target: "text"}, false, false},
		{Redirect{Op: "<<<", Target: "text"}, false, false},
	}
	for _, tt := range tests {
		if got := tt.r.Write(); got != tt.write {
			t.Errorf("%+v.Write() = %v, want %v", tt.r, got, tt.write)
		}
		if got := tt.r.Read(); got != tt.read {
			t.Errorf("%+v.Read() = %v, want %v", tt.r, got, tt.read)
		}
	}
}
