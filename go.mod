module github.com/upkeep/upkeep

go 1.26

require (
	github.com/hashicorp/go-version v1.9.0
	github.com/klauspost/compress v1.20.3
)
