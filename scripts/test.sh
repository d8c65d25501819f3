#!/usr/bin/env bash
# Runs every check upkeep's CI runs: gofmt, go vet (also for darwin, freebsd
# and windows), staticcheck, and the
# tests with the race detector. It first installs the tools the tests drive (zip, unzip,
# minisign, and Debian's chromium for the browser tests of examples/webapp) when
# they are missing and it can (as root, through apt-get).
#
# Tests that need PostgreSQL or MariaDB run when UPKEEP_TEST_POSTGRES and
# UPKEEP_TEST_MYSQL are set and skip otherwise; UPKEEP_TEST_REQUIRE=1 turns
# such a skip into a failure (.ci/run sets all three).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in zip unzip minisign; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing ${missing[*]}" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	else
		echo "missing ${missing[*]}: the tests that use them will skip (install them to run those)" >&2
	fi
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
# Portability: upkeep builds and vets on the platforms people run it on
# (the tests run on Linux). Platform calls live in _unix.go / _windows.go
# files.
for goos in darwin freebsd windows; do
	GOOS=$goos GOARCH=amd64 CGO_ENABLED=0 go build ./... || { echo "GOOS=$goos go build fails" >&2; exit 1; }
	GOOS=$goos GOARCH=amd64 CGO_ENABLED=0 go vet ./... || { echo "GOOS=$goos go vet fails" >&2; exit 1; }
done
# staticcheck, pinned; installed into GOPATH/bin from the module proxy when missing.
staticcheck=$(go env GOPATH)/bin/staticcheck
[ -x "$staticcheck" ] || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
"$staticcheck" ./...
go test -race -count=1 ./...
# scrypt at minisign's settings takes minutes and gigabytes under -race: this
# one test of encrypted keys runs without it.
go test -count=1 -run '^TestEncryptedKey$' ./internal/signing/
