package experiment

import (
	"fmt"
	"strings"
)

// Field names a field of Options, so that a caller can say which of its own inputs set it
// (cmd names the flag).
type Field string

// The Options fields that Validate can refuse.
const (
	FieldConnections Field = "Connections"
	FieldPipelining  Field = "Pipelining"
	FieldRate        Field = "Rate"
	FieldEngine      Field = "Engine"
	FieldDuration    Field = "Duration"
	FieldInterval    Field = "Interval"
	FieldBaseline    Field = "Baseline"
	FieldCooldown    Field = "Cooldown"
	FieldRuns        Field = "Runs"
	FieldThreads     Field = "Threads"
	FieldBind        Field = "Bind"
	FieldScenario    Field = "Scenario"
	FieldPath        Field = "Path"
	FieldMix         Field = "Mix"
	FieldSweep       Field = "Sweep"
	FieldSequential  Field = "Sequential"
	FieldMemoryLimit Field = "MemoryLimit"
	FieldFit         Field = "Fit"
	FieldFitTrials   Field = "FitTrials"
	FieldPurgeWait   Field = "PurgeWait"
)

// FieldError is a plan refused for one field's value, or for fields that cannot go
// together. Its message names fields as Options does; Message names them otherwise.
type FieldError struct {
	Field Field
	// Value is the refused value, nil when the reason says it.
	Value any
	// Reason says what is wrong and, where it can, what to give instead.
	Reason string
	// Also are fields set together with Field that cannot be.
	Also []Field
	// Drop are the fields to leave unset to fix the plan.
	Drop []Field
}

func (e *FieldError) Error() string {
	return e.Message(func(f Field) string { return string(f) })
}

// Message is the error's one line with each field called name(field).
func (e *FieldError) Message(name func(Field) string) string {
	var b strings.Builder
	b.WriteString(name(e.Field))
	for i, f := range e.Also {
		if i == 0 {
			b.WriteString(" and ")
		} else {
			b.WriteString(" or ")
		}
		b.WriteString(name(f))
	}
	switch {
	case len(e.Also) > 0:
		b.WriteString(" both set: " + e.Reason)
	case e.Value != nil:
		fmt.Fprintf(&b, " %v: %s", e.Value, e.Reason)
	default:
		b.WriteString(" " + e.Reason)
	}
	for i, f := range e.Drop {
		if i == 0 {
			b.WriteString(": drop ")
		} else {
			b.WriteString(" and ")
		}
		b.WriteString(name(f))
	}
	return b.String()
}
