package servicebus

import (
	"testing"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

func TestParseAddress(t *testing.T) {
	for raw, want := range map[string]address{
		"orders":                              {entity: "orders"},
		"/orders/":                            {entity: "orders"},
		"amqps://localhost:5671/orders":       {entity: "orders"},
		"orders/$DeadLetterQueue":             {entity: "orders", sub: messaging.DeadLetter},
		"orders/$deadletterqueue":             {entity: "orders", sub: messaging.DeadLetter},
		"orders/$management":                  {entity: "orders", management: true},
		"orders/$DeadLetterQueue/$management": {entity: "orders", sub: messaging.DeadLetter, management: true},
		"$cbs":                                {cbs: true},
		"t/Subscriptions/s":                   {entity: "t/Subscriptions/s"},
	} {
		got, ok := parseAddress(raw)
		if !ok || got != want {
			t.Errorf("parseAddress(%q) = %+v, %v; want %+v", raw, got, ok, want)
		}
	}
	for _, bad := range []string{"", "/", "$management", "orders/$Transfer/$DeadLetterQueue", "$other"} {
		if got, ok := parseAddress(bad); ok {
			t.Errorf("parseAddress(%q) = %+v, want refused", bad, got)
		}
	}
}

func TestClaims(t *testing.T) {
	for name, want := range map[string]string{
		"amqps://localhost:5671/orders":                          "orders",
		"amqps://localhost:5671/orders/$management":              "orders",
		"sb://ns.servicebus.windows.net/orders/$DeadLetterQueue": "orders",
		"amqps://localhost:5671/":                                "",
		"orders":                                                 "orders",
	} {
		if got, ok := claimEntity(name); !ok || got != want {
			t.Errorf("claimEntity(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, c := range []struct {
		claimed, entity string
		want            bool
	}{
		{"", "orders", true}, {"orders", "orders", true}, {"orders", "ORDERS", true}, {"orders", "orders/x", true},
		{"orders", "orders2", false}, {"orders2", "orders", false}, {"a/b", "a", false},
	} {
		if got := covers(c.claimed, c.entity); got != c.want {
			t.Errorf("covers(%q, %q) = %v", c.claimed, c.entity, got)
		}
	}
}

// The delivery tag carries a lock token in .NET's GUID byte order: the first three
// fields little-endian.
func TestLockTokenByteOrder(t *testing.T) {
	rfc := [16]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	want := [16]byte{0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	if got := dotNetOrder(rfc); got != want {
		t.Fatalf("dotNetOrder = %x, want %x", got, want)
	}
	if back := dotNetOrder(want); back != rfc {
		t.Fatalf("the swap is not its own inverse: %x", back)
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"orders", "orders/$management", "amqps://h:1/q/$DeadLetterQueue", "$cbs", "%zz", "a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		a, ok := parseAddress(raw)
		if ok && !a.cbs && (a.entity == "" || len(a.entity) > 1024) {
			t.Fatalf("parseAddress(%q) = %+v", raw, a)
		}
		if e, ok := claimEntity(raw); ok && len(e) > 2048 {
			t.Fatalf("claimEntity(%q) = %q", raw, e)
		}
	})
}
