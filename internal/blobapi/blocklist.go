package blobapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// maxBlockListBody bounds a Put Block List body: 50,000 of the longest entries
// (<Uncommitted>, an 88-character id) with room for whitespace and the declaration.
const maxBlockListBody = int64(blob.MaxCommittedBlocks*(len("<Uncommitted></Uncommitted>")+88+8) + 4096)

// errListTooLong stops parsing once the list is over the limit.
var errListTooLong = errors.New("block list too long")

// parseBlockList parses <BlockList><Latest|Committed|Uncommitted>id</...>...</BlockList>,
// keeping the order of entries. It accepts nothing else inside BlockList; ids are
// validated by the domain. Its work is bounded by len(body).
func parseBlockList(body []byte) ([]blob.BlockListItem, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	var items []blob.BlockListItem
	depth := 0
	var cur *blob.BlockListItem
	var text strings.Builder
	sawRoot := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errXML()
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && tk.Name.Local == "BlockList" && !sawRoot:
				sawRoot = true
			case depth == 2:
				kind, ok := map[string]blob.BlockListKind{"Latest": blob.BlockLatest,
					"Committed": blob.BlockCommitted, "Uncommitted": blob.BlockUncommitted}[tk.Name.Local]
				if !ok {
					return nil, errXML()
				}
				if len(items) == blob.MaxCommittedBlocks {
					return nil, errListTooLong
				}
				cur = &blob.BlockListItem{Kind: kind}
				text.Reset()
			default:
				return nil, errXML()
			}
		case xml.EndElement:
			if depth == 2 {
				cur.ID = strings.TrimSpace(text.String())
				items = append(items, *cur)
				cur = nil
			}
			depth--
		case xml.CharData:
			switch {
			case depth == 2:
				if text.Len()+len(tk) > 1024 {
					return nil, errXML()
				}
				text.Write(tk)
			case len(bytes.TrimSpace(tk)) != 0:
				return nil, errXML()
			}
		case xml.Directive:
			return nil, errXML() // no DTDs
		}
	}
	if !sawRoot || depth != 0 {
		return nil, errXML()
	}
	return items, nil
}

type blockXML struct {
	Name string `xml:"Name"`
	Size int64  `xml:"Size"`
}

type blockListXML struct {
	XMLName     xml.Name    `xml:"BlockList"`
	Committed   *[]blockXML `xml:"CommittedBlocks>Block"`
	Uncommitted *[]blockXML `xml:"UncommittedBlocks>Block"`
}

func blocksXML(bs []blob.BlockInfo) *[]blockXML {
	if bs == nil {
		return nil
	}
	out := make([]blockXML, len(bs))
	for i, b := range bs {
		out[i] = blockXML{Name: b.ID, Size: b.Size}
	}
	return &out
}
