package jsondoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"time"
)

// JSONFormat is the version of upkeep's JSON documents, the value of their
// top-level "json_format" key. docs/json.md describes each document.
const JSONFormat = 1

// Write writes v to w as one upkeep JSON document ([Marshal]).
func Write(w io.Writer, v any) error {
	doc, err := Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(doc)
	return err
}

// Marshal returns v as one upkeep JSON document: an object whose first key
// is "json_format": 1, indented, with no HTML escaping (">= 1.2" stays as
// written), and a final newline. Lists that are nil are written as [] and
// times in UTC, so the contract holds without care in each producer.
// Durations are the caller's business: name them *_ms and give them as
// integers. The CLI prints, and the admin API serves, exactly these bytes.
//
// v must marshal to a JSON object: wrap a list in a struct,
// struct{ Backups []Backup `json:"backups"` }.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(normalizeJSON(reflect.ValueOf(v)).Interface()); err != nil {
		return nil, fmt.Errorf("write JSON: %w", err)
	}
	body := bytes.TrimSpace(buf.Bytes())
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("write JSON: a %T is not a JSON object", v)
	}
	doc := fmt.Appendf(nil, `{"json_format":%d`, JSONFormat)
	if rest := bytes.TrimSpace(body[1:]); len(rest) > 0 && rest[0] != '}' {
		doc = append(doc, ',')
	}
	doc = append(doc, body[1:]...)
	var out bytes.Buffer
	if err := json.Indent(&out, doc, "", "  "); err != nil {
		return nil, fmt.Errorf("write JSON: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
)

// normalizeJSON returns a copy of v in which every nil slice is empty and
// every time.Time is in UTC. Values that marshal themselves are left alone.
func normalizeJSON(v reflect.Value) reflect.Value {
	if !v.IsValid() {
		return v
	}
	t := v.Type()
	if t == timeType {
		return reflect.ValueOf(v.Interface().(time.Time).UTC())
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface &&
		(t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType)) {
		return v
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() || t.Implements(marshalerType) {
			return v
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(normalizeJSON(v.Elem()))
		return p
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		n := reflect.New(t).Elem()
		n.Set(normalizeJSON(v.Elem()))
		return n
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 { // []byte marshals as base64
			return v
		}
		n := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(normalizeJSON(v.Index(i)))
		}
		return n
	case reflect.Array:
		n := reflect.New(t).Elem()
		for i := range v.Len() {
			n.Index(i).Set(normalizeJSON(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMapWithSize(t, v.Len())
		for it := v.MapRange(); it.Next(); {
			n.SetMapIndex(it.Key(), normalizeJSON(it.Value()))
		}
		return n
	case reflect.Struct:
		n := reflect.New(t).Elem()
		n.Set(v)
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				n.Field(i).Set(normalizeJSON(v.Field(i)))
			}
		}
		return n
	}
	return v
}
