module github.com/allocscope/allocscope

go 1.26.8

require golang.org/x/sys v0.49.0

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0 // indirect
	github.com/prometheus/procfs v0.23.0 // indirect
	golang.org/x/term v0.47.0 // indirect
)
