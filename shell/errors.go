package shell

import (
	"errors"
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// ParseError reports shell text that does not parse as bash.
type ParseError struct {
	// Line and Col locate the error, starting at 1; both are 0 when the
	// parser gave no position.
	Line, Col int
	// Msg says what is wrong, without the position.
	Msg string
	// Incomplete reports that the text ended too early, for example
	// inside a quote or before "fi"; more text could make it parse.
	Incomplete bool
	// Err is the error returned by the parser.
	Err error
}

// Error returns the message with its position.
func (e *ParseError) Error() string {
	return fmt.Sprintf("parse shell text: %d:%d: %s", e.Line, e.Col, e.Msg)
}

// Unwrap returns the parser's error, a syntax.ParseError or
// syntax.LangError.
func (e *ParseError) Unwrap() error { return e.Err }

// newParseError converts an error of syntax.Parser.Parse.
func newParseError(err error) *ParseError {
	pe := &ParseError{Msg: err.Error(), Err: err}
	var perr syntax.ParseError
	var lerr syntax.LangError
	switch {
	case errors.As(err, &perr):
		pe.Line, pe.Col = int(perr.Pos.Line()), int(perr.Pos.Col())
		pe.Msg = perr.Text
		pe.Incomplete = perr.Incomplete
	case errors.As(err, &lerr):
		pe.Line, pe.Col = int(lerr.Pos.Line()), int(lerr.Pos.Col())
		pe.Msg = strings.TrimPrefix(pe.Msg, lerr.Pos.String()+": ")
	}
	return pe
}
