package blobapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Storage Analytics settings set with Set Blob Service Properties come back from Get Blob
// Service Properties as set; an element left out keeps its setting; they are validated
// as Azure validates them.
func TestServiceAnalyticsWithGoSDK(t *testing.T) {
	e := newEnv(t)
	e.h.Settings = &settings{rules: map[string][]lanyard.CORSRule{}}
	c, err := service.NewClient(e.srv.URL+"/"+account, fixedToken{}, &service.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: e.srv.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Off until set, in Azure's shape: no IncludeAPIs for disabled metrics.
	props, err := c.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := props.Logging; l == nil || *l.Version != "1.0" || *l.Read || *l.Write || *l.Delete || *l.RetentionPolicy.Enabled {
		t.Fatalf("default logging %+v", props.Logging)
	}
	if m := props.HourMetrics; m == nil || *m.Version != "1.0" || *m.Enabled || m.IncludeAPIs != nil {
		t.Fatalf("default hour metrics %+v", props.HourMetrics)
	}

	logging := &service.Logging{Version: to.Ptr("1.0"), Delete: to.Ptr(true), Read: to.Ptr(true), Write: to.Ptr(false),
		RetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](5)}}
	hour := &service.Metrics{Version: to.Ptr("1.0"), Enabled: to.Ptr(true), IncludeAPIs: to.Ptr(true),
		RetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](3)}}
	minute := &service.Metrics{Version: to.Ptr("1.0"), Enabled: to.Ptr(true), IncludeAPIs: to.Ptr(false),
		RetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(false)}}
	if _, err := c.SetProperties(ctx, &service.SetPropertiesOptions{Logging: logging, HourMetrics: hour, MinuteMetrics: minute}); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		props, err := c.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		l, h, m := props.Logging, props.HourMetrics, props.MinuteMetrics
		if !*l.Delete || !*l.Read || *l.Write || !*l.RetentionPolicy.Enabled || *l.RetentionPolicy.Days != 5 {
			t.Errorf("%s: logging %+v %+v", what, l, l.RetentionPolicy)
		}
		if !*h.Enabled || h.IncludeAPIs == nil || !*h.IncludeAPIs || !*h.RetentionPolicy.Enabled || *h.RetentionPolicy.Days != 3 {
			t.Errorf("%s: hour metrics %+v %+v", what, h, h.RetentionPolicy)
		}
		if !*m.Enabled || m.IncludeAPIs == nil || *m.IncludeAPIs || *m.RetentionPolicy.Enabled || m.RetentionPolicy.Days != nil {
			t.Errorf("%s: minute metrics %+v %+v", what, m, m.RetentionPolicy)
		}
	}
	check("after setting")
	// Other settings alone leave analytics as they are.
	if _, err := c.SetProperties(ctx, &service.SetPropertiesOptions{DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(false)}}); err != nil {
		t.Fatal(err)
	}
	check("after setting the delete retention policy alone")

	// One element alone changes that setting only; disabled metrics drop IncludeAPIs.
	e.must(t, req{method: "PUT", path: "/" + account + "?restype=service&comp=properties",
		body: "<StorageServiceProperties><HourMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></HourMetrics></StorageServiceProperties>"},
		http.StatusAccepted)
	res := e.must(t, req{method: "GET", path: "/" + account + "?restype=service&comp=properties"}, http.StatusOK)
	if !strings.Contains(res.body, "<HourMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></HourMetrics>") ||
		!strings.Contains(res.body, "<Logging><Version>1.0</Version><Delete>true</Delete><Read>true</Read><Write>false</Write><RetentionPolicy><Enabled>true</Enabled><Days>5</Days></RetentionPolicy></Logging>") ||
		!strings.Contains(res.body, "<MinuteMetrics><Version>1.0</Version><Enabled>true</Enabled><IncludeAPIs>false</IncludeAPIs>") {
		t.Fatalf("properties after disabling hour metrics: %s", res.body)
	}

	for name, body := range map[string]string{
		"days 0":   "<Logging><Version>1.0</Version><Delete>true</Delete><Read>true</Read><Write>true</Write><RetentionPolicy><Enabled>true</Enabled><Days>0</Days></RetentionPolicy></Logging>",
		"days 366": "<MinuteMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>true</Enabled><Days>366</Days></RetentionPolicy></MinuteMetrics>",
		"no days":  "<HourMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>true</Enabled></RetentionPolicy></HourMetrics>",
		"version":  "<HourMetrics><Version>2.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></HourMetrics>",
	} {
		t.Run(name, func(t *testing.T) {
			e.fails(t, req{method: "PUT", path: "/" + account + "?restype=service&comp=properties", body: "<StorageServiceProperties>" + body + "</StorageServiceProperties>"},
				http.StatusBadRequest, "InvalidXmlNodeValue")
		})
	}
	for name, body := range map[string]string{
		"no IncludeAPIs": "<HourMetrics><Version>1.0</Version><Enabled>true</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></HourMetrics>",
		"no Write":       "<Logging><Version>1.0</Version><Delete>true</Delete><Read>true</Read><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></Logging>",
		"no retention":   "<MinuteMetrics><Version>1.0</Version><Enabled>false</Enabled></MinuteMetrics>",
	} {
		t.Run(name, func(t *testing.T) {
			e.fails(t, req{method: "PUT", path: "/" + account + "?restype=service&comp=properties", body: "<StorageServiceProperties>" + body + "</StorageServiceProperties>"},
				http.StatusBadRequest, "InvalidXmlDocument")
		})
	}
	// A refused request changes nothing, whatever else it held.
	e.fails(t, req{method: "PUT", path: "/" + account + "?restype=service&comp=properties",
		body: "<StorageServiceProperties><Logging><Version>1.0</Version><Delete>false</Delete><Read>false</Read><Write>false</Write><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></Logging>" +
			"<HourMetrics><Version>9</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></HourMetrics></StorageServiceProperties>"},
		http.StatusBadRequest, "InvalidXmlNodeValue")
	if props, err := c.GetProperties(ctx, nil); err != nil || !*props.Logging.Read {
		t.Fatalf("a refused Set Blob Service Properties changed logging: %+v, %v", props.Logging, err)
	}
}
