package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the Example texts of the commands, by command path. They are kept in one
// place so that a test can check every line is a valid invocation, and so that adding a
// command without one fails that test.
var examples = map[string]string{
	"lanyard up": `
# Start Lanyard on loopback, keeping its data in ~/.lanyard
lanyard up
# A second, separate instance with its own data folder and ports
lanyard up --home /tmp/lanyard2 --api-addr 127.0.0.1:9443 --msi-addr 127.0.0.1:9080 --blob-addr 127.0.0.1:9444`,
	"lanyard server": `
# Run from a configuration file
lanyard server --config /etc/lanyard/lanyard.json
# The same, with the store given on the command line
lanyard server --config /etc/lanyard/lanyard.json --store postgres://lanyard@db.internal/lanyard
# Serve the API and Blob to the network (the managed-identity endpoint stays on loopback)
lanyard server --config /etc/lanyard/lanyard.json --listen-all`,

	"lanyard down": `
# Stop the Lanyard running for ~/.lanyard
lanyard down
# Stop the one running for another data folder
lanyard down --home /tmp/lanyard2`,
	"lanyard reset": `
# Delete everything in the data folder, after a question
lanyard reset
# Without the question, in a script
lanyard reset --yes`,

	"lanyard group create": `
lanyard group create -n demo
lanyard group create -n demo --location westeurope`,
	"lanyard group show": `
lanyard group show -n demo
lanyard group show -n demo --query properties.provisioningState -o tsv`,
	"lanyard group list": `
lanyard group list -o table
lanyard group list --query "[].name" -o tsv`,
	"lanyard group delete": `
lanyard group delete -n demo --yes`,

	"lanyard identity create": `
lanyard identity create -g demo -n id1
# Keep its client id for later commands
lanyard identity create -g demo -n id1 --query clientId -o tsv`,
	"lanyard identity show": `
lanyard identity show -g demo -n id1
lanyard identity show -g demo -n id1 --query "{clientId:clientId, principalId:principalId}" -o table`,
	"lanyard identity list": `
lanyard identity list -o table
lanyard identity list -g demo --query "[].{name:name, clientId:clientId}" -o table`,
	"lanyard identity delete": `
lanyard identity delete -g demo -n id1`,
	"lanyard identity update": `
# Disable an identity: it gets no tokens, and its tokens fail everywhere
lanyard identity update -g demo -n id1 --enabled false
# Enable an app's system-assigned identity again, found by the app's resource id
lanyard identity update --principal "$(lanyard app show -g demo -n app1 --query id -o tsv)" --enabled true`,
	"lanyard identity federated-credential create": `
# Trust GitHub Actions runs on the main branch of org/repo
lanyard identity federated-credential create -g demo --identity-name id1 -n github-main --issuer https://token.actions.githubusercontent.com --subject repo:org/repo:ref:refs/heads/main`,
	"lanyard identity federated-credential show": `
lanyard identity federated-credential show -g demo --identity-name id1 -n github-main`,
	"lanyard identity federated-credential list": `
lanyard identity federated-credential list -g demo --identity-name id1 -o table`,
	"lanyard identity federated-credential delete": `
lanyard identity federated-credential delete -g demo --identity-name id1 -n github-main`,

	"lanyard app create": `
lanyard app create -g demo -n app1 --identities id1
lanyard app create -g demo -n app2 --system-assigned`,
	"lanyard app show": `
lanyard app show -g demo -n app1
lanyard app show -g demo -n app1 --query identity.principalId -o tsv`,
	"lanyard app list": `
lanyard app list -o table
lanyard app list -g demo --query "[].name" -o tsv`,
	"lanyard app delete": `
lanyard app delete -g demo -n app1`,
	"lanyard app identity assign": `
lanyard app identity assign -g demo -n app1 --identities id2
lanyard app identity assign -g demo -n app1 --system-assigned`,
	"lanyard app identity remove": `
lanyard app identity remove -g demo -n app1 --identities id2`,
	"lanyard app identity show": `
lanyard app identity show -g demo -n app1 -o yaml`,
	"lanyard app env": `
lanyard app env -g demo -n app1`,
	"lanyard app run": `
lanyard app run -g demo -n app1 -- python3 app.py
lanyard app run -g demo -n app1 -- node server.js`,
	"lanyard app rotate-header": `
lanyard app rotate-header -g demo -n app1`,

	"lanyard storage account create": `
lanyard storage account create -g demo -n acct1`,
	"lanyard storage account show": `
lanyard storage account show -g demo -n acct1 --query primaryEndpoints.blob -o tsv`,
	"lanyard storage account list": `
lanyard storage account list -o table`,
	"lanyard storage account delete": `
lanyard storage account delete -g demo -n acct1`,

	"lanyard postgres server create": `
# Front a local PostgreSQL; Lanyard creates roles as its user lanyard_admin, which logs in with a certificate
lanyard postgres server create -g demo -n pg1 --upstream "postgres://lanyard_admin@127.0.0.1:5432/app?sslmode=verify-full"
# A managed PostgreSQL that cannot trust Lanyard's CA: roles get random passwords, kept sealed
lanyard postgres server create -g demo -n pg2 --upstream "host=db.internal user=lanyard_admin password=secret dbname=app sslmode=require" --listen 127.0.0.1:6432
# Keep the address apps connect to
lanyard postgres server create -g demo -n pg3 --upstream "postgres://lanyard_admin@127.0.0.1/app" --query listenAddress -o tsv`,
	"lanyard postgres server show": `
lanyard postgres server show -g demo -n pg1
lanyard postgres server show -g demo -n pg1 --query listenAddress -o tsv`,
	"lanyard postgres server list": `
lanyard postgres server list -o table
lanyard postgres server list -g demo --query "[].{name:name, listen:listenAddress}" -o table`,
	"lanyard postgres server delete": `
# Deletes the server and its role bindings; the roles stay in the upstream
lanyard postgres server delete -g demo -n pg1`,
	"lanyard postgres server ad-admin create": `
# Make identity id1 an Entra administrator of pg1: it may then run pgaadauth_create_principal
lanyard postgres server ad-admin create -g demo -s pg1 --identity id1
# An identity of another group, by resource id, under another role name
lanyard postgres server ad-admin create -g demo -s pg1 --identity "$(lanyard identity show -g ops -n dba --query id -o tsv)" --display-name dba_admin`,
	"lanyard postgres server ad-admin list": `
lanyard postgres server ad-admin list -g demo -s pg1 -o table`,
	"lanyard postgres server ad-admin delete": `
lanyard postgres server ad-admin delete -g demo -s pg1 --identity id1`,
	"lanyard servicebus namespace create": `
# A namespace (its name is unique across groups, as on Azure)
lanyard servicebus namespace create -g demo -n orders-ns
# Its endpoint only
lanyard servicebus namespace create -g demo -n orders-ns --sku Standard --query serviceBusEndpoint -o tsv`,
	"lanyard servicebus namespace show": `
lanyard servicebus namespace show -g demo -n orders-ns`,
	"lanyard servicebus namespace list": `
lanyard servicebus namespace list -o table
lanyard servicebus namespace list -g demo --query "[].name" -o tsv`,
	"lanyard servicebus namespace delete": `
# Deletes its queues, topics and the role assignments scoped to them too
lanyard servicebus namespace delete -g demo -n orders-ns`,
	"lanyard servicebus queue create": `
# A queue with Azure's defaults (lock PT1M, 10 deliveries, messages never expire)
lanyard servicebus queue create -g demo --namespace-name orders-ns -n incoming
# Sessions, a 30-second lock, 14-day messages dead-lettered on expiry
lanyard servicebus queue create -g demo --namespace-name orders-ns -n payments --enable-session --lock-duration PT30S --max-delivery-count 5 --default-message-time-to-live P14D --enable-dead-lettering-on-message-expiration
# Duplicate detection over 30 minutes
lanyard servicebus queue create -g demo --namespace-name orders-ns -n billing --enable-duplicate-detection --duplicate-detection-history-time-window PT30M`,
	"lanyard servicebus queue update": `
# Change the delivery count only; the other settings stay
lanyard servicebus queue update -g demo --namespace-name orders-ns -n incoming --max-delivery-count 3
lanyard servicebus queue update -g demo --namespace-name orders-ns -n incoming --lock-duration PT2M`,
	"lanyard servicebus topic update": `
lanyard servicebus topic update -g demo --namespace-name orders-ns -n events --default-message-time-to-live P1D`,
	"lanyard servicebus topic subscription update": `
lanyard servicebus topic subscription update -g demo --namespace-name orders-ns --topic-name events -n audit --max-delivery-count 20`,
	"lanyard servicebus queue show": `
lanyard servicebus queue show -g demo --namespace-name orders-ns -n incoming
# Messages waiting
lanyard servicebus queue show -g demo --namespace-name orders-ns -n incoming --query countDetails.activeMessageCount -o tsv`,
	"lanyard servicebus queue list": `
lanyard servicebus queue list -g demo --namespace-name orders-ns -o table`,
	"lanyard servicebus queue delete": `
lanyard servicebus queue delete -g demo --namespace-name orders-ns -n incoming`,
	"lanyard servicebus topic create": `
lanyard servicebus topic create -g demo --namespace-name orders-ns -n events
lanyard servicebus topic create -g demo --namespace-name orders-ns -n audit-log --default-message-time-to-live P7D --enable-ordering`,
	"lanyard servicebus topic show": `
lanyard servicebus topic show -g demo --namespace-name orders-ns -n events`,
	"lanyard servicebus topic list": `
lanyard servicebus topic list -g demo --namespace-name orders-ns -o table`,
	"lanyard servicebus topic delete": `
# Deletes its subscriptions and their rules too
lanyard servicebus topic delete -g demo --namespace-name orders-ns -n events`,
	"lanyard servicebus topic subscription create": `
# A subscription gets the $Default rule, which lets every message through
lanyard servicebus topic subscription create -g demo --namespace-name orders-ns --topic-name events -n audit
lanyard servicebus topic subscription create -g demo --namespace-name orders-ns --topic-name events -n shipping --lock-duration PT2M --max-delivery-count 3`,
	"lanyard servicebus topic subscription show": `
lanyard servicebus topic subscription show -g demo --namespace-name orders-ns --topic-name events -n audit`,
	"lanyard servicebus topic subscription list": `
lanyard servicebus topic subscription list -g demo --namespace-name orders-ns --topic-name events -o table`,
	"lanyard servicebus topic subscription delete": `
lanyard servicebus topic subscription delete -g demo --namespace-name orders-ns --topic-name events -n audit`,
	"lanyard servicebus topic subscription rule create": `
# A SQL filter with an action
lanyard servicebus topic subscription rule create -g demo --namespace-name orders-ns --topic-name events --subscription-name shipping -n big --filter-sql-expression "weight > 100" --action-sql-expression "SET priority = 'high'"
# A correlation filter on the subject
lanyard servicebus topic subscription rule create -g demo --namespace-name orders-ns --topic-name events --subscription-name shipping -n vip --label vip`,
	"lanyard servicebus topic subscription rule show": `
lanyard servicebus topic subscription rule show -g demo --namespace-name orders-ns --topic-name events --subscription-name shipping -n big`,
	"lanyard servicebus topic subscription rule list": `
lanyard servicebus topic subscription rule list -g demo --namespace-name orders-ns --topic-name events --subscription-name shipping -o table`,
	"lanyard servicebus topic subscription rule delete": `
# Delete the $Default rule so that only the other rules let messages through
lanyard servicebus topic subscription rule delete -g demo --namespace-name orders-ns --topic-name events --subscription-name shipping -n '$Default'`,
	"lanyard postgres principal create": `
# Bind role app1 to the app (or identity) named app1, as pgaadauth_create_principal('app1', false, false)
lanyard postgres principal create -g demo -s pg1 --role app1
# Bind a role to an object id, as pgaadauth_create_principal_with_oid
lanyard postgres principal create -g demo -s pg1 --role accounting_application --object-id "$(lanyard identity show -g demo -n id1 --query principalId -o tsv)" --type service`,
	"lanyard postgres principal show": `
lanyard postgres principal show -g demo -s pg1 --role app1`,
	"lanyard postgres principal list": `
lanyard postgres principal list -g demo -s pg1 -o table`,
	"lanyard postgres principal delete": `
# Drops the role upstream, then its binding; a role that owns objects is not dropped
lanyard postgres principal delete -g demo -s pg1 --role app1`,

	"lanyard role definition list": `
lanyard role definition list -o table
lanyard role definition list --custom-role-only --query "[].roleName" -o tsv
lanyard role definition list -n "Storage Blob Data Reader"`,
	"lanyard role definition show": `
lanyard role definition show -n "Storage Blob Data Contributor" --query permissions`,
	"lanyard role definition create": `
lanyard role definition create --role-definition @reader.json
lanyard role definition create --role-definition '{"Name": "Blob Lister", "Actions": [], "DataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"], "AssignableScopes": ["/"]}'`,
	"lanyard role definition update": `
lanyard role definition update --role-definition @reader.json`,
	"lanyard role definition delete": `
lanyard role definition delete -n "Blob Lister"`,
	"lanyard role assignment create": `
# Let identity id1 read and write blobs in storage account acct1
lanyard role assignment create --assignee id1 -g demo --role "Storage Blob Data Contributor" --scope "$(lanyard storage account show -g demo -n acct1 --query id -o tsv)"
# By client id, at a resource group
lanyard role assignment create --assignee 00000000-0000-0000-0000-000000000001 --role Reader --scope "$(lanyard group show -n demo --query id -o tsv)"`,
	"lanyard role assignment list": `
lanyard role assignment list --all -o table
lanyard role assignment list --assignee id1 -g demo --query "[].{role:roleDefinitionName, scope:scope}" -o table`,
	"lanyard role assignment delete": `
lanyard role assignment delete --assignee id1 -g demo --role "Storage Blob Data Contributor"
lanyard role assignment delete --ids "$(lanyard role assignment list --assignee id1 -g demo --query "[0].id" -o tsv)"`,
	"lanyard role check": `
# May id1 write blobs in acct1? Exits 1 when it may not.
lanyard role check --assignee id1 -g demo --action Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write --scope "$(lanyard storage account show -g demo -n acct1 --query id -o tsv)" -o table`,

	"lanyard token get": `
lanyard token get -g demo -n app1
lanyard token get -g demo -n app1 --resource https://storage.azure.com/ --query accessToken -o tsv`,
	"lanyard token revoke": `
lanyard token revoke --uti AAAAAAAAAAAAAAAAAAAAAA --reason "leaked in a log"
lanyard token revoke --principal "$(lanyard identity show -g demo -n id1 --query principalId -o tsv)" --before 1h`,
	"lanyard keys list": `
lanyard keys list -o table`,
	"lanyard keys rotate": `
lanyard keys rotate`,

	"lanyard audit list": `
lanyard audit list --since 1h -o table
lanyard audit list --decision denied --action "*/blobs/write" --limit 20 -o table
lanyard audit list --request-id 5f0d3c1e-8d2a-4f7b-b3c4-6a1e2f3d4c5b
lanyard audit list --principal "$(lanyard identity show -g demo -n id1 --query clientId -o tsv)" --query "[].{time:time, action:action, decision:decision}" -o tsv`,
	"lanyard audit explain": `
# By the event id that audit list shows
lanyard audit explain 0b7c9a52-4b53-4a53-9d1a-0c0c3a8f1e2d
# By the request id an SDK error prints (x-ms-request-id)
lanyard audit explain 5f0d3c1e-8d2a-4f7b-b3c4-6a1e2f3d4c5b`,
	"lanyard audit verify": `
lanyard audit verify -o table
lanyard audit verify --file /var/log/lanyard/audit.jsonl`,
	"lanyard login": `
# On the server's machine: keep a profile that uses the admin credential (its path is saved)
lanyard login --server https://lanyard.example:10443 --ca-file ca.pem --admin-token-file ~/.lanyard/admin.token --profile adm
# A team member, as the managed identity of the app they run under; RBAC decides what they may do
lanyard app run -g demo -n web -- lanyard login --server https://lanyard.example:10443 --identity --client-id 6f1c4d2e-8a3b-4c5d-9e7f-0a1b2c3d4e5f
# With DefaultAzureCredential (environment, workload identity, managed identity), signing in at the server's authority
lanyard login --server https://lanyard.example:10443 --azure --profile team`,
	"lanyard logout": `
# Forget the current profile; commands use the server of the data folder again
lanyard logout
lanyard logout --profile adm`,
	"lanyard profile list": `
lanyard profile list -o table`,
	"lanyard profile show": `
lanyard profile show
lanyard profile show --profile adm --query subscriptionId -o tsv`,
	"lanyard profile use": `
lanyard profile use adm
# Back to the server of the data folder (--home)
lanyard profile use --local`,
}

// addExamples fills in every command's Example, indented as cobra and az print them.
func addExamples(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if ex, ok := examples[c.CommandPath()]; ok {
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(ex), "\n") {
				lines = append(lines, "  "+l)
			}
			c.Example = strings.Join(lines, "\n")
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
