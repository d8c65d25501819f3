package backupstore

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendRecord appends f as json.MarshalIndent(f, "    ", "  ") writes
// it, without reflection or a buffer per record: writeManifest calls it
// once per file, 100,000 times for a root of 100,000 files.
// TestAppendRecordMatchesMarshalIndent holds it to encoding/json's output.
func appendRecord(b []byte, f *File) ([]byte, error) {
	const field = "\n      \""
	b = append(b, '{')
	b = appendJSONString(append(b, field+`path": `...), f.Path)
	b = appendJSONString(append(b, ","+field+`type": `...), f.Type)
	b = strconv.AppendInt(append(b, ","+field+`size": `...), f.Size, 10)
	b = appendJSONString(append(b, ","+field+`mode": `...), f.Mode)
	if f.SHA256 != "" {
		b = appendJSONString(append(b, ","+field+`sha256": `...), f.SHA256)
	}
	if f.Target != "" {
		b = appendJSONString(append(b, ","+field+`target": `...), f.Target)
	}
	b = append(b, ","+field+`modified": `...)
	var err error
	if b, err = appendJSONTime(b, f.Modified); err != nil {
		return nil, err
	}
	if f.Backup != "" {
		b = appendJSONString(append(b, ","+field+`backup": `...), f.Backup)
	}
	if f.Inode != 0 {
		b = strconv.AppendUint(append(b, ","+field+`inode": `...), f.Inode, 10)
	}
	if f.CTime != 0 {
		b = strconv.AppendInt(append(b, ","+field+`ctime_ns": `...), f.CTime, 10)
	}
	return append(b, "\n    }"...), nil
}

// appendJSONTime appends t as time.Time's MarshalJSON does.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		js, err := t.MarshalJSON() // the error MarshalIndent would return
		return append(b, js...), err
	}
	if _, off := t.Zone(); off%60 != 0 {
		js, err := t.MarshalJSON()
		return append(b, js...), err
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// appendJSONString appends s quoted as encoding/json does (HTML
// characters, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}
