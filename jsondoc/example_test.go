package jsondoc_test

import (
	"fmt"
	"time"

	"github.com/upkeep/upkeep/jsondoc"
)

// Marshal writes a document by the contract: "json_format": 1 first, []
// for a nil list, UTC times, no HTML escaping.
func ExampleMarshal() {
	doc, err := jsondoc.Marshal(struct {
		Requires string    `json:"requires"`
		Tables   []string  `json:"tables"`
		At       time.Time `json:"at"`
	}{">= 1.2", nil, time.Date(2026, 12, 6, 22, 0, 0, 0, time.FixedZone("CET", 3600))})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(doc))
	// Output:
	// {
	//   "json_format": 1,
	//   "requires": ">= 1.2",
	//   "tables": [],
	//   "at": "2026-12-06T21:00:00Z"
	// }
}
