// Package store defines the storage contract every Lanyard backend implements, one small
// interface per aggregate. Backends live in subpackages; storetest holds the conformance
// suite they all must pass.
//
// Contract, for every method:
//   - ctx comes first and cancels the call;
//   - a missing record is an error of kind lanyard.KindNotFound, a duplicate one of kind
//     lanyard.KindConflict (test with lanyard.IsNotFound / IsConflict, never with ==);
//   - names and ARM ids are matched case-insensitively and returned as they were created;
//   - Update* run the updater inside the backend's own transaction, so a read-modify-write
//     is atomic; the updater may be called more than once and must only modify the value it
//     is given (fields added later then survive);
//   - times round-trip at microsecond precision, in UTC.
package store

import (
	"context"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Store is the whole contract.
type Store interface {
	Settings
	Groups
	Identities
	Apps
	Keys
	RoleDefinitions
	RoleAssignments
	StorageAccounts
	PostgresServers
	ServiceBus
	FederatedCredentials
	AuditEvents
	Revocations

	// InTx runs fn with a Store whose calls all belong to one transaction, committed when
	// fn returns nil and rolled back otherwise. Calling InTx on that Store runs fn in the
	// same transaction.
	InTx(ctx context.Context, fn func(tx Store) error) error
	Close() error
}

// TopicResync is the change-feed topic that means "changes may have been missed: reload
// everything".
const TopicResync = "*"

// ChangeFeed is implemented by backends that several processes share. Watch calls fn with
// the name of each table that any process changed (after the change is committed), and
// with TopicResync after an interruption; it returns when ctx is done. A backend one
// process owns announces nothing.
type ChangeFeed interface {
	Watch(ctx context.Context, fn func(topic string)) error
}

// Settings is a small key-value table for server-wide values (tenant id, sealed secrets).
type Settings interface {
	// GetSetting returns the value stored under name, or a NotFound error.
	GetSetting(ctx context.Context, name string) ([]byte, error)
	// PutSetting stores value under name, replacing any previous value.
	PutSetting(ctx context.Context, name string, value []byte) error
	// CreateSetting stores value under name unless it exists (then Conflict). It is how
	// several nodes starting together agree on one generated value.
	CreateSetting(ctx context.Context, name string, value []byte) error
}

// Groups stores resource groups.
type Groups interface {
	CreateGroup(ctx context.Context, g lanyard.ResourceGroup) error
	GetGroup(ctx context.Context, name string) (lanyard.ResourceGroup, error)
	ListGroups(ctx context.Context) ([]lanyard.ResourceGroup, error)
	// ListGroupsPage returns up to limit groups whose names sort after after (names
	// compared case-insensitively; "" starts at the first), ordered by name; limit < 1
	// returns none. The order is the backend's own, the same on every call, so a caller
	// that passes the name of the last group it got walks every group once, in bounded
	// memory, while others are created and deleted.
	ListGroupsPage(ctx context.Context, after string, limit int) ([]lanyard.ResourceGroup, error)
	UpdateGroup(ctx context.Context, name string, fn func(lanyard.ResourceGroup) (lanyard.ResourceGroup, error)) (lanyard.ResourceGroup, error)
	DeleteGroup(ctx context.Context, name string) error
}

// Identities stores managed identities, user- and system-assigned.
type Identities interface {
	// CreateIdentity fails with Conflict if the principal id, the client id or (for a
	// user-assigned identity) the resource id is taken.
	CreateIdentity(ctx context.Context, id lanyard.Identity) error
	GetIdentity(ctx context.Context, principalID string) (lanyard.Identity, error)
	GetIdentityByClientID(ctx context.Context, clientID string) (lanyard.Identity, error)
	// GetIdentityByResourceID finds a user-assigned identity by its ARM id.
	GetIdentityByResourceID(ctx context.Context, resourceID string) (lanyard.Identity, error)
	// ListIdentities lists identities of kind k, in group (all groups when "").
	ListIdentities(ctx context.Context, k lanyard.IdentityKind, group string) ([]lanyard.Identity, error)
	// ListUserAssignedIdentitiesPage returns up to limit user-assigned identities in group
	// (all groups when "", the group compared case-insensitively) whose resource ids sort
	// after after (ids compared case-insensitively; "" starts at the first), ordered by
	// resource id; limit < 1 returns none. A resource id names one user-assigned identity
	// (system-assigned ones share their app's, so they are not paged by it); it sorts by
	// group, then by name. The order is the backend's own, the same on every call, so a
	// caller that passes the resource id of the last identity it got walks every one once,
	// in bounded memory, while others are created and deleted.
	ListUserAssignedIdentitiesPage(ctx context.Context, group, after string, limit int) ([]lanyard.Identity, error)
	UpdateIdentity(ctx context.Context, principalID string, fn func(lanyard.Identity) (lanyard.Identity, error)) (lanyard.Identity, error)
	DeleteIdentity(ctx context.Context, principalID string) error
}

// Apps stores apps with their identity assignments.
type Apps interface {
	CreateApp(ctx context.Context, a lanyard.App) error
	GetApp(ctx context.Context, resourceID string) (lanyard.App, error)
	// GetAppByHeaderHash finds the app whose identity header hashes to h.
	GetAppByHeaderHash(ctx context.Context, h []byte) (lanyard.App, error)
	ListApps(ctx context.Context, group string) ([]lanyard.App, error)
	// ListAppsPage returns up to limit apps in group (all groups when "", the group
	// compared case-insensitively) whose resource ids sort after after (ids compared
	// case-insensitively; "" starts at the first), ordered by resource id, each with its
	// identity assignments; limit < 1 returns none. A resource id sorts by group, then by
	// name. The order is the backend's own, the same on every call, so a caller that passes
	// the resource id of the last app it got walks every app once, in bounded memory, while
	// others are created and deleted.
	ListAppsPage(ctx context.Context, group, after string, limit int) ([]lanyard.App, error)
	// ListAppsWithIdentity lists the apps that hold principalID as a user-assigned identity.
	ListAppsWithIdentity(ctx context.Context, principalID string) ([]lanyard.App, error)
	UpdateApp(ctx context.Context, resourceID string, fn func(lanyard.App) (lanyard.App, error)) (lanyard.App, error)
	DeleteApp(ctx context.Context, resourceID string) error
}

// Keys stores the authority's signing keys.
type Keys interface {
	CreateKey(ctx context.Context, k lanyard.SigningKey) error
	// ListKeys returns every key, newest first.
	ListKeys(ctx context.Context) ([]lanyard.SigningKey, error)
	UpdateKey(ctx context.Context, id string, fn func(lanyard.SigningKey) (lanyard.SigningKey, error)) (lanyard.SigningKey, error)
	DeleteKey(ctx context.Context, id string) error
}

// RoleDefinitions stores custom role definitions; built-in ones ship with the binary.
type RoleDefinitions interface {
	// CreateRoleDefinition fails with Conflict if the id or the role name (compared
	// case-insensitively) is taken.
	CreateRoleDefinition(ctx context.Context, d lanyard.RoleDefinition) error
	GetRoleDefinition(ctx context.Context, id string) (lanyard.RoleDefinition, error)
	ListRoleDefinitions(ctx context.Context) ([]lanyard.RoleDefinition, error)
	UpdateRoleDefinition(ctx context.Context, id string, fn func(lanyard.RoleDefinition) (lanyard.RoleDefinition, error)) (lanyard.RoleDefinition, error)
	DeleteRoleDefinition(ctx context.Context, id string) error
}

// RoleAssignments stores role assignments.
type RoleAssignments interface {
	// CreateRoleAssignment fails with Conflict if the id is taken, or if an assignment of
	// the same role to the same principal exists at the same scope (compared
	// case-insensitively).
	CreateRoleAssignment(ctx context.Context, a lanyard.RoleAssignment) error
	GetRoleAssignment(ctx context.Context, id string) (lanyard.RoleAssignment, error)
	// ListRoleAssignments returns every assignment.
	ListRoleAssignments(ctx context.Context) ([]lanyard.RoleAssignment, error)
	// ListRoleAssignmentsPage returns up to limit assignments matching f whose ids sort
	// after after (ids compared case-insensitively; "" starts at the first), ordered by
	// id; limit < 1 returns none. The order is the backend's own, the same on every call,
	// so a caller that passes the last id it got walks every assignment once, in bounded
	// memory, while others are created and deleted.
	ListRoleAssignmentsPage(ctx context.Context, after string, limit int, f RoleAssignmentFilter) ([]lanyard.RoleAssignment, error)
	// CountRoleAssignmentsOfRole counts the assignments that use role definition id.
	CountRoleAssignmentsOfRole(ctx context.Context, roleDefinitionID string) (int, error)
	DeleteRoleAssignment(ctx context.Context, id string) error
}

// RoleAssignmentFilter selects role assignments; the zero value selects every one. Values
// are compared case-insensitively and scopes as stored (no trailing slash but the root's).
type RoleAssignmentFilter struct {
	PrincipalID string // "" for any principal
	// An assignment matches by scope when its scope is one of Scopes or lies below Below
	// (Below itself excluded; "/" is above every other scope). Both empty: any scope.
	Scopes []string
	Below  string
}

// FederatedCredentials stores the federated identity credentials of user-assigned
// identities, keyed by the identity's principal id and the credential's name. Deleting an
// identity deletes its credentials.
type FederatedCredentials interface {
	// CreateFederatedCredential fails with NotFound if the identity does not exist; with
	// Conflict if the identity has a credential of that name, or one with the same issuer
	// and subject (compared exactly); and with Invalid, code
	// lanyard.CodeFederatedCredentialLimit, if it already has
	// lanyard.MaxFederatedCredentialsPerIdentity credentials.
	CreateFederatedCredential(ctx context.Context, c lanyard.FederatedCredential) error
	GetFederatedCredential(ctx context.Context, principalID, name string) (lanyard.FederatedCredential, error)
	// ListFederatedCredentials lists the identity's credentials by name; an identity
	// without any (or a missing one) has an empty list.
	ListFederatedCredentials(ctx context.Context, principalID string) ([]lanyard.FederatedCredential, error)
	// UpdateFederatedCredential may change anything but the identity and the name; the
	// issuer and subject pair stays unique (Conflict).
	UpdateFederatedCredential(ctx context.Context, principalID, name string, fn func(lanyard.FederatedCredential) (lanyard.FederatedCredential, error)) (lanyard.FederatedCredential, error)
	DeleteFederatedCredential(ctx context.Context, principalID, name string) error
}

// StorageAccounts stores storage accounts.
type StorageAccounts interface {
	// CreateStorageAccount fails with Conflict if the name is taken in any group.
	CreateStorageAccount(ctx context.Context, a lanyard.StorageAccount) error
	GetStorageAccount(ctx context.Context, name string) (lanyard.StorageAccount, error)
	// ListStorageAccounts lists the accounts in group (all groups when "").
	ListStorageAccounts(ctx context.Context, group string) ([]lanyard.StorageAccount, error)
	// ListStorageAccountsPage returns up to limit accounts in group (all groups when "",
	// the group compared case-insensitively) whose names sort after after (names compared
	// case-insensitively; "" starts at the first), ordered by name, in every group as in
	// one, since a name is unique across groups; limit < 1 returns none. The order is the
	// backend's own, the same on every call, so a caller that passes the name of the last
	// account it got walks every account once, in bounded memory, while others are created
	// and deleted.
	ListStorageAccountsPage(ctx context.Context, group, after string, limit int) ([]lanyard.StorageAccount, error)
	UpdateStorageAccount(ctx context.Context, name string, fn func(lanyard.StorageAccount) (lanyard.StorageAccount, error)) (lanyard.StorageAccount, error)
	DeleteStorageAccount(ctx context.Context, name string) error
}

// PostgresServers stores PostgreSQL servers (Microsoft.DBforPostgreSQL/flexibleServers)
// and their principals: the roles bound to principals' object ids. A server is keyed by
// its resource id; deleting it deletes its principals.
type PostgresServers interface {
	// CreatePostgresServer fails with Conflict if the name is taken in any group (code
	// ServerNameAlreadyExists) or another server listens on the same address (code
	// ListenAddressInUse).
	CreatePostgresServer(ctx context.Context, s lanyard.PostgresServer) error
	GetPostgresServer(ctx context.Context, resourceID string) (lanyard.PostgresServer, error)
	// ListPostgresServers returns every server, in every group, by resource id: what a
	// front end listens for.
	ListPostgresServers(ctx context.Context) ([]lanyard.PostgresServer, error)
	// ListPostgresServersPage returns up to limit servers in group (all groups when "",
	// the group compared case-insensitively) whose resource ids sort after after (ids
	// compared case-insensitively; "" starts at the first), ordered by resource id;
	// limit < 1 returns none. The order is the backend's own, the same on every call, so a
	// caller that passes the resource id of the last server it got walks every server
	// once, in bounded memory, while others are created and deleted.
	ListPostgresServersPage(ctx context.Context, group, after string, limit int) ([]lanyard.PostgresServer, error)
	// UpdatePostgresServer may change anything but the resource id and the name; the
	// listen address stays unique (Conflict).
	UpdatePostgresServer(ctx context.Context, resourceID string, fn func(lanyard.PostgresServer) (lanyard.PostgresServer, error)) (lanyard.PostgresServer, error)
	DeletePostgresServer(ctx context.Context, resourceID string) error

	// CreatePostgresPrincipal fails with NotFound if the server does not exist; with
	// Conflict if the role (compared exactly, as PostgreSQL compares role names) is bound
	// on the server, or, for an administrator, if the object id (compared
	// case-insensitively) already is one of the server's.
	CreatePostgresPrincipal(ctx context.Context, p lanyard.PostgresPrincipal) error
	GetPostgresPrincipal(ctx context.Context, serverID, role string) (lanyard.PostgresPrincipal, error)
	// ListPostgresPrincipals lists the server's principals by role (bytewise); a server
	// without any (or a missing one) has an empty list.
	ListPostgresPrincipals(ctx context.Context, serverID string) ([]lanyard.PostgresPrincipal, error)
	DeletePostgresPrincipal(ctx context.Context, serverID, role string) error
}

// ServiceBus stores Service Bus namespaces (Microsoft.ServiceBus/namespaces) and their
// entities. A namespace is keyed by its name, unique across groups as its host name is on
// Azure; a queue or topic by its namespace and name, queues and topics sharing one name
// space; a subscription by its topic and name, a rule by its subscription and name.
// Deleting a namespace deletes its entities, deleting a topic its subscriptions, and
// deleting a subscription its rules.
type ServiceBus interface {
	// CreateServiceBusNamespace fails with Conflict if the name is taken in any group.
	CreateServiceBusNamespace(ctx context.Context, n lanyard.ServiceBusNamespace) error
	GetServiceBusNamespace(ctx context.Context, name string) (lanyard.ServiceBusNamespace, error)
	// ListServiceBusNamespaces lists the namespaces in group (all groups when ""), by name.
	ListServiceBusNamespaces(ctx context.Context, group string) ([]lanyard.ServiceBusNamespace, error)
	// ListServiceBusNamespacesPage returns up to limit namespaces in group (all groups
	// when "", the group compared case-insensitively) whose names sort after after (names
	// compared case-insensitively; "" starts at the first), ordered by name; limit < 1
	// returns none. The order is the same on every call, so passing the last name got
	// walks every namespace once, in bounded memory, while others come and go.
	ListServiceBusNamespacesPage(ctx context.Context, group, after string, limit int) ([]lanyard.ServiceBusNamespace, error)
	// UpdateServiceBusNamespace may change anything but the name.
	UpdateServiceBusNamespace(ctx context.Context, name string, fn func(lanyard.ServiceBusNamespace) (lanyard.ServiceBusNamespace, error)) (lanyard.ServiceBusNamespace, error)
	DeleteServiceBusNamespace(ctx context.Context, name string) error

	// CreateServiceBusQueue fails with NotFound if the namespace does not exist, and with
	// Conflict if a queue or a topic of the namespace has the name.
	CreateServiceBusQueue(ctx context.Context, q lanyard.ServiceBusQueue) error
	GetServiceBusQueue(ctx context.Context, namespace, name string) (lanyard.ServiceBusQueue, error)
	// ListServiceBusQueuesPage pages through the namespace's queues by name, as
	// ListServiceBusNamespacesPage does; a missing namespace has none.
	ListServiceBusQueuesPage(ctx context.Context, namespace, after string, limit int) ([]lanyard.ServiceBusQueue, error)
	// UpdateServiceBusQueue may change anything but the namespace and the name.
	UpdateServiceBusQueue(ctx context.Context, namespace, name string, fn func(lanyard.ServiceBusQueue) (lanyard.ServiceBusQueue, error)) (lanyard.ServiceBusQueue, error)
	DeleteServiceBusQueue(ctx context.Context, namespace, name string) error

	// CreateServiceBusTopic fails as CreateServiceBusQueue does.
	CreateServiceBusTopic(ctx context.Context, t lanyard.ServiceBusTopic) error
	GetServiceBusTopic(ctx context.Context, namespace, name string) (lanyard.ServiceBusTopic, error)
	ListServiceBusTopicsPage(ctx context.Context, namespace, after string, limit int) ([]lanyard.ServiceBusTopic, error)
	UpdateServiceBusTopic(ctx context.Context, namespace, name string, fn func(lanyard.ServiceBusTopic) (lanyard.ServiceBusTopic, error)) (lanyard.ServiceBusTopic, error)
	DeleteServiceBusTopic(ctx context.Context, namespace, name string) error

	// CreateServiceBusSubscription fails with NotFound if the topic does not exist, and
	// with Conflict if the topic has a subscription of that name.
	CreateServiceBusSubscription(ctx context.Context, s lanyard.ServiceBusSubscription) error
	GetServiceBusSubscription(ctx context.Context, namespace, topic, name string) (lanyard.ServiceBusSubscription, error)
	ListServiceBusSubscriptionsPage(ctx context.Context, namespace, topic, after string, limit int) ([]lanyard.ServiceBusSubscription, error)
	UpdateServiceBusSubscription(ctx context.Context, namespace, topic, name string, fn func(lanyard.ServiceBusSubscription) (lanyard.ServiceBusSubscription, error)) (lanyard.ServiceBusSubscription, error)
	DeleteServiceBusSubscription(ctx context.Context, namespace, topic, name string) error

	// CreateServiceBusRule fails with NotFound if the subscription does not exist, and
	// with Conflict if it has a rule of that name.
	CreateServiceBusRule(ctx context.Context, r lanyard.ServiceBusRule) error
	GetServiceBusRule(ctx context.Context, namespace, topic, subscription, name string) (lanyard.ServiceBusRule, error)
	ListServiceBusRulesPage(ctx context.Context, namespace, topic, subscription, after string, limit int) ([]lanyard.ServiceBusRule, error)
	UpdateServiceBusRule(ctx context.Context, namespace, topic, subscription, name string, fn func(lanyard.ServiceBusRule) (lanyard.ServiceBusRule, error)) (lanyard.ServiceBusRule, error)
	DeleteServiceBusRule(ctx context.Context, namespace, topic, subscription, name string) error
}
