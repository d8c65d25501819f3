package backupstore

import (
	"encoding/json"
	"testing"
	"time"
)

// appendRecord writes what json.MarshalIndent(f, "    ", "  ") writes,
// for every field present or omitted and strings that need escaping.
func TestAppendRecordMatchesMarshalIndent(t *testing.T) {
	mtime := time.Date(2026, 11, 21, 8, 0, 0, 123456789, time.UTC)
	odd := []string{"", "plain/path.txt", `q"uote\back`, "tab\tnl\ncr\rbs\bff\f", "ctl\x00\x01\x1f\x7f",
		"<html>&amp;", "héllo wörld ☃ 🎉", "sep\u2028par\u2029", "bad\xffutf8\xc3", "trail\xe2\x82"}
	var recs []File
	for i, s := range odd {
		recs = append(recs,
			File{Path: s, Type: TypeFile, Size: int64(i) * 1e9, Mode: "0644", SHA256: "ab" + s, Modified: mtime,
				Backup: s, Inode: uint64(i) << 40, CTime: -int64(i) * 1e12},
			File{Path: s, Type: TypeSymlink, Mode: "0777", Target: s, Modified: mtime.Add(time.Duration(i) * time.Hour)},
			File{Path: "d/" + s, Type: TypeDir, Mode: "0755", Modified: time.Time{}.UTC()},
		)
	}
	recs = append(recs, File{Path: "zone", Modified: mtime.In(time.FixedZone("X", 5*3600+30*60))},
		File{Path: "whole second", Modified: mtime.Truncate(time.Second)})
	for _, f := range recs {
		want, err := json.MarshalIndent(&f, "    ", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendRecord([]byte("x"), &f)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "x"+string(want) {
			t.Errorf("record %q:\n got %s\nwant %s", f.Path, got[1:], want)
		}
	}
	f := File{Path: "far", Modified: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := appendRecord(nil, &f); err == nil {
		t.Error("a year past 9999: no error (json.MarshalIndent refuses it)")
	}
}
