# The few commands people run. `make test` is what CI runs (through .ci/run).
.PHONY: build test lint bench fuzz

build:
	go build -o upkeep .

test:
	./scripts/test.sh

lint:
	test -z "$$(gofmt -l .)"
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Benchmark of `upkeep --check-updates` (issue "Foundation"): 20 installed
# packs, nothing pending vs 200 pending zips of 5 MB.
bench:
	go run ./bench/checkupdates
	go run ./bench/migrate
	go run ./bench/fetch
	go run ./bench/admin
	go run ./bench/incremental
	go test -run '^$$' -bench . -benchmem ./manifest

fuzz:
	go test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./manifest
	go test -run '^$$' -fuzz FuzzZip -fuzztime 30s ./manifest
