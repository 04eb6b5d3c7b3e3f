package main

func cmdRun(args []string) error      { return usagef("run: not yet") }
func cmdReplay(args []string) error   { return usagef("replay: not yet") }
func cmdReport(args []string) error   { return usagef("report: not yet") }
func cmdWatch(args []string) error    { return usagef("watch: not yet") }
func loadWorkerMain(args []string) int { return 2 }
