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

# The benchmarks, each paired against its peer in one run (see the doc
# comment of each): --check-updates with 20 packs and 200 pending zips,
# migrations against goose and the sqlite3 shell, a feed fetch against
# curl, the admin pages, backups against tar|zstd, unzip and tar, an
# install against unzip, a backup against zip, a rehearsal against the
# install.
bench:
	go run ./bench/checkupdates
	go run ./bench/migrate
	go run ./bench/fetch
	go run ./bench/admin
	go run ./bench/incremental
	go run ./bench/install
	go run ./bench/backup
	go run ./bench/rehearse
	go test -run '^$$' -bench . -benchmem ./manifest

fuzz:
	go test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./manifest
	go test -run '^$$' -fuzz FuzzZip -fuzztime 30s ./manifest
