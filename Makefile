# The targets the README names. Everything runs from a fresh clone with only
# Go installed; `make test` is what CI runs (through .ci/run).

GO ?= go
# FUZZTIME counts executions, not seconds: a duration can end with a
# spurious "context deadline exceeded" on a busy machine (Go 1.26's fuzzing
# coordinator races its own deadline, go.dev/issue/75804). 30000 runs take
# about 10 s here. A duration still works: make fuzz FUZZTIME=5m.
FUZZTIME ?= 30000x

.PHONY: run test deps check fuzz bench bench-page loadtest generate fmt

run: ## serve the playground on http://127.0.0.1:8080
	$(GO) run ./cmd/playground

test: deps ## every test, with the race detector, then a short fuzz of the request decoder, the template parser and the capture writer
	$(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/bridge
	$(GO) test -run '^$$' -fuzz '^FuzzTemplate$$' -fuzztime $(FUZZTIME) ./internal/session
	$(GO) test -run '^$$' -fuzz '^FuzzPCAPNG$$' -fuzztime $(FUZZTIME) ./internal/export

deps: ## what the tests need beyond Go: Debian's Chromium and a Hangul font, fonts-nanum (browser tests, Korean pages), socat (an independent peer), python3 (runs exported sessions) and tshark (reads exported captures)
	@missing=""; test -x /usr/bin/chromium || missing="chromium"; test -d /usr/share/fonts/truetype/nanum || missing="$$missing fonts-nanum"; command -v socat >/dev/null || missing="$$missing socat"; \
	  command -v python3 >/dev/null || missing="$$missing python3"; command -v tshark >/dev/null || missing="$$missing tshark"; \
	  if [ -n "$$missing" ]; then echo "installing Debian's$$missing for the tests"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; fi

check: ## formatting, vet, staticcheck, tidy go.mod, generated templ code current
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) mod tidy -diff
	$(GO) tool templ generate -check -path web
	@cp -r web /tmp/templ-fmt-check.$$$$ && $(GO) tool templ fmt /tmp/templ-fmt-check.$$$$ >/dev/null 2>&1 && \
	  diff -r web /tmp/templ-fmt-check.$$$$ >/dev/null; rc=$$?; rm -rf /tmp/templ-fmt-check.$$$$; \
	  test $$rc -eq 0 || { echo "templ fmt would change web/*.templ: run make fmt"; exit 1; }

fuzz: ## fuzz the request decoder, the template parser and the capture writer for longer: make fuzz FUZZTIME=5m
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/bridge
	$(GO) test -run '^$$' -fuzz '^FuzzTemplate$$' -fuzztime $(FUZZTIME) ./internal/session
	$(GO) test -run '^$$' -fuzz '^FuzzPCAPNG$$' -fuzztime $(FUZZTIME) ./internal/export

bench: ## bridged vs raw TCP throughput, latency and memory per session, on loopback
	$(GO) run ./cmd/bench

bench-page: deps ## the page under 10,000 UDP datagrams a second in headless Chromium: events rendered, longest task, DOM size, typing latency
	$(GO) test -run '^$$' -bench '^BenchmarkPageTraffic$$' -benchtime 1x ./cmd/playground

loadtest: ## hosted mode under 2,000 sessions for a minute on loopback (2-4 min in all): round latency, errors, and goroutines, memory and sessions back to baseline
	$(GO) build -o bin/playground ./cmd/playground
	$(GO) run ./cmd/loadtest -playground bin/playground

generate: ## regenerate templ's *_templ.go (committed)
	$(GO) tool templ generate -path web

fmt: ## format Go and templ sources
	gofmt -w $$(git ls-files '*.go')
	$(GO) tool templ fmt web
