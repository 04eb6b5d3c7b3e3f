package main

func cmdReplay(args []string) error   { return usagef("replay: not yet") }
func cmdReport(args []string) error   { return usagef("report: not yet") }
func cmdWatch(args []string) error    { return usagef("watch: not yet") }
