# The two commands a newcomer needs: `make demo` and `make test`.
GO      ?= go
BIN     := bin/allocscope
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

# Where make install puts allocscope, as a Debian user expects: DESTDIR stages it for a package.
PREFIX  ?= /usr/local
DESTDIR ?=
# The man page's date: the last commit's, so that the same source gives the same page.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)

.PHONY: setup build servers test demo bench soak clean install

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

# The binary, its man page and its bash, zsh and fish completions, all generated from the
# built binary's one command tree.
install: build
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) ./$(BIN) __gendocs man bin/allocscope.1
	gzip -9nf bin/allocscope.1
	./$(BIN) completion bash > bin/allocscope.bash
	./$(BIN) completion zsh > bin/_allocscope
	./$(BIN) completion fish > bin/allocscope.fish
	install -Dm 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/allocscope
	install -Dm 0644 bin/allocscope.1.gz $(DESTDIR)$(PREFIX)/share/man/man1/allocscope.1.gz
	install -Dm 0644 bin/allocscope.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/allocscope
	install -Dm 0644 bin/_allocscope $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_allocscope
	install -Dm 0644 bin/allocscope.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/allocscope.fish

clean:
	rm -rf bin
