package shell

import "fmt"

// Analysis is what Analyze found in a piece of shell text.
type Analysis struct {
	// Commands lists every command that would run, in source order.
	// A command found inside another one (in a substitution, in the
	// arguments of a wrapper such as sudo, or in a string of code such as
	// the argument of bash -c) comes right after the command holding it.
	Commands []Command

	// Dynamic reports that the text depends on something that cannot be
	// known without running it: a command name held in a variable, eval of
	// a variable, code read from stdin, a limit that was reached, and so on.
	// A policy must not allow such text by default. Notes says why.
	Dynamic bool

	// Notes holds one human-readable line for every reason Dynamic was set
	// and for other oddities, each starting with the line and column it
	// concerns.
	Notes []string
}

// Command is one simple command that would run.
type Command struct {
	// Name is the program, builtin or function as written, after quote
	// removal: "rm", "/usr/bin/curl", "python3". It is empty when the name
	// is not statically known, in which case Dynamic is set, and for Bare
	// statements.
	Name string

	// Base is filepath.Base of Name ("curl" for "/usr/bin/curl"), or empty
	// when Name is.
	Base string

	// Args holds argv[1:] after quote removal and brace expansion. A word
	// that cannot be resolved statically appears as its source text, its
	// index is in DynamicArgs, and Dynamic is set. Glob patterns in
	// arguments are kept as written ("*.go") and are not dynamic.
	Args []string

	// DynamicArgs lists the indexes in Args of the words that could not be
	// resolved statically, so that a policy can tell "echo $HOME" from
	// "rm -rf $DIR".
	DynamicArgs []int

	// Assigns holds the variable assignments of the statement: the
	// environment prefix of a command (FOO=1 cmd), the assignments of
	// env and sudo for the command they run, the values set by
	// declare/export/local/readonly, or the assignments of a Bare
	// statement.
	Assigns []Assign

	// Redirects holds the redirections of the statement as written,
	// followed by those of every enclosing compound command ({ ...; } > f,
	// while ...; done < f), which have Inherited set. Commands found inside
	// wrappers, substitutions and code strings do not repeat them: the
	// command that was written carries them.
	Redirects []Redirect

	// Via is the chain of wrappers and contexts that lead to this command,
	// outermost first, for example ["sudo"], ["bash -c"], ["xargs"],
	// ["find -exec"], ["$()"], ["<()"], ["eval"] or ["function f"]. It is
	// empty for a command written at the top level. The package
	// documentation lists every value.
	Via []string

	// Dynamic reports that the name, an argument or a file redirection is
	// not statically known, or that the command runs code that cannot be
	// known statically (eval "$x", curl ... | sh, sed's e flag, ...).
	Dynamic bool

	// Bare marks a statement with no command word: only assignments and
	// redirections ("X=1", "> file", "(( n )) > file"). It is reported so
	// that its assignments and redirections are not lost. Its Name is
	// empty and it is not Dynamic for that reason.
	Bare bool

	// CodeExec is non-empty when the command runs code given inline rather
	// than a program file: "sh -c", "python -c", "awk system", "eval",
	// "stdin script", and so on. The package documentation lists every
	// value. Shell code found this way is analysed too, and its commands
	// follow this one with Via extended.
	CodeExec string

	// Code is the inline code run by CodeExec when it is statically known;
	// several pieces (perl -e a -e b) are joined by newlines.
	Code string

	// Pos is where the command starts in the text given to Analyze. For
	// commands found in a string of code, it is the position of the word
	// holding that string in the outermost text.
	Pos Pos
}

// Assign is one variable assignment.
type Assign struct {
	// Name is the variable, with its index as written for an array
	// element ("a[1]").
	Name string
	// Value is the assigned value after quote removal, or its source text
	// when Dynamic. An array value is given as its source text, "(a b)".
	Value string
	// Dynamic reports that Value is not statically known.
	Dynamic bool
}

// Redirect is one redirection.
type Redirect struct {
	// Op is the operator: ">", ">>", ">|", "<", "<>", "&>", "&>>", ">&",
	// "<&", "<<", "<<-" or "<<<".
	Op string

	// FD is the file descriptor being redirected: the number written
	// before the operator, or 0 for input and 1 for output operators when
	// none is written. "&>" and "&>>" redirect both 1 and 2 and report 1.
	// A named descriptor ({fd}>file) reports -1.
	FD int

	// Target is the file path for file redirections, after quote removal
	// and with "~" kept as written; the descriptor ("2", "-") for
	// duplications; the text fed to stdin for here-documents and
	// here-strings. It is empty when Dynamic.
	Target string

	// Dynamic reports that Target is not statically known. A file
	// redirection with a dynamic target makes its command Dynamic.
	Dynamic bool

	// Program reports a file the program itself writes or reads, as told
	// by its script (sed's w and r, awk's print > "file" and getline <
	// "file"), rather than a redirection of the shell.
	Program bool

	// Inherited reports that the redirection belongs to an enclosing
	// compound command rather than to the command itself.
	Inherited bool
}

// Write reports whether the redirection opens a file for writing,
// truncating or appending to it. ">&word" with a word that is not a
// descriptor writes to the file word, as "&>" does.
func (r Redirect) Write() bool {
	switch r.Op {
	case ">", ">>", ">|", ">>|", "&>", "&>>", "&>|", "&>>|", "<>":
		return true
	case ">&":
		return r.Dynamic || !isDescriptor(r.Target)
	}
	return false
}

// Read reports whether the redirection opens a file for reading.
func (r Redirect) Read() bool {
	switch r.Op {
	case "<", "<>":
		return true
	case "<&":
		return r.Dynamic || !isDescriptor(r.Target)
	}
	return false
}

// file reports whether the target of the redirection names a file or a
// descriptor, as opposed to text fed to stdin.
func (r Redirect) file() bool {
	switch r.Op {
	case "<<", "<<-", "<<<":
		return false
	}
	return true
}

// isDescriptor reports whether s is what may follow ">&" or "<&" to
// duplicate or close a descriptor: digits, optionally followed by "-" to
// move it, or "-" alone.
func isDescriptor(s string) bool {
	if s == "-" {
		return true
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			digits++
		case s[i] == '-' && i == len(s)-1 && digits > 0:
		default:
			return false
		}
	}
	return digits > 0
}

// Pos is a position in shell text. Line and Col start at 1; Col counts
// bytes. The zero Pos means the position is unknown.
type Pos struct {
	Line, Col int
}

// String returns the position as "line:col".
func (p Pos) String() string {
	return fmt.Sprintf("%d:%d", p.Line, p.Col)
}
