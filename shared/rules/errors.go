package rules

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalidRule is matched (errors.Is) by every error that a rule author can
// fix: YAML syntax, unknown fields, bad values, CEL that does not compile or
// type-check. Any other error from Load or Compile is a bug in driftwatch or
// in the types it was given, not in the rules.
var ErrInvalidRule = errors.New("invalid rule")

// RuleError locates one problem in one rule file. Its text is
// "file:line: field: message", the form editors and CI logs link to.
type RuleError struct {
	// File is the rule's source name (a path inside the loaded file system).
	File string
	// Line is the 1-based line in File, 0 when unknown (a Spec built in Go).
	Line int
	// Field is the YAML field at fault ("condition", "settings",
	// "controls.cis"), empty for problems with the file as a whole.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as "file:line: field: message".
func (e *RuleError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes every RuleError match ErrInvalidRule.
func (e *RuleError) Is(target error) bool { return target == ErrInvalidRule }

// ErrUnknownRule is returned for a rule id the engine does not hold: a
// finding of a rule that has since been removed or disabled.
var ErrUnknownRule = errors.New("unknown rule")
