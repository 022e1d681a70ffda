// Package federation is workload identity federation: the federated identity credentials
// of user-assigned identities, and the exchange of a JWT issued elsewhere (a GitHub Actions
// OIDC token, a Kubernetes service-account token, a token of another Lanyard) for the
// identity a credential names.
//
// Validating an assertion takes, in this order: a syntactic check (size, compact form, an
// asymmetric algorithm); the issuer gate (the assertion's iss must be the issuer of one of
// the identity's credentials, so that Lanyard only ever contacts issuers an administrator
// configured); the time checks (no network needed to refuse a stale assertion); the
// signature, with keys from the issuer's OpenID discovery document and JWKS, fetched over
// HTTPS, from addresses an AddressPolicy allows, with a timeout and a size limit and cached
// per issuer; and last the subject and audience, which are compared exactly. Lanyard's own
// tokens are no exception to revocation: an assertion of its own issuer is checked
// in-process (LocalIssuer) as a resource checks a bearer token, never fetched. Whatever
// goes wrong fetching an issuer's metadata, the caller is told one and the same thing. Every refusal is a *lanyard.Error whose Code is one
// of the Code constants, which protocol surfaces map to their own error codes.
//
// The package speaks HTTP only as a client. It serves nothing.
package federation
