package blobapi

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

type blobXML struct {
	Name       string       `xml:"Name"`
	Properties blobPropXML  `xml:"Properties"`
	Metadata   *metadataXML `xml:"Metadata"`
}

type blobPropXML struct {
	CreationTime       string `xml:"Creation-Time"`
	LastModified       string `xml:"Last-Modified"`
	ETag               string `xml:"Etag"`
	ContentLength      int64  `xml:"Content-Length"`
	ContentType        string `xml:"Content-Type"`
	ContentEncoding    string `xml:"Content-Encoding,omitempty"`
	ContentLanguage    string `xml:"Content-Language,omitempty"`
	ContentMD5         string `xml:"Content-MD5,omitempty"`
	ContentDisposition string `xml:"Content-Disposition,omitempty"`
	CacheControl       string `xml:"Cache-Control,omitempty"`
	BlobType           string `xml:"BlobType"`
	AccessTier         string `xml:"AccessTier"`
	AccessTierInferred bool   `xml:"AccessTierInferred"`
	LeaseStatus        string `xml:"LeaseStatus"`
	LeaseState         string `xml:"LeaseState"`
	LeaseDuration      string `xml:"LeaseDuration,omitempty"`
	ServerEncrypted    bool   `xml:"ServerEncrypted"`
}

type prefixXML struct {
	Name string `xml:"Name"`
}

// referenceEntries is the encoding/xml rendering of blobEntries that appendBlobsPage
// replaced; it is kept here as the reference the hand-written encoder must match.
type referenceEntries blobEntries

func (b referenceEntries) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, en := range b.entries {
		var err error
		if en.Prefix != "" {
			err = e.EncodeElement(prefixXML{Name: en.Prefix}, xml.StartElement{Name: xml.Name{Local: "BlobPrefix"}})
		} else {
			err = e.EncodeElement(blobItem(en.Blob, b.withMeta, b.now), xml.StartElement{Name: xml.Name{Local: "Blob"}})
		}
		if err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

func blobItem(p blob.BlobProperties, withMeta bool, now time.Time) blobXML {
	x := blobXML{Name: p.Name, Properties: blobPropXML{
		CreationTime: httpTime(p.CreatedAt), LastModified: httpTime(p.LastModified), ETag: p.ETag,
		ContentLength: p.Size, ContentType: p.ContentType, ContentEncoding: p.ContentEncoding,
		ContentLanguage: p.ContentLanguage, ContentDisposition: p.ContentDisposition, CacheControl: p.CacheControl,
		BlobType: blob.BlobTypeBlock, AccessTier: "Hot", AccessTierInferred: true,
		ServerEncrypted: true,
	}}
	switch st := p.Lease.State(now); st {
	case blob.LeaseLeased:
		x.Properties.LeaseStatus, x.Properties.LeaseDuration = "locked", "fixed"
		if p.Lease.Infinite() {
			x.Properties.LeaseDuration = "infinite"
		}
	case blob.LeaseBreaking:
		x.Properties.LeaseStatus = "locked"
	default:
		x.Properties.LeaseStatus = "unlocked"
	}
	x.Properties.LeaseState = string(p.Lease.State(now))
	if len(p.ContentMD5) > 0 {
		x.Properties.ContentMD5 = base64.StdEncoding.EncodeToString(p.ContentMD5)
	}
	if withMeta {
		md := metadataXML(p.Metadata)
		x.Metadata = &md
	}
	return x
}

// referencePage mirrors blobsPage with the reflective entries.
type referencePage struct {
	XMLName         xml.Name         `xml:"EnumerationResults"`
	ServiceEndpoint string           `xml:"ServiceEndpoint,attr"`
	ContainerName   string           `xml:"ContainerName,attr"`
	Prefix          *string          `xml:"Prefix"`
	Marker          *string          `xml:"Marker"`
	MaxResults      *int             `xml:"MaxResults"`
	Delimiter       *string          `xml:"Delimiter"`
	Blobs           referenceEntries `xml:"Blobs"`
	NextMarker      string           `xml:"NextMarker"`
}

// TestBlobsPageMatchesEncodingXML: the hand-written listing is byte for byte what
// encoding/xml produced, over random pages with every optional part and awkward text.
func TestBlobsPageMatchesEncodingXML(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	texts := []string{"", "a", "dir/file.txt", "a&b<c>d\"e'f", "tab\there", "line\nbreak", "ünïcödé ✓", "ctl\x01x", "bad\xffutf8", "]]>"}
	pick := func() string { return texts[rnd.IntN(len(texts))] }
	ptr := func() *string {
		if rnd.IntN(2) == 0 {
			return nil
		}
		s := pick()
		return &s
	}
	for i := range 300 {
		pg := blobsPage{ServiceEndpoint: "https://127.0.0.1:10000/acct/" + pick(), ContainerName: pick(), Prefix: ptr(), Marker: ptr(), Delimiter: ptr(), NextMarker: pick()}
		if rnd.IntN(2) == 0 {
			n := rnd.IntN(5000)
			pg.MaxResults = &n
		}
		pg.Blobs.withMeta = rnd.IntN(2) == 0
		pg.Blobs.now = time.Unix(1e9, 0)
		for range rnd.IntN(8) {
			if rnd.IntN(4) == 0 {
				pg.Blobs.entries = append(pg.Blobs.entries, blob.ListEntry{Prefix: "p/" + pick()})
				continue
			}
			p := blob.BlobProperties{Name: "n" + pick(), Size: rnd.Int64N(1 << 40), HTTPHeaders: blob.HTTPHeaders{ContentType: pick(), ContentEncoding: pick(),
				ContentLanguage: pick(), ContentDisposition: pick(), CacheControl: pick()}, ETag: "0x" + fmt.Sprint(rnd.Int()),
				CreatedAt: time.Unix(rnd.Int64N(2e9), 0), LastModified: time.Unix(rnd.Int64N(2e9), 0)}
			if rnd.IntN(2) == 0 {
				p.ContentMD5 = []byte{1, 2, 3, byte(i)}
			}
			switch rnd.IntN(4) {
			case 1:
				p.Lease = blob.Lease{ID: "x", Phase: blob.LeasePhaseLeased, Duration: blob.LeaseInfinite}
			case 2:
				p.Lease = blob.Lease{ID: "x", Phase: blob.LeasePhaseLeased, Duration: 15, Until: pg.Blobs.now.Add(time.Duration(rnd.IntN(30)-15) * time.Second)}
			case 3:
				p.Lease = blob.Lease{ID: "x", Phase: blob.LeasePhaseBreaking, Until: pg.Blobs.now.Add(time.Duration(rnd.IntN(30)-15) * time.Second)}
			}
			if rnd.IntN(2) == 0 {
				p.Metadata = blob.Metadata{"zeta": pick(), "alpha": pick(), "mid": pick()}
			}
			pg.Blobs.entries = append(pg.Blobs.entries, blob.ListEntry{Blob: p})
		}
		var got bytes.Buffer
		appendBlobsPage(&got, pg)
		ref, err := xml.Marshal(referencePage{ServiceEndpoint: pg.ServiceEndpoint, ContainerName: pg.ContainerName, Prefix: pg.Prefix, Marker: pg.Marker,
			MaxResults: pg.MaxResults, Delimiter: pg.Delimiter, Blobs: referenceEntries(pg.Blobs), NextMarker: pg.NextMarker})
		if err != nil {
			t.Fatal(err)
		}
		want := `<?xml version="1.0" encoding="utf-8"?>` + string(ref)
		if got.String() != want {
			t.Fatalf("page %d differs:\n got %s\nwant %s", i, got.String(), want)
		}
	}
}

func BenchmarkListBlobsXML(b *testing.B) {
	pg := blobsPage{ServiceEndpoint: "https://127.0.0.1:10000/acct/", ContainerName: "c"}
	for i := range 2000 {
		pg.Blobs.entries = append(pg.Blobs.entries, blob.ListEntry{Blob: blob.BlobProperties{Name: fmt.Sprintf("item/%05d", i), Size: 16,
			ETag: "0x8DC", CreatedAt: time.Now(), LastModified: time.Now(), HTTPHeaders: blob.HTTPHeaders{ContentMD5: []byte("0123456789abcdef")}}})
	}
	b.Run("hand-written", func(b *testing.B) {
		for b.Loop() {
			var buf bytes.Buffer
			appendBlobsPage(&buf, pg)
		}
	})
	b.Run("encoding/xml", func(b *testing.B) {
		for b.Loop() {
			_, _ = xml.Marshal(referencePage{ServiceEndpoint: pg.ServiceEndpoint, ContainerName: pg.ContainerName, Blobs: referenceEntries(pg.Blobs)})
		}
	})
}

var _ = base64.StdEncoding
