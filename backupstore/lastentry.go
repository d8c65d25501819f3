package backupstore

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zip"
)

// readLastManifest reads backup.json of the zip at path when it is the
// zip's last entry (as this package writes it) without reading the rest
// of the central directory: for a backup of 100,000 files that directory
// alone takes some 30 MB in memory. Anything unexpected is an error, and
// the caller reads the zip the ordinary way. before and each are as in
// decodeManifestKind.
func readLastManifest(path string, before func(head *Manifest) error, each func(*File)) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	size := fi.Size()
	n := min(size, 64<<10+22)
	tail := make([]byte, n)
	if _, err := f.ReadAt(tail, size-n); err != nil {
		return nil, err
	}
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || len(tail)-i < 22 {
		return nil, errors.New("no end of central directory")
	}
	cdSize, cdOff := int64(le.Uint32(tail[i+12:])), int64(le.Uint32(tail[i+16:]))
	if cdSize == 0xffffffff || cdOff == 0xffffffff || le.Uint16(tail[i+10:]) == 0xffff {
		if i < 20 || string(tail[i-20:i-16]) != "PK\x06\x07" {
			return nil, errors.New("no zip64 locator")
		}
		var z [56]byte
		if _, err := f.ReadAt(z[:], int64(le.Uint64(tail[i-20+8:]))); err != nil {
			return nil, err
		}
		if string(z[:4]) != "PK\x06\x06" {
			return nil, errors.New("no zip64 end of central directory")
		}
		cdSize, cdOff = int64(le.Uint64(z[40:])), int64(le.Uint64(z[48:]))
	}
	k := min(cdSize, 4096)
	cd := make([]byte, k)
	if _, err := f.ReadAt(cd, cdOff+cdSize-k); err != nil {
		return nil, err
	}
	for j := bytes.LastIndex(cd, []byte("PK\x01\x02")); j >= 0; j = bytes.LastIndex(cd[:j], []byte("PK\x01\x02")) {
		if len(cd)-j < 46 {
			continue
		}
		nameLen, extraLen, commentLen := int(le.Uint16(cd[j+28:])), int(le.Uint16(cd[j+30:])), int(le.Uint16(cd[j+32:]))
		if j+46+nameLen+extraLen+commentLen != len(cd) || string(cd[j+46:j+46+nameLen]) != ManifestName {
			continue
		}
		method := le.Uint16(cd[j+10:])
		comp, uncomp, off := int64(le.Uint32(cd[j+20:])), int64(le.Uint32(cd[j+24:])), int64(le.Uint32(cd[j+42:]))
		extra := cd[j+46+nameLen : j+46+nameLen+extraLen]
		for len(extra) >= 4 {
			id, sz := le.Uint16(extra), int(le.Uint16(extra[2:]))
			if len(extra) < 4+sz {
				break
			}
			if id == 0x0001 { // zip64: the fields that are 0xffffffff, in this order
				b := extra[4 : 4+sz]
				for _, p := range []*int64{&uncomp, &comp, &off} {
					if *p == 0xffffffff && len(b) >= 8 {
						*p, b = int64(le.Uint64(b)), b[8:]
					}
				}
			}
			extra = extra[4+sz:]
		}
		var lh [30]byte
		if _, err := f.ReadAt(lh[:], off); err != nil {
			return nil, err
		}
		if string(lh[:4]) != "PK\x03\x04" {
			return nil, errors.New("no local header")
		}
		var r io.Reader = io.NewSectionReader(f, off+30+int64(le.Uint16(lh[26:]))+int64(le.Uint16(lh[28:])), comp)
		switch method {
		case zip.Deflate:
			fr := flate.NewReader(r)
			defer fr.Close()
			r = fr
		case zip.Store:
		default:
			return nil, fmt.Errorf("method %d", method)
		}
		m, err := decodeManifestKind(bufio.NewReaderSize(io.LimitReader(r, uncomp), 64<<10), before, each)
		if err != nil {
			return nil, err
		}
		if m.Format < 1 || m.Format > Format {
			return nil, fmt.Errorf("format %d", m.Format)
		}
		m.prefix = FilesDir
		if m.Kind == KindTables {
			m.prefix = TablesDir
		}
		return m, nil
	}
	return nil, errors.New("backup.json is not the last entry")
}
