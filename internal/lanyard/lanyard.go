// Package lanyard holds the domain vocabulary shared by every part of Lanyard: tenants,
// resource groups, managed identities, apps, signing keys and the error kinds. It imports
// only the standard library; transports and storage backends depend on it, never the
// reverse.
package lanyard
