package main

import (
	"errors"
	"strings"

	"github.com/allocscope/allocscope/experiment"
)

// flagOf is the flag of run that sets each plan field.
var flagOf = map[experiment.Field]string{
	experiment.FieldConnections: "-c",
	experiment.FieldPipelining:  "-p",
	experiment.FieldRate:        "-R",
	experiment.FieldEngine:      "--engine",
	experiment.FieldDuration:    "-d",
	experiment.FieldInterval:    "--interval",
	experiment.FieldBaseline:    "--baseline",
	experiment.FieldCooldown:    "--cooldown",
	experiment.FieldRuns:        "--runs",
	experiment.FieldThreads:     "--threads",
	experiment.FieldBind:        "--bind",
	experiment.FieldScenario:    "--scenario",
	experiment.FieldPath:        "--path",
	experiment.FieldMix:         "--targets",
	experiment.FieldSweep:       "the list-valued flags",
	experiment.FieldSequential:  "--sequential",
	experiment.FieldMemoryLimit: "--memory-limit",
	experiment.FieldFit:         "--fit",
	experiment.FieldFitTrials:   "--fit-trials",
	experiment.FieldPurgeWait:   "--purge-wait",
}

// planMessage is err's one line with the plan's fields called by their flags.
func planMessage(err error) string {
	var fe *experiment.FieldError
	if !errors.As(err, &fe) {
		return err.Error()
	}
	byFlag := fe.Message(func(f experiment.Field) string {
		if flag, ok := flagOf[f]; ok {
			return flag
		}
		return string(f)
	})
	// A sweep's step prefixes the field's message ("connections=0: ..."): keep it.
	return strings.Replace(err.Error(), fe.Error(), byFlag, 1)
}
