package backupstore

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The hand-written record reader gives what encoding/json gives, for
// records as appendRecord writes them and for anything else a
// backup.json may hold (escapes, other spacing and key order, unknown
// keys, nulls, numbers in other forms).
func TestRecordReaderMatchesEncodingJSON(t *testing.T) {
	docs := []string{
		`[]`,
		`[ ]`,
		`[{}]`,
		`[{"path":"a","type":"file","size":1,"mode":"0644","sha256":"ab","modified":"2026-01-02T03:04:05.123456789Z","inode":7,"ctime_ns":1796611144542637838}]`,
		`[{"ctime_ns": -5, "inode": 18446744073709551615, "path": "b", "size": 0}]`,
		`[{"path":"q\"uote\\\u00e9\n","type":"dir","size":0,"mode":"0755","modified":"2026-01-02T03:04:05+02:00"}]`,
		`[{"path":"é/ü","target":"../x}","type":"symlink","size":4,"mode":"0777","modified":"2026-01-02T03:04:05Z"}]`,
		`[{"path":"a","unknown":{"x":[1,{"y":"}"}]},"size":3}]`,
		`[{"path":null,"size":1.0e0}]`,
		`[{"path":"a","size":007}]`,
		`[{"path":"a","backup":"20261121T080000Z_manual"} , {"path":"b","backup":"20261121T080000Z_manual"}
		]`,
		"[{\"path\":\"bad\xff\"}]",
	}
	for i := range 200 {
		f := File{Path: fmt.Sprintf("d%d/<&>\u2028%c", i, rune(rand.N(0x2000)+1)), Type: []string{TypeFile, TypeDir, TypeSymlink}[i%3],
			Size: rand.Int64(), Mode: "0644", SHA256: "00ff", Target: "t", Modified: time.Unix(rand.Int64N(1e10), rand.Int64N(1e9)).UTC(),
			Backup: "b", Inode: rand.Uint64(), CTime: -rand.Int64()}
		b, err := appendRecord(nil, &f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, "[\n    "+string(b)+"\n  ]")
	}
	for _, doc := range docs {
		var want []File
		wantErr := json.Unmarshal([]byte(doc), &want)
		var got []File
		rr := recordReader{r: bufio.NewReader(strings.NewReader(doc[1:])), intern: map[string]string{}}
		var err error
		for {
			var f File
			var more bool
			if more, err = rr.next(&f); err != nil || !more {
				break
			}
			got = append(got, f)
		}
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%.80s: error %v, encoding/json's %v", doc, err, wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%.80s:\n got %+v\nwant %+v", doc, got, want)
		}
	}
}

// A whole backup.json: the keys after the records are read too.
func TestDecodeManifestKeysAfterFiles(t *testing.T) {
	doc := `{"format": 2, "files": [{"path": "a", "type": "file"}], "tables": ["blog"], "base": "B", "depth": 3}`
	m, err := decodeManifest(strings.NewReader(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != 2 || m.Base != "B" || m.Depth != 3 || len(m.Tables) != 1 || len(m.Files) != 1 || m.Files[0].Path != "a" {
		t.Errorf("got %+v", m)
	}
	for _, bad := range []string{`{"files": [{"path": "a"}`, `{"files": [{"path": "a"} {"path": "b"}]}`, `{"files": [{"path": "a"}] "x": 1}`, `{"files": [1]}`} {
		if _, err := decodeManifest(strings.NewReader(bad), nil); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// BenchmarkParseRecord parses records as appendRecord writes them: the
// next backup reads one per file of the root.
func BenchmarkParseRecord(b *testing.B) {
	var recs [][]byte
	for i := range 1000 {
		f := File{Path: fmt.Sprintf("src/pkg%d/file%d.go", i%50, i), Type: TypeFile, Size: int64(i * 1000), Mode: "0644",
			SHA256: strings.Repeat("ab", 32), Modified: time.Unix(1796611144, int64(i)).UTC(), Backup: "20261121T080000Z_manual",
			Inode: uint64(1e6 + i), CTime: 1796611144542637838 + int64(i)}
		rec, err := appendRecord(nil, &f)
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, rec)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, rec := range recs {
			var f File
			if !parseRecord(rec, &f) {
				b.Fatal("a record in appendRecord's form was left to encoding/json")
			}
		}
	}
}
