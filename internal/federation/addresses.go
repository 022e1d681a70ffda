package federation

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// refusedNetworks are the addresses an issuer's metadata is never fetched from unless
// configuration allows them: whoever may write a federated credential could otherwise
// make Lanyard probe this machine and its private networks.
var refusedNetworks = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network", unspecified
	netip.MustParsePrefix("10.0.0.0/8"),     // private
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("127.0.0.0/8"),    // loopback
	netip.MustParsePrefix("169.254.0.0/16"), // link-local, cloud metadata services
	netip.MustParsePrefix("172.16.0.0/12"),  // private
	netip.MustParsePrefix("192.168.0.0/16"), // private
	netip.MustParsePrefix("224.0.0.0/4"),    // multicast
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("::/128"),         // unspecified
	netip.MustParsePrefix("::1/128"),        // loopback
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: an IPv4 address in disguise
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("fc00::/7"),       // unique local
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated, still routed by some)
	netip.MustParsePrefix("ff00::/8"),       // multicast
}

// AddressPolicy decides which addresses issuer metadata may be fetched from: any public
// address, and addresses of the refused ranges only within Allow. The zero value refuses
// every loopback, link-local, private, CGNAT, unspecified, multicast and reserved address.
type AddressPolicy struct {
	// Allow are networks allowed although they fall in a refused range, e.g. a private
	// cluster's OIDC endpoint, or 127.0.0.1/32 for a test issuer.
	Allow []netip.Prefix
}

// errRefusedAddress is what a refused address fails with; the caller sees only that
// the issuer could not be validated.
var errRefusedAddress = errors.New("the address is in a range issuers may not be fetched from (federation.allowedIssuerNetworks)")

// Check returns an error when ip may not be contacted. IPv4-mapped IPv6 addresses are
// judged as the IPv4 address they carry.
func (p *AddressPolicy) Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return fmt.Errorf("invalid address: %w", errRefusedAddress)
	}
	ip = ip.Unmap().WithZone("")
	for _, n := range p.allow() {
		if n.Contains(ip) {
			return nil
		}
	}
	for _, n := range refusedNetworks {
		if n.Contains(ip) {
			return fmt.Errorf("%s: %w", ip, errRefusedAddress)
		}
	}
	return nil
}

func (p *AddressPolicy) allow() []netip.Prefix {
	if p == nil {
		return nil
	}
	return p.Allow
}

// Control is a net.Dialer Control function: it checks the address actually dialled,
// after name resolution, so neither DNS rebinding nor a redirect reaches a refused
// address.
func (p *AddressPolicy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: %w", network, address, err)
	}
	if err := p.Check(ap.Addr()); err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	return nil
}

// CheckIssuer checks, without resolving any name, an issuer about to be written in a
// federated credential: an https URL (lanyard.CheckFederatedIssuer) whose host is not a
// literal address (or localhost) in a refused range. Names are judged when dialled.
func (p *AddressPolicy) CheckIssuer(issuer string) error {
	if err := lanyard.CheckFederatedIssuer(issuer); err != nil {
		return err
	}
	u, err := url.Parse(issuer)
	if err != nil {
		return err // CheckFederatedIssuer parsed it already
	}
	host := strings.ToLower(u.Hostname())
	var addrs []netip.Addr
	switch {
	case host == "localhost" || strings.HasSuffix(host, ".localhost"):
		addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	default:
		if ip, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{ip}
		}
	}
	for _, a := range addrs {
		if p.Check(a) != nil {
			return lanyard.Errorf(lanyard.KindInvalid,
				"The issuer '%s' is on a loopback, link-local or private address, which Lanyard does not contact unless its configuration allows the network (federation.allowedIssuerNetworks).",
				clip(issuer)).WithCode("InvalidIssuer")
		}
	}
	return nil
}
