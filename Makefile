# The two commands a newcomer needs: `make demo` and `make test`.
GO      ?= go
BIN     := bin/allocscope
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: setup build servers test demo bench soak clean

setup:
	@bash scripts/setup.sh

build: setup
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/allocscope

servers: build
	./$(BIN) servers build

# The suite runs twice: as is, and under the race detector (whose shadow memory makes
# one RSS test meaningless, so that one skips itself there).
# Real parts the tests start: bash-completion, Prometheus and process-exporter; and
# stress-ng, the CPU hog of scripts/ci-busy.sh (the suite must pass on a busy machine);
# python3, a server allocscope knows nothing of, whose preloaded allocator is proven in /proc;
# wrk and python3-locust (Locust), the load tools run --load-command is tested with.
TEST_PACKAGES := bash-completion prometheus prometheus-process-exporter stress-ng python3 wrk python3-locust

test: servers
	@bash scripts/setup.sh $(TEST_PACKAGES)
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt: format these files: $$unformatted" >&2; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	bash scripts/e2e-tui.sh $(BIN)
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -race -count=1 -timeout 30m ./...

demo: servers
	./$(BIN) run

bench: servers
	bash scripts/bench-loadgen.sh

soak: servers
	bash scripts/soak.sh

clean:
	rm -rf bin
