package main

func cmdWatch(args []string) error    { return usagef("watch: not yet") }
