module github.com/allocscope/allocscope

go 1.26.8

require golang.org/x/sys v0.49.0

require github.com/prometheus/procfs v0.23.0 // indirect
