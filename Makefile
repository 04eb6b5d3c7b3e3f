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

test: servers
	$(GO) vet ./...
	bash scripts/e2e-tui.sh $(BIN)
	$(GO) test -count=1 -timeout 20m ./...

demo: servers
	./$(BIN) run

bench: servers
	bash scripts/bench-loadgen.sh

soak: servers
	bash scripts/soak.sh

clean:
	rm -rf bin
