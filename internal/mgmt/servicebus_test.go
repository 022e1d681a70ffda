package mgmt

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

func serviceBusPath(g, name string) string {
	return groupPath(g) + "/providers/Microsoft.ServiceBus/namespaces/" + name
}

// fakeCounts answers every entity's counts from a table, as the messaging side will.
type fakeCounts map[string]lanyard.ServiceBusCounts

func (f fakeCounts) EntityCounts(_ context.Context, ns, path string) (lanyard.ServiceBusCounts, error) {
	return f[ns+"/"+path], nil
}

func TestServiceBusNamespacesAPI(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "rg", "westeurope")
	ns := serviceBusPath("rg", "orders-ns")
	res := f.call(t, "PUT", ns, `{"sku":{"name":"Standard","tier":"Standard"},"tags":{"a":"b"}}`)
	expect(t, res, http.StatusCreated)
	m := res.object(t)
	for path, want := range map[string]string{
		"id": ns, "name": "orders-ns", "type": "Microsoft.ServiceBus/Namespaces", "location": "westeurope",
		"sku/name": "Standard", "sku/tier": "Standard", "tags/a": "b",
		"properties/provisioningState": "Succeeded", "properties/status": "Active",
		"properties/serviceBusEndpoint": "https://localhost:17201/", "properties/listenAddress": "127.0.0.1:17201",
	} {
		if got := str(m, strings.Split(path, "/")...); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if get(m, "properties", "disableLocalAuth") != true {
		t.Errorf("disableLocalAuth: %v", get(m, "properties", "disableLocalAuth"))
	}
	res = f.call(t, "PUT", ns, `{"properties":{"listenAddress":"127.0.0.2:5671"}}`)
	expect(t, res, http.StatusOK)
	if got := str(res.object(t), "properties", "serviceBusEndpoint"); got != "https://localhost:5671/" {
		t.Errorf("endpoint after a move: %q", got)
	}
	armError(t, f.call(t, "PUT", ns, `{"properties":{"listenAddress":"nowhere"}}`), http.StatusBadRequest, "InvalidParameter")
	expect(t, f.call(t, "PUT", ns, `{"sku":{"name":"Premium"}}`), http.StatusOK)
	res = f.call(t, "PATCH", ns, `{"tags":{"c":"d"}}`)
	expect(t, res, http.StatusOK)
	if m := res.object(t); str(m, "sku", "name") != "Premium" || str(m, "tags", "c") != "d" {
		t.Errorf("after PATCH: %s", res.body)
	}
	expect(t, f.call(t, "HEAD", ns, ""), http.StatusNoContent)
	armError(t, f.call(t, "PUT", serviceBusPath("rg", "bad"), `{}`), http.StatusBadRequest, "BadRequest")
	armError(t, f.call(t, "PUT", serviceBusPath("rg", "orders-sb"), `{}`), http.StatusBadRequest, "BadRequest")
	armError(t, f.call(t, "PUT", serviceBusPath("rg", "skuless"), `{"sku":{"name":"Gold"}}`), http.StatusBadRequest, "BadRequest")
	// A name taken in another group: Azure answers 400 "The specified name is not available."
	f.mustGroup(t, "rg2", "local")
	msg := armError(t, f.call(t, "PUT", serviceBusPath("rg2", "ORDERS-NS"), `{}`), http.StatusBadRequest, "BadRequest")
	if msg != "The specified name is not available." {
		t.Errorf("message %q", msg)
	}
	armError(t, f.call(t, "GET", serviceBusPath("rg2", "orders-ns"), ""), http.StatusNotFound, "ResourceNotFound")

	check := "/subscriptions/" + subID + "/providers/Microsoft.ServiceBus/CheckNameAvailability"
	for name, want := range map[string]string{
		"orders-ns": `{"nameAvailable":false,"reason":"NameInUse","message":"The specified name is not available."}`,
		"free-name": `{"nameAvailable":true,"reason":"None"}`,
	} {
		res := f.call(t, "POST", check, `{"name":"`+name+`"}`)
		expect(t, res, http.StatusOK)
		if strings.TrimSpace(string(res.body)) != want {
			t.Errorf("checkNameAvailability %s: %s", name, res.body)
		}
	}
	res = f.call(t, "POST", check, `{"name":"x-sb"}`)
	if m := res.object(t); m["nameAvailable"] != false || m["reason"] != "InvalidName" {
		t.Errorf("checkNameAvailability of an invalid name: %s", res.body)
	}
	res = f.call(t, "GET", groupPath("rg")+"/resources", "")
	expect(t, res, http.StatusOK)
	if l := res.list(t); len(l) != 1 || str(l[0], "type") != "Microsoft.ServiceBus/namespaces" || str(l[0], "id") != ns {
		t.Errorf("the group's resources: %s", res.body)
	}

	for _, path := range []string{"/subscriptions/" + subID + "/providers/Microsoft.ServiceBus/namespaces", groupPath("rg") + "/providers/Microsoft.ServiceBus/namespaces"} {
		res = f.call(t, "GET", path, "")
		expect(t, res, http.StatusOK)
		if l := res.list(t); len(l) != 1 || str(l[0], "name") != "orders-ns" {
			t.Errorf("list %s: %s", path, res.body)
		}
	}
	expect(t, f.call(t, "GET", groupPath("rg2")+"/providers/Microsoft.ServiceBus/namespaces", ""), http.StatusOK)
	expect(t, f.call(t, "DELETE", ns, ""), http.StatusOK)
	expect(t, f.call(t, "DELETE", ns, ""), http.StatusNoContent)
	armError(t, f.call(t, "GET", ns, ""), http.StatusNotFound, "ResourceNotFound")
}

func TestServiceBusQueuesAPI(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "rg", "local")
	ns := serviceBusPath("rg", "orders-ns")
	expect(t, f.call(t, "PUT", ns, `{}`), http.StatusCreated)
	// Azure's queue PUT answers 200, created or not.
	res := f.call(t, "PUT", ns+"/queues/incoming", `{}`)
	expect(t, res, http.StatusOK)
	m := res.object(t)
	for path, want := range map[string]any{
		"id": ns + "/queues/incoming", "type": "Microsoft.ServiceBus/Namespaces/Queues",
		"properties/lockDuration": "PT1M", "properties/maxDeliveryCount": 10.0,
		"properties/defaultMessageTimeToLive":            "P10675199DT2H48M5.4775807S",
		"properties/autoDeleteOnIdle":                    "P10675199DT2H48M5.4775807S",
		"properties/duplicateDetectionHistoryTimeWindow": "PT10M", "properties/maxSizeInMegabytes": 1024.0,
		"properties/requiresSession": false, "properties/deadLetteringOnMessageExpiration": false,
		"properties/enableBatchedOperations": true, "properties/status": "Active",
		"properties/countDetails/activeMessageCount": 0.0, "properties/messageCount": 0.0,
	} {
		if got := get(m, strings.Split(path, "/")...); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if _, ok := get(m, "properties").(map[string]any)["forwardTo"]; ok {
		t.Errorf("forwardTo of a queue that forwards nowhere: %s", res.body)
	}
	res = f.call(t, "PUT", ns+"/queues/incoming", `{"properties":{"lockDuration":"PT30S","maxDeliveryCount":3,"defaultMessageTimeToLive":"P14D","deadLetteringOnMessageExpiration":true}}`)
	expect(t, res, http.StatusOK)
	m = res.object(t)
	if str(m, "properties", "lockDuration") != "PT30S" || get(m, "properties", "maxDeliveryCount") != 3.0 || str(m, "properties", "defaultMessageTimeToLive") != "P14D" ||
		get(m, "properties", "deadLetteringOnMessageExpiration") != true {
		t.Errorf("after an update: %s", res.body)
	}
	for body, what := range map[string]string{
		`{"properties":{"lockDuration":"1 minute"}}`:                                                     "a duration that is not ISO 8601",
		`{"properties":{"lockDuration":"PT10M"}}`:                                                        "a lock duration over 5 minutes",
		`{"properties":{"maxDeliveryCount":0}}`:                                                          "a max delivery count of 0",
		`{"properties":{"requiresSession":true}}`:                                                        "a session change",
		`{"properties":{"enablePartitioning":true}}`:                                                     "partitioning",
		`{"properties":{"forwardTo":"nowhere"}}`:                                                         "forwarding to a missing queue",
		`{"properties":{"requiresDuplicateDetection":true,"duplicateDetectionHistoryTimeWindow":"P8D"}}`: "a duplicate window over 7 days",
	} {
		t.Run(what, func(t *testing.T) {
			armError(t, f.call(t, "PUT", ns+"/queues/incoming", body), http.StatusBadRequest, "BadRequest")
		})
	}
	armError(t, f.call(t, "PUT", ns+"/queues/-bad", `{}`), http.StatusBadRequest, "BadRequest")
	// Counts come from the messaging side.
	f.h.ServiceBusCounts = fakeCounts{"orders-ns/incoming": {Active: 5, DeadLetter: 2, Scheduled: 1}}
	res = f.call(t, "GET", ns+"/queues/INCOMING", "")
	expect(t, res, http.StatusOK)
	m = res.object(t)
	if get(m, "properties", "countDetails", "activeMessageCount") != 5.0 || get(m, "properties", "countDetails", "deadLetterMessageCount") != 2.0 ||
		get(m, "properties", "messageCount") != 8.0 || str(m, "name") != "incoming" {
		t.Errorf("counts: %s", res.body)
	}
	// Queues and topics share names.
	armError(t, f.call(t, "PUT", ns+"/topics/incoming", `{}`), http.StatusConflict, "Conflict")
	for _, q := range []string{"b", "c", "d"} {
		expect(t, f.call(t, "PUT", ns+"/queues/"+q, `{}`), http.StatusOK)
	}
	names := pagedNames(t, f, ns+"/queues", 2)
	if strings.Join(names, ",") != "b,c,d,incoming" {
		t.Errorf("queues by page: %v", names)
	}
	expect(t, f.call(t, "DELETE", ns+"/queues/incoming", ""), http.StatusOK)
	expect(t, f.call(t, "DELETE", ns+"/queues/incoming", ""), http.StatusNoContent)
	armError(t, f.call(t, "GET", ns+"/queues/incoming", ""), http.StatusNotFound, "NotFound")
	armError(t, f.call(t, "GET", serviceBusPath("rg", "missing-ns")+"/queues", ""), http.StatusNotFound, "ResourceNotFound")
}

// pagedNames walks a list by $top pages through its nextLinks.
func pagedNames(t *testing.T, f *fixture, path string, top int) []string {
	t.Helper()
	var names []string
	next := path + "?$top=" + strconv.Itoa(top)
	for range 20 {
		res := f.request(t, "GET", strings.Replace(next, "?", "?api-version="+apiVer+"&", 1), "", map[string]string{"Authorization": "Bearer " + adminToken})
		expect(t, res, http.StatusOK)
		for _, it := range res.list(t) {
			names = append(names, str(it, "name"))
		}
		link, _ := res.object(t)["nextLink"].(string)
		if link == "" {
			return names
		}
		next = strings.TrimPrefix(link, f.srv.URL)
		next = strings.Replace(next, "api-version="+apiVer+"&", "", 1)
	}
	t.Fatal("too many pages")
	return nil
}

func TestServiceBusTopicsSubscriptionsRulesAPI(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "rg", "local")
	ns := serviceBusPath("rg", "orders-ns")
	expect(t, f.call(t, "PUT", ns, `{}`), http.StatusCreated)
	topic := ns + "/topics/events"
	res := f.call(t, "PUT", topic, `{"properties":{"defaultMessageTimeToLive":"P14D","supportOrdering":true}}`)
	expect(t, res, http.StatusOK)
	if m := res.object(t); str(m, "type") != "Microsoft.ServiceBus/Namespaces/Topics" || str(m, "properties", "defaultMessageTimeToLive") != "P14D" ||
		get(m, "properties", "supportOrdering") != true {
		t.Errorf("topic: %s", res.body)
	}
	sub := topic + "/subscriptions/audit"
	res = f.call(t, "PUT", sub, `{"properties":{"lockDuration":"PT2M","maxDeliveryCount":5,"requiresSession":true}}`)
	expect(t, res, http.StatusOK)
	if m := res.object(t); str(m, "id") != sub || str(m, "type") != "Microsoft.ServiceBus/Namespaces/Topics/Subscriptions" ||
		str(m, "properties", "lockDuration") != "PT2M" || get(m, "properties", "requiresSession") != true ||
		get(m, "properties", "deadLetteringOnFilterEvaluationExceptions") != true || get(m, "properties", "countDetails", "activeMessageCount") != 0.0 {
		t.Errorf("subscription: %s", res.body)
	}
	// A new subscription has Azure's $Default rule.
	res = f.call(t, "GET", sub+"/rules", "")
	expect(t, res, http.StatusOK)
	if l := res.list(t); len(l) != 1 || str(l[0], "name") != "$Default" || str(l[0], "properties", "filterType") != "SqlFilter" ||
		str(l[0], "properties", "sqlFilter", "sqlExpression") != "1=1" {
		t.Errorf("rules of a new subscription: %s", res.body)
	}
	res = f.call(t, "PUT", sub+"/rules/vip", `{"properties":{"filterType":"CorrelationFilter","correlationFilter":{"label":"vip","properties":{"tier":"gold"}},"action":{"sqlExpression":"SET priority = 'high'"}}}`)
	expect(t, res, http.StatusOK)
	if m := res.object(t); str(m, "type") != "Microsoft.ServiceBus/Namespaces/Topics/Subscriptions/Rules" ||
		str(m, "properties", "correlationFilter", "label") != "vip" || str(m, "properties", "correlationFilter", "properties", "tier") != "gold" ||
		str(m, "properties", "action", "sqlExpression") != "SET priority = 'high'" || get(m, "properties", "sqlFilter") != nil {
		t.Errorf("rule: %s", res.body)
	}
	res = f.call(t, "PUT", sub+"/rules/big", `{"properties":{"sqlFilter":{"sqlExpression":"size > 100"}}}`)
	expect(t, res, http.StatusOK)
	if m := res.object(t); str(m, "properties", "filterType") != "SqlFilter" || get(m, "properties", "sqlFilter", "compatibilityLevel") != 20.0 {
		t.Errorf("rule with a filter type by default: %s", res.body)
	}
	armError(t, f.call(t, "PUT", sub+"/rules/bad", `{"properties":{"filterType":"TrueFilter"}}`), http.StatusBadRequest, "BadRequest")
	armError(t, f.call(t, "PUT", sub+"/rules/bad", `{"properties":{"filterType":"SqlFilter"}}`), http.StatusBadRequest, "BadRequest")
	// An expression Service Bus would not parse is refused with where it went wrong.
	for body, want := range map[string]string{
		`{"properties":{"sqlFilter":{"sqlExpression":"size >> 100"}}}`:                                  "Token line=1, column=6, Token in error= >",
		`{"properties":{"sqlFilter":{"sqlExpression":"sys.Nope = 1"}}}`:                                 "'sys.Nope' does not exist",
		`{"properties":{"sqlFilter":{"sqlExpression":"1=1"},"action":{"sqlExpression":"DELETE size"}}}`: "expecting SET or REMOVE",
	} {
		msg := armError(t, f.call(t, "PUT", sub+"/rules/bad", body), http.StatusBadRequest, "BadRequest")
		if !strings.HasPrefix(msg, "There was an error parsing the SQL expression.") || !strings.Contains(msg, want) {
			t.Errorf("PUT %s: message %q, want one with %q", body, msg, want)
		}
	}
	armError(t, f.call(t, "PUT", topic+"/subscriptions/x/rules/r", `{"properties":{"sqlFilter":{"sqlExpression":"1=1"}}}`), http.StatusNotFound, "NotFound")
	armError(t, f.call(t, "PUT", ns+"/topics/missing/subscriptions/x", `{}`), http.StatusNotFound, "NotFound")
	expect(t, f.call(t, "GET", sub+"/rules/VIP", ""), http.StatusOK)
	expect(t, f.call(t, "DELETE", sub+"/rules/vip", ""), http.StatusOK)
	expect(t, f.call(t, "DELETE", sub+"/rules/vip", ""), http.StatusNoContent)
	res = f.call(t, "GET", topic+"/subscriptions", "")
	expect(t, res, http.StatusOK)
	if l := res.list(t); len(l) != 1 || str(l[0], "name") != "audit" {
		t.Errorf("subscriptions: %s", res.body)
	}
	// Deleting the topic deletes its subscriptions and rules.
	expect(t, f.call(t, "DELETE", topic, ""), http.StatusOK)
	expect(t, f.call(t, "PUT", topic, `{}`), http.StatusOK)
	armError(t, f.call(t, "GET", sub, ""), http.StatusNotFound, "NotFound")
	res = f.call(t, "GET", ns+"/topics", "")
	expect(t, res, http.StatusOK)
	if l := res.list(t); len(l) != 1 {
		t.Errorf("topics: %s", res.body)
	}
	expect(t, f.call(t, "DELETE", topic+"/subscriptions/audit", ""), http.StatusNoContent)
}

func TestServiceBusWithoutService(t *testing.T) {
	f := newFixture(t)
	f.h.ServiceBus = nil
	f.mustGroup(t, "rg", "local")
	armError(t, f.call(t, "PUT", serviceBusPath("rg", "orders-ns"), `{}`), http.StatusServiceUnavailable, "ServiceUnavailable")
	armError(t, f.call(t, "GET", serviceBusPath("rg", "orders-ns")+"/queues", ""), http.StatusServiceUnavailable, "ServiceUnavailable")
}

// TestServiceBusNeighbouringGroup: a Contributor of grp2 reaches nothing of grp's
// namespace, neither through grp2's paths nor through grp's.
func TestServiceBusNeighbouringGroup(t *testing.T) {
	m := newMatrixFixture(t)
	m.mustGroup(t, "grp", "local")
	m.mustGroup(t, "grp2", "local")
	victim := serviceBusPath("grp", "victim-ns")
	expect(t, m.call(t, "PUT", victim, `{}`), http.StatusCreated)
	expect(t, m.call(t, "PUT", victim+"/queues/orders", `{}`), http.StatusOK)
	expect(t, m.call(t, "PUT", victim+"/topics/events", `{}`), http.StatusOK)
	expect(t, m.call(t, "PUT", victim+"/topics/events/subscriptions/audit", `{}`), http.StatusOK)
	contributor := m.caller(t, grant{"*", groupPath("grp2")})
	send := func(method, path, body string) response {
		return m.request(t, method, path+"?api-version="+apiVer, body, contributor)
	}
	via := serviceBusPath("grp2", "victim-ns")
	for _, tc := range []struct{ method, path, body string }{
		{"GET", via, ""},
		{"PATCH", via, `{"tags":{"x":"y"}}`},
		{"GET", via + "/queues", ""},
		{"GET", via + "/queues/orders", ""},
		{"PUT", via + "/queues/orders", `{"properties":{"forwardTo":"events"}}`},
		{"PUT", via + "/queues/planted", `{}`},
		{"DELETE", via + "/queues/orders", ""},
		{"GET", via + "/topics/events/subscriptions", ""},
		{"PUT", via + "/topics/events/subscriptions/tap", `{}`},
		{"PUT", via + "/topics/events/subscriptions/audit/rules/all", `{"properties":{"sqlFilter":{"sqlExpression":"1=1"}}}`},
		{"DELETE", via + "/topics/events", ""},
		{"DELETE", via, ""},
	} {
		res := send(tc.method, tc.path, tc.body)
		if tc.method == "DELETE" {
			expect(t, res, http.StatusNoContent)
			continue
		}
		armError(t, res, http.StatusNotFound, "ResourceNotFound")
	}
	// The name cannot be taken over from grp2 either (names are global, as on Azure).
	armError(t, send("PUT", via, `{}`), http.StatusBadRequest, "BadRequest")
	for _, tc := range []struct{ method, path, body string }{
		{"GET", victim, ""},
		{"GET", victim + "/queues/orders", ""},
		{"PUT", victim + "/topics/events/subscriptions/tap", `{}`},
		{"DELETE", victim + "/queues/orders", ""},
		{"DELETE", victim, ""},
	} {
		armError(t, send(tc.method, tc.path, tc.body), http.StatusForbidden, "AuthorizationFailed")
	}
	// Everything is still there, untouched.
	for _, p := range []string{victim, victim + "/queues/orders", victim + "/topics/events", victim + "/topics/events/subscriptions/audit"} {
		expect(t, m.call(t, "GET", p, ""), http.StatusOK)
	}
	armError(t, m.call(t, "GET", victim+"/queues/planted", ""), http.StatusNotFound, "NotFound")
	armError(t, m.call(t, "GET", victim+"/topics/events/subscriptions/tap", ""), http.StatusNotFound, "NotFound")
	if res := m.call(t, "GET", victim+"/queues/orders", ""); str(res.object(t), "properties", "forwardTo") != "" {
		t.Errorf("the victim's queue was changed: %s", res.body)
	}
	// Its own namespace works.
	expect(t, send("PUT", serviceBusPath("grp2", "own-ns"), `{}`), http.StatusCreated)
	expect(t, send("PUT", serviceBusPath("grp2", "own-ns")+"/queues/q", `{}`), http.StatusOK)
}

// TestServiceBusDataRoles: Azure's Service Bus data roles are assigned at a queue (a scope
// that must exist), give their read actions there and nowhere else, and go with the queue.
func TestServiceBusDataRoles(t *testing.T) {
	const sender = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39" // Azure Service Bus Data Sender
	m := newMatrixFixture(t)
	m.mustGroup(t, "grp", "local")
	ns := serviceBusPath("grp", "orders-ns")
	expect(t, m.call(t, "PUT", ns, `{}`), http.StatusCreated)
	for _, q := range []string{"q1", "q2"} {
		expect(t, m.call(t, "PUT", ns+"/queues/"+q, `{}`), http.StatusOK)
	}
	id := m.principal(t)
	body := `{"properties":{"roleDefinitionId":"` + sender + `","principalId":"` + id.PrincipalID + `"}}`
	grantPath := authzPath(ns+"/queues/q1", "roleAssignments/5d0c3a7e-0000-4000-8000-00000000c001")
	expect(t, m.call(t, "PUT", grantPath, body), http.StatusCreated)
	armError(t, m.call(t, "PUT", authzPath(ns+"/queues/missing", "roleAssignments/5d0c3a7e-0000-4000-8000-00000000c002"), body), http.StatusNotFound, "NotFound")
	armError(t, m.call(t, "PUT", authzPath(ns+"/topics/q1", "roleAssignments/5d0c3a7e-0000-4000-8000-00000000c003"), body), http.StatusNotFound, "NotFound")

	header := m.headerFor(t, id)
	send := func(method, path, body string) response {
		return m.request(t, method, path+"?api-version="+apiVer, body, header)
	}
	// Microsoft.ServiceBus/*/queues/read covers Microsoft.ServiceBus/namespaces/queues/read.
	expect(t, send("GET", ns+"/queues/q1", ""), http.StatusOK)
	armError(t, send("GET", ns+"/queues/q2", ""), http.StatusForbidden, "AuthorizationFailed")
	armError(t, send("PUT", ns+"/queues/q1", `{}`), http.StatusForbidden, "AuthorizationFailed")
	armError(t, send("GET", ns, ""), http.StatusForbidden, "AuthorizationFailed")
	// The assignment goes with its queue, so a queue re-created under the name grants nothing.
	expect(t, m.call(t, "DELETE", ns+"/queues/q1", ""), http.StatusOK)
	armError(t, m.call(t, "GET", grantPath, ""), http.StatusNotFound, "RoleAssignmentNotFound")
	expect(t, m.call(t, "PUT", ns+"/queues/q1", `{}`), http.StatusOK)
	armError(t, send("GET", ns+"/queues/q1", ""), http.StatusForbidden, "AuthorizationFailed")
}
